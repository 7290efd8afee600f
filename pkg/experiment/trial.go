package experiment

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
	"github.com/orwcfm/orwcfm/pkg/tasks"
)

// DefaultTask is the task of a Trial that names none.
const DefaultTask = "mnist-even"

// Trial is one setting of an experiment: a task with its options and a
// fine-tuning configuration. Trials that share a Name are seeds of one
// setting (give them different Config.Seed, see Seeds): the plots of
// package runplot average them.
type Trial struct {
	// Name labels the trial in legends and names its directory.
	Name string
	// Task is the task's name (DefaultTask when empty).
	Task string
	// Options are the task's options (base model, reward...).
	Options tasks.Options
	// Config is the fine-tuning configuration; Config.Seed is the seed.
	Config orw.Config
	// Dir, when set, is the trial's run directory, which TrialDir then
	// returns as it is (the paper's experiments name theirs so that
	// `orw reproduce` and the notebooks share their runs); when empty,
	// TrialDir derives it from the root, the group, Name and the settings.
	Dir string
}

// TaskName is the trial's task: Task, or DefaultTask when it is empty.
func (t Trial) TaskName() string {
	if t.Task == "" {
		return DefaultTask
	}
	return t.Task
}

// WithSeed returns a copy of the trial with Config.Seed set to seed.
func (t Trial) WithSeed(seed uint64) Trial {
	t.Config.Seed = seed
	return t
}

// Seeds returns every trial once per seed, trial by trial: the seeds of a
// setting share its Name (and differ in their directories, since the seed
// is part of the Config).
func Seeds(trials []Trial, seeds ...uint64) []Trial {
	out := make([]Trial, 0, len(trials)*len(seeds))
	for _, t := range trials {
		for _, s := range seeds {
			out = append(out, t.WithSeed(s))
		}
	}
	return out
}

// ClassNames returns the class names of the trial's judge (nil for a task
// without one). It builds the task's environment on the default backend,
// which loads the base model and the classifier.
func (t Trial) ClassNames() ([]string, error) {
	task, err := tasks.Lookup(t.TaskName())
	if err != nil {
		return nil, err
	}
	be, err := backends.Default()
	if err != nil {
		return nil, err
	}
	env, err := task.BuildEnv(be, t.Options)
	if err != nil {
		return nil, err
	}
	if env.Judge == nil {
		return nil, nil
	}
	return env.Judge.ClassNames(), nil
}

// TrialDir is the run directory of a trial of an experiment called group,
// under root: t.Dir when set, else RunDir(root, group/Name, ...) with the task and its options in
// the hash, so that a trial with other settings gets another directory.
func TrialDir(root, group string, t Trial) string {
	if t.Dir != "" {
		return t.Dir
	}
	o := t.Options
	return RunDir(root, path.Join(group, t.Name), t.Config, t.TaskName(), o.Model, o.Reward, o.Prompt, fmt.Sprint(o.TwoSided), o.Target)
}

// RunDir returns the directory of a run: root/name-HASH, where HASH (8 hex
// digits) is the start of the SHA-256 of cfg's JSON and the extra strings
// (a task, a base model), each preceded by a zero byte. Changing any
// setting therefore names a new directory, while the same settings name the
// same one again. name may contain slashes to group runs
// ("02_tau_sweep/tau-0"); its last element is passed through Slug.
func RunDir(root, name string, cfg orw.Config, extra ...string) string {
	b, err := json.Marshal(cfg)
	if err != nil {
		panic(fmt.Sprintf("experiment: RunDir: %v", err)) // a Config always marshals
	}
	h := sha256.New()
	h.Write(b)
	for _, e := range extra {
		h.Write([]byte{0})
		h.Write([]byte(e))
	}
	dir, leaf := filepath.Split(filepath.FromSlash(name))
	return filepath.Join(root, dir, Slug(leaf)+"-"+hex.EncodeToString(h.Sum(nil))[:8])
}

// Slug turns a display name such as "τ = 0.5, α = 1" into a file name:
// letters, digits, '.', '-' and '_' are kept (Greek letters spelt out),
// anything else becomes '-', runs of '-' collapse.
func Slug(name string) string {
	var b strings.Builder
	dash := false
	put := func(s string) {
		b.WriteString(s)
		dash = false
	}
	for _, r := range name {
		switch {
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_'):
			put(string(r))
		case greek[r] != "":
			put(greek[r])
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		s = "run"
	}
	return s
}

var greek = map[rune]string{'α': "alpha", 'β': "beta", 'τ': "tau", 'σ': "sigma", 'λ': "lambda", 'η': "eta"}
