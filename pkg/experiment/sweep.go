package experiment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/orwcfm/orwcfm/internal/suggest"
	"github.com/orwcfm/orwcfm/pkg/tasks"
)

// A Sweep is a grid of runs described by settings, each with one value
// (fixed) or several (an axis of the grid): the task, the run's options,
// its step count, its seeds and any field of orw.Config. Its points are
// every combination of the values; each point is one Run in a directory of
// its own (TrialDir), so that a sweep executed again, on any machine that
// shares the directory, skips the finished points and resumes the
// interrupted ones.
//
// A sweep is read from a file (ReadSweep, ParseSweep) in YAML or JSON, an
// object whose keys are settings:
//
//	name: tradeoff          # the sweep's name: its runs are in OUT/NAME
//	out: runs/sweeps        # OUT (default runs/sweeps)
//	task: toy2d             # a task, or a list of tasks
//	steps: 400              # default: the task's
//	seed: [1, 2, 3]
//	tau: [0.5, 1, 2]
//	alpha: [0, 0.01, 0.1]
//	batch: 128              # any orw.Config field, by flag or field path
//
// Config fields are named by their flag ("sample-steps") or field path
// ("Sampler.Steps", "Optim.ClipNorm"), as in ConfigFields; '_' may stand
// for '-'. The values are those the flags take.
type Sweep struct {
	// Name names the sweep; its run directories are under Out/Name.
	Name string
	// Out is the root of the run directories (DefaultSweepOut when empty).
	Out string
	// Settings are the sweep's settings in canonical order (see Set); a
	// setting with several values is an axis.
	Settings []Setting
}

// Setting is one key of a sweep and its values.
type Setting struct {
	// Key is the canonical key: "task", "model", "reward", "prompt",
	// "two-sided", "target", "data", "steps", "seed", or the flag (else the
	// field path) of a ConfigFields entry.
	Key string
	// Values are the values as text, as the flag would take them.
	Values []string
}

// DefaultSweepOut is the root of a sweep's run directories when it names
// none.
const DefaultSweepOut = "runs/sweeps"

// MaxSweepPoints bounds the size of a sweep: a grid larger than this is
// almost certainly a mistake in a file.
const MaxSweepPoints = 100_000

// The keys of a sweep besides Config fields, in canonical order: the task
// and its options come first, then the step count, then the Config fields
// (ConfigFields' order), and the seed last, so that the seeds of a setting
// are neighbours in the grid.
var (
	sweepLeading = leadingKeys()
	// sweepText are the keys whose values are free text (may hold commas):
	// the options that are not switches.
	sweepText = textKeys()
)

// leadingKeys are the task, its options (tasks.OptionFields) and the step count.
func leadingKeys() []string {
	keys := []string{"task"}
	for _, f := range tasks.OptionFields {
		keys = append(keys, f.Name)
	}
	return append(keys, "steps")
}

// textKeys are the options whose values are free text.
func textKeys() map[string]bool {
	m := map[string]bool{}
	for _, f := range tasks.OptionFields {
		if !f.IsBool() {
			m[f.Name] = true
		}
	}
	return m
}

// keyRank orders canonical keys.
func keyRank(key string) int {
	if i := slices.Index(sweepLeading, key); i >= 0 {
		return i
	}
	if key == "seed" {
		return len(sweepLeading) + len(ConfigFields)
	}
	for i, f := range ConfigFields {
		if f.Flag == key || f.Path == key {
			return len(sweepLeading) + i
		}
	}
	return -1
}

// CanonicalKey returns the canonical name of a sweep key: one of the fixed
// keys ("seeds" is "seed"), or a Config field's flag (its path when it has
// none), given as a flag or a path; '_' may stand for '-'. The error lists
// the valid keys.
func CanonicalKey(key string) (string, error) {
	k := strings.TrimLeft(key, "-")
	for _, cand := range []string{k, strings.ReplaceAll(k, "_", "-")} {
		if cand == "seeds" {
			return "seed", nil
		}
		if slices.Contains(sweepLeading, cand) {
			return cand, nil
		}
		if f, ok := LookupField(cand); ok {
			if f.Flag != "" {
				return f.Flag, nil
			}
			return f.Path, nil
		}
	}
	valid := append([]string{"name", "out"}, sweepLeading...)
	valid = append(valid, "seed")
	for _, f := range ConfigFields {
		k := f.Flag
		if k == "" {
			k = f.Path
		}
		if !slices.Contains(valid, k) { // seed is there already
			valid = append(valid, k)
		}
	}
	return "", suggest.Unknown("sweep setting", key, valid)
}

// Set sets a setting's values, replacing any it had, and keeps Settings in
// canonical order. An empty list of values removes the setting.
func (s *Sweep) Set(key string, values ...string) error {
	k, err := CanonicalKey(key)
	if err != nil {
		return err
	}
	s.Settings = slices.DeleteFunc(s.Settings, func(st Setting) bool { return st.Key == k })
	if len(values) == 0 {
		return nil
	}
	s.Settings = append(s.Settings, Setting{Key: k, Values: slices.Clone(values)})
	slices.SortStableFunc(s.Settings, func(a, b Setting) int { return keyRank(a.Key) - keyRank(b.Key) })
	return nil
}

// Lookup returns the values of a setting (nil when the sweep does not set it).
func (s *Sweep) Lookup(key string) []string {
	k, err := CanonicalKey(key)
	if err != nil {
		return nil
	}
	for _, st := range s.Settings {
		if st.Key == k {
			return st.Values
		}
	}
	return nil
}

// SplitList splits a flag's value into a setting's values: on commas,
// except for the free-text keys (model, reward, prompt, target, data),
// whose one value may hold commas ("jpeg=0.5,even=0.5"); a sweep over
// those is written in a file.
func SplitList(key, value string) []string {
	k, err := CanonicalKey(key)
	if err == nil && sweepText[k] {
		return []string{value}
	}
	parts := strings.Split(value, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// ReadSweep reads a sweep from a YAML or JSON file ("-": standard input).
func ReadSweep(path string) (*Sweep, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(os.Stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	s, err := ParseSweep(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ParseSweep reads a sweep from YAML or JSON (see Sweep). A key that is no
// setting, a nested object, or a value of the wrong kind is an error that
// names the key.
func ParseSweep(data []byte) (*Sweep, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("not YAML or JSON: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, errors.New("a sweep is an object of settings (name: ..., task: ..., tau: [...], ...)")
	}
	s := &Sweep{}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	seen := map[string]string{}
	for _, key := range keys {
		v := m[key]
		switch key {
		case "name", "out":
			str, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%s: want a string, got %v", key, v)
			}
			if key == "name" {
				s.Name = str
			} else {
				s.Out = str
			}
			continue
		}
		k, err := CanonicalKey(key)
		if err != nil {
			return nil, err
		}
		if other, dup := seen[k]; dup {
			return nil, fmt.Errorf("%s and %s name the same setting", other, key)
		}
		seen[k] = key
		var vals []string
		if list, ok := v.([]any); ok {
			if len(list) == 0 {
				return nil, fmt.Errorf("%s: an empty list", key)
			}
			for _, x := range list {
				t, err := scalarText(key, x)
				if err != nil {
					return nil, err
				}
				vals = append(vals, t)
			}
		} else {
			t, err := scalarText(key, v)
			if err != nil {
				return nil, err
			}
			vals = []string{t}
		}
		if err := s.Set(k, vals...); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// scalarText is the text of a scalar value of a sweep file.
func scalarText(key string, v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	case nil:
		return "", fmt.Errorf("%s: a missing value", key)
	}
	return "", fmt.Errorf("%s: want a value or a list of values, got %v", key, v)
}

// MarshalJSON writes the sweep as a sweep file that ParseSweep reads back:
// name, out, then the settings in canonical order; numbers and booleans
// unquoted.
func (s *Sweep) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	write := func(key string, v []byte) {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	str := func(x string) []byte { j, _ := json.Marshal(x); return j }
	write("name", str(s.Name))
	write("out", str(s.OutDir()))
	for _, st := range s.Settings {
		vals := make([][]byte, len(st.Values))
		for i, v := range st.Values {
			vals[i] = str(v)
			if !sweepText[st.Key] && st.Key != "task" && json.Valid([]byte(v)) && !strings.HasPrefix(v, `"`) {
				vals[i] = []byte(v)
			}
		}
		if len(vals) == 1 {
			write(st.Key, vals[0])
			continue
		}
		write(st.Key, append(append([]byte{'['}, bytes.Join(vals, []byte{','})...), ']'))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// OutDir is the root of the run directories: Out, or DefaultSweepOut.
func (s *Sweep) OutDir() string {
	if s.Out == "" {
		return DefaultSweepOut
	}
	return s.Out
}

// Dir is the directory of the sweep's runs: OutDir()/Name.
func (s *Sweep) Dir() string { return filepath.Join(s.OutDir(), s.Name) }

// Size is the number of points: the product of the settings' value counts.
func (s *Sweep) Size() int {
	n := 1
	for _, st := range s.Settings {
		n *= len(st.Values)
		if n > MaxSweepPoints {
			return n
		}
	}
	return n
}

// Point is one point of a sweep: its index, the value of each setting, and
// its run.
type Point struct {
	// Index is the point's position in the grid, from 0: the last setting
	// (the seed) varies fastest.
	Index int
	// Values are the values of the settings at this point, in Settings'
	// order.
	Values []Setting
	// Run is the point's run: its trial (named by the values of the axes
	// other than the seed, so that seeds share a name), directory and step
	// count.
	Run Run
	// axes marks the settings of Values that are axes of the sweep.
	axes []bool
}

// Points returns every point of the sweep, in index order, with its run.
// It checks every setting (a task, a Config value, an option) and every
// point's configuration (orw.Config.Validate), and that no two points
// share a directory; the error names the setting or the point.
func (s *Sweep) Points() ([]Point, error) {
	if s.Name == "" {
		return nil, errors.New("the sweep has no name: give it one (name: in the file, or --name)")
	}
	if strings.ContainsAny(s.Name, `/\`) || s.Name == "." || s.Name == ".." {
		return nil, fmt.Errorf("sweep name %q: use a plain name, without slashes (out: sets the directory)", s.Name)
	}
	if n := s.Size(); n > MaxSweepPoints {
		return nil, fmt.Errorf("the sweep has %d points or more, over the limit of %d: check its lists", n, MaxSweepPoints)
	}
	for _, st := range s.Settings {
		for i, v := range st.Values {
			if slices.Index(st.Values, v) != i {
				return nil, fmt.Errorf("%s: the value %q is listed twice", st.Key, v)
			}
		}
	}
	n := s.Size()
	points := make([]Point, n)
	dirs := map[string]int{}
	for i := range n {
		p, err := s.point(i)
		if err != nil {
			return nil, err
		}
		// The same settings under another name ("1" and "1.0") are the
		// same run too.
		same := p.Run.Trial
		same.Name = ""
		key := TrialDir("", "", same) + "\x00" + strconv.FormatInt(p.Run.Steps, 10)
		for _, k := range []string{p.Run.Dir, key} {
			if j, dup := dirs[k]; dup {
				return nil, fmt.Errorf("points %d (%s) and %d (%s) are the same run: a setting lists values that mean the same", j, points[j].Text(), i, p.Text())
			}
			dirs[k] = i
		}
		points[i] = p
	}
	return points, nil
}

// Point returns the point at index i (0 <= i < Size()).
func (s *Sweep) Point(i int) (Point, error) {
	if n := s.Size(); i < 0 || i >= n {
		return Point{}, fmt.Errorf("index %d is outside the sweep's %d points (0..%d)", i, n, n-1)
	}
	if _, err := s.Points(); err != nil { // the whole grid must be sound
		return Point{}, err
	}
	return s.point(i)
}

// point builds the point at index i.
func (s *Sweep) point(i int) (Point, error) {
	p := Point{Index: i, Values: make([]Setting, len(s.Settings)), axes: make([]bool, len(s.Settings))}
	rem := i
	for k := len(s.Settings) - 1; k >= 0; k-- {
		st := s.Settings[k]
		p.Values[k] = Setting{Key: st.Key, Values: []string{st.Values[rem%len(st.Values)]}}
		p.axes[k] = len(st.Values) > 1
		rem /= len(st.Values)
	}
	get := func(key string) (string, bool) {
		for _, v := range p.Values {
			if v.Key == key {
				return v.Values[0], true
			}
		}
		return "", false
	}
	taskName, ok := get("task")
	if !ok {
		taskName = DefaultTask
	}
	task, err := tasks.Lookup(taskName)
	if err != nil {
		return p, fmt.Errorf("task: %w", err)
	}
	cfg := task.Defaults()
	var opts tasks.Options
	steps := task.Steps
	for _, v := range p.Values {
		val := v.Values[0]
		switch v.Key {
		case "task":
		case "steps":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n < 0 {
				return p, fmt.Errorf("steps: %q is not a step count (a whole number >= 0)", val)
			}
			steps = n
		default:
			if f, ok := tasks.LookupOption(v.Key); ok {
				if err := f.Set(&opts, val); err != nil {
					return p, fmt.Errorf("%s: %w", v.Key, err)
				}
				continue
			}
			if err := SetField(&cfg, v.Key, val); err != nil {
				return p, fmt.Errorf("%s: %w", v.Key, err)
			}
		}
	}
	label := s.label(p.Values)
	if err := cfg.Validate(); err != nil {
		return p, fmt.Errorf("point %d (%s): %w", i, pointText(p.Values), err)
	}
	tr := Trial{Name: label, Task: task.Name, Options: opts, Config: cfg}
	p.Run = Run{Trial: tr, Dir: TrialDir(s.OutDir(), s.Name, tr), Steps: steps}
	return p, nil
}

// label names a point's setting by the values of the sweep's axes other
// than the seed ("τ=1 α=0.1"); a sweep without such axes is named by its
// name.
func (s *Sweep) label(vals []Setting) string {
	var parts []string
	for k, st := range s.Settings {
		if len(st.Values) < 2 || st.Key == "seed" {
			continue
		}
		parts = append(parts, axisName(st.Key)+"="+vals[k].Values[0])
	}
	if len(parts) == 0 {
		return s.Name
	}
	return strings.Join(parts, " ")
}

// axisName is the short name of a setting in labels: Greek letters for τ
// and α, as the paper writes them.
func axisName(key string) string {
	switch key {
	case "tau":
		return "τ"
	case "alpha":
		return "α"
	}
	return key
}

// pointText lists a point's values: "task=toy2d tau=1 seed=2".
func pointText(vals []Setting) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = v.Key + "=" + v.Values[0]
	}
	return strings.Join(parts, " ")
}

// Text lists the point's values on the sweep's axes, the settings with
// several values: "tau=1 alpha=0.1 seed=2" (all its values when the sweep
// has no axis).
func (p Point) Text() string {
	var axes []Setting
	for k, v := range p.Values {
		if k < len(p.axes) && p.axes[k] {
			axes = append(axes, v)
		}
	}
	if len(axes) == 0 {
		return pointText(p.Values)
	}
	return pointText(axes)
}
