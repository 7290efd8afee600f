package paper

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gomlx/compute"

	"github.com/orwcfm/orwcfm/pkg/experiment"
	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/ckpt"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
	"github.com/orwcfm/orwcfm/pkg/orw/train"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

// Results is the results file of an experiment (docs/results/NAME.json):
// what the paper reports and, per setting, the final metrics of each seed.
type Results struct {
	Experiment string `json:"experiment"`
	Title      string `json:"title"`
	// Paper holds the paper's values we compare with; PaperText says them in words.
	Paper     map[string]any `json:"paper"`
	PaperText string         `json:"paper_text"`
	// Differences says where this reproduction differs from the paper.
	Differences string          `json:"differences"`
	Settings    []SettingResult `json:"settings"`
	// Checks are what must come out, with what came out.
	Checks []CheckResult `json:"checks,omitempty"`
	// Frontier compares α > 0 with the α = 0 run stopped early at the same
	// reward (α ablation only).
	Frontier []FrontierPoint `json:"frontier,omitempty"`
	// Tradeoff is every family's frontier of evaluator reward against
	// coverage and recall (the frontier experiment only).
	Tradeoff *Tradeoff `json:"tradeoff,omitempty"`
	// Quick tells that this is the quick size (checks are not meaningful).
	Quick bool `json:"quick"`
	// Command is the command that made the file; WallSeconds its wall time
	// (runs trained earlier and only read count as their own training time in
	// the runs' wall_seconds, not here); Machine describes the computer.
	Command     string  `json:"command"`
	WallSeconds float64 `json:"wall_seconds"`
	// RunSeconds is the training time of all its runs, summed (each run's
	// wall_seconds, over every session that trained it).
	RunSeconds float64 `json:"run_seconds"`
	Machine    string  `json:"machine"`
	Date       string  `json:"date"`
}

// SettingResult is one setting of an experiment with its runs, one per seed.
type SettingResult struct {
	Label string `json:"label"`
	experiment.RunSetting
	// Variant is the setting's Variant: what sets its runs apart beyond
	// RunSetting (a W2 budget, a keep fraction, a sampler; "" for none).
	Variant    string      `json:"variant,omitempty"`
	ClassNames []string    `json:"class_names,omitempty"`
	Runs       []RunResult `json:"runs"`
}

// RunResult is where one seed of a setting ended: the outcome of its final
// evaluation (its ClassNames nil: the setting holds them) and, for a 2-D toy
// task, the comparison with the exact densities.
type RunResult struct {
	Seed uint64 `json:"seed"`
	experiment.Outcome
	Toy *ToyResult `json:"toy,omitempty"`
}

// CheckResult is a check with what came out.
type CheckResult struct {
	Claim string `json:"claim"`
	Value string `json:"value"`
	OK    bool   `json:"ok"`
}

// FrontierPoint compares an α > 0 setting with the α = 0 run stopped early:
// the α = 0 runs' mean class entropy at their first evaluation whose mean
// reward reaches the α > 0 setting's final reward.
type FrontierPoint struct {
	Alpha        float64 `json:"alpha"`
	Reward       float64 `json:"reward"`
	ClassEntropy float64 `json:"class_entropy"`
	// EarlyStep is the step at which the α = 0 runs reach that reward, and
	// EarlyEntropy their class entropy there (both −1: never); EarlyReward is
	// their reward there, which can pass the α > 0 reward by far when they
	// reach it between two evaluations.
	EarlyStep    int64   `json:"early_step"`
	EarlyEntropy float64 `json:"early_entropy"`
	EarlyReward  float64 `json:"early_reward"`
}

// Options choose how an experiment is reproduced.
type Options struct {
	// Size is the full or the quick size.
	Size Size
	// Seeds is the number of seeds (1..Seeds; 3 when 0).
	Seeds int
	// Workers is the number of runs trained at once (1 when below 1).
	Workers int
	// RunsDir holds the run directories, shared by every experiment so that
	// a setting used twice is trained once.
	RunsDir string
	// Out receives the results file (NAME.json) and the figure panels (NAME/*.png).
	Out string
	// Command is recorded in the results file.
	Command string
	// Progress, when set, receives a line per run started, evaluated and finished.
	Progress io.Writer
	// Backend computes the runs (the default backend when nil).
	Backend compute.Backend
}

// Reproduce runs the experiment's settings over the seeds (resuming or only
// reading runs that exist), then writes its results file and figure panels to
// o.Out and returns the results.
func Reproduce(ctx context.Context, e *Experiment, o Options) (*Results, error) {
	start := time.Now()
	if o.Seeds <= 0 {
		o.Seeds = 3
	}
	settings, err := e.Settings(o.Size)
	if err != nil {
		return nil, err
	}
	rp := newReproduction(e, o, settings)
	rp.say("%d settings x %d seeds = %d runs on %d workers (run directories in %s)", len(settings), o.Seeds, len(rp.runs), max(o.Workers, 1), o.RunsDir)
	table, err := experiment.Grid{Runs: rp.runs, Workers: o.Workers,
		Options: experiment.Options{Backend: o.Backend, Hooks: rp.hooks(), FinalEval: true, OpenFinished: rp.points}}.Execute(ctx)
	if err != nil {
		return nil, err
	}
	res, hs, err := rp.results(table)
	if err != nil {
		return nil, err
	}
	if e.Name == "alpha-ablation" {
		res.Frontier = frontier(settings, hs)
	}
	if e.Name == "frontier" {
		res.Tradeoff = tradeoffOf(settings, hs)
	}
	for _, c := range e.Checks {
		v, ok := c.Eval(res)
		res.Checks = append(res.Checks, CheckResult{Claim: c.Claim, Value: v, OK: ok})
	}
	if err := os.MkdirAll(filepath.Join(o.Out, e.Name), 0o755); err != nil {
		return nil, err
	}
	if err := writePanels(e, settings, rp.runs, hs, res, filepath.Join(o.Out, e.Name)); err != nil {
		return nil, err
	}
	res.WallSeconds = time.Since(start).Seconds()
	if err := WriteResults(filepath.Join(o.Out, e.Name+".json"), res); err != nil {
		return nil, err
	}
	return res, nil
}

// reproduction is an experiment's grid of runs while Reproduce runs it.
type reproduction struct {
	e        *Experiment
	o        Options
	settings []Setting
	// runs are the settings' runs, seed by seed; slots[i] is the setting and
	// seed of runs[i], labels[dir] names the run in dir in progress lines.
	runs   []experiment.Run
	slots  []slot
	labels map[string]string
	// points tells that a setting's task is a 2-D toy, whose runs are
	// compared with the exact densities (toys, by run directory).
	points bool
	mu     sync.Mutex
	toys   map[string]*ToyResult
}

// slot is a run's setting (its index) and seed.
type slot struct {
	setting int
	seed    uint64
}

// newReproduction lays out the runs of settings over o.Seeds seeds.
func newReproduction(e *Experiment, o Options, settings []Setting) *reproduction {
	rp := &reproduction{e: e, o: o, settings: settings, labels: map[string]string{}, toys: map[string]*ToyResult{}}
	for i, st := range settings {
		rp.points = rp.points || isPoints(st.Task)
		for seed := uint64(1); seed <= uint64(o.Seeds); seed++ {
			r := experiment.Run{Trial: trialOf(st, seed), Dir: runDir(o.RunsDir, st, seed), Steps: st.Steps}
			rp.runs = append(rp.runs, r)
			rp.slots = append(rp.slots, slot{i, seed})
			rp.labels[r.Dir] = fmt.Sprintf("%s, seed %d", st.Label, seed)
		}
	}
	return rp
}

// say writes a progress line, if there is a Progress writer.
func (rp *reproduction) say(format string, args ...any) {
	if rp.o.Progress == nil {
		return
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	fmt.Fprintf(rp.o.Progress, "%s %s: ", time.Now().Format("15:04:05"), rp.e.Name)
	fmt.Fprintf(rp.o.Progress, format+"\n", args...)
}

// hooks report the runs' progress and compare the toy runs with the exact
// densities when they end.
func (rp *reproduction) hooks() experiment.Hooks {
	return experiment.Hooks{
		Start: func(r experiment.Run, run *rundir.Run) error {
			rp.say("%s: from step %d to %d", rp.labels[r.Dir], run.StepCount(), r.Steps)
			l := run.Loop()
			l.OnEvent("reproduce log", train.PriorityDisplay, func(_ *train.Loop[orw.StepRecord], e any) error {
				if ev, ok := e.(rundir.Eval); ok {
					rp.say("%s: step %d, reward %.3f, class entropy %.2f, W2 %.3g", rp.labels[r.Dir], ev.Record.Step, ev.Record.Reward, ev.Record.ClassEntropy, ev.Record.W2Velocity)
				}
				return nil
			})
			if !isPoints(r.Task) {
				if run.StepCount() == 0 { // the base model's evaluation is not an event
					if err := writeFrame(run, r.Dir, 0); err != nil {
						return err
					}
				}
				l.OnEvent("frames", train.PriorityDisplay, func(_ *train.Loop[orw.StepRecord], e any) error {
					if ev, ok := e.(rundir.Eval); ok {
						return writeFrame(run, r.Dir, ev.Record.Step)
					}
					return nil
				})
			}
			if rp.points {
				// After the final evaluation (FinalEval), when training succeeded.
				l.OnEnd("toy comparison", train.PriorityDisplay, func(_ *train.Loop[orw.StepRecord], err error) error {
					if err != nil {
						return nil
					}
					return rp.compareToy(r, run)
				})
			}
			return nil
		},
		Skip: func(r experiment.Run, res experiment.Result) error {
			rp.say("%s: trained earlier (step %d), read", rp.labels[r.Dir], res.Steps)
			return nil
		},
	}
}

// compareToy compares the toy run r, open as run, with its exact tilted
// density and keeps the comparison for the results file.
func (rp *reproduction) compareToy(r experiment.Run, run *rundir.Run) error {
	for i, rr := range rp.runs {
		if rr.Dir != r.Dir {
			continue
		}
		tr, err := toyCompare(run, rp.settings[rp.slots[i].setting], rp.slots[i].seed)
		if err != nil {
			return err
		}
		rp.mu.Lock()
		rp.toys[r.Dir] = tr
		rp.mu.Unlock()
	}
	return nil
}

// results gathers the grid's table (a row per run) into the results file's
// settings, and returns the runs' histories named by their settings' labels.
func (rp *reproduction) results(table *experiment.Table) (*Results, []*runplot.History, error) {
	e, o := rp.e, rp.o
	res := &Results{Experiment: e.Name, Title: e.Title, Paper: e.PaperValues, PaperText: e.Paper, Differences: e.Differences,
		Quick: o.Size.Quick, Command: o.Command, Machine: machine(), Date: time.Now().UTC().Format("2006-01-02")}
	hs := make([]*runplot.History, len(table.Rows))
	names := classNames{}
	for i, st := range rp.settings {
		c := st.Config
		sr := SettingResult{Label: st.Label, RunSetting: experiment.RunSetting{Task: st.Task, Method: string(c.Method), Tau: c.Tau, Alpha: c.Alpha,
			RefreshEvery: c.RefreshEvery, Steps: st.Steps, NormalizeWeights: c.NormalizeWeights}, Variant: st.Variant}
		for j, row := range table.Rows {
			if rp.slots[j].setting != i {
				continue
			}
			rr := RunResult{Seed: rp.slots[j].seed, Outcome: row.Outcome, Toy: rp.toys[rp.runs[j].Dir]}
			rr.ClassNames = nil // the setting holds them
			if h := row.History; h != nil {
				g := *h
				g.Name = st.Label
				if g.ClassNames == nil { // a run that was only read: its task's judge names the classes
					var err error
					if g.ClassNames, err = names.of(rp.runs[j].Trial); err != nil {
						return nil, nil, err
					}
				}
				if sr.ClassNames == nil {
					sr.ClassNames = g.ClassNames
				}
				hs[j] = &g
			}
			sr.Runs = append(sr.Runs, rr)
			if !math.IsNaN(row.WallSeconds) {
				res.RunSeconds += row.WallSeconds
			}
		}
		res.Settings = append(res.Settings, sr)
	}
	return res, hs, nil
}

// WriteResults writes a results file atomically, indented.
func WriteResults(path string, r *Results) error {
	return ckpt.WriteFileAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	})
}

// ReadResults reads a results file.
func ReadResults(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// machine describes this computer: CPU model, cores, OS and architecture.
func machine() string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	if model == "" {
		model = runtime.GOARCH
	}
	return fmt.Sprintf("%s, %d cores, %s/%s, Go backend", model, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
}

// frontier compares each α > 0 setting with the α = 0 runs stopped early.
func frontier(settings []Setting, hs []*runplot.History) []FrontierPoint {
	byLabel := map[string][]*runplot.History{}
	for _, h := range hs {
		if h != nil {
			byLabel[h.Name] = append(byLabel[h.Name], h)
		}
	}
	var zero []*runplot.History
	for _, st := range settings {
		if st.Config.Alpha == 0 {
			zero = byLabel[st.Label]
		}
	}
	// The α = 0 runs' mean reward and entropy at each evaluation step.
	type point struct{ reward, entropy float64 }
	at := map[int64][]point{}
	for _, h := range zero {
		for _, ev := range h.Evals {
			at[ev.Step] = append(at[ev.Step], point{ev.Reward, ev.ClassEntropy})
		}
	}
	var steps []int64
	for s, p := range at {
		if len(p) == len(zero) {
			steps = append(steps, s)
		}
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i] < steps[j] })
	var out []FrontierPoint
	for _, st := range settings {
		if st.Config.Alpha == 0 {
			continue
		}
		var rw, en []float64
		for _, h := range byLabel[st.Label] {
			if ev, ok := h.Final(); ok {
				rw, en = append(rw, ev.Reward), append(en, ev.ClassEntropy)
			}
		}
		fp := FrontierPoint{Alpha: st.Config.Alpha, Reward: mean(rw), ClassEntropy: mean(en), EarlyStep: -1, EarlyEntropy: -1}
		for _, s := range steps {
			var r, e []float64
			for _, p := range at[s] {
				r, e = append(r, p.reward), append(e, p.entropy)
			}
			if mean(r) >= fp.Reward {
				fp.EarlyStep, fp.EarlyEntropy, fp.EarlyReward = s, mean(e), mean(r)
				break
			}
		}
		out = append(out, fp)
	}
	return out
}

// classNames caches the class names of tasks' judges (experiment.Trial.ClassNames
// builds the task's environment, which loads its models).
type classNames map[string][]string

func (c classNames) of(t experiment.Trial) ([]string, error) {
	key := t.TaskName() + fmt.Sprintf("\x00%+v", t.Options)
	if n, ok := c[key]; ok {
		return n, nil
	}
	n, err := t.ClassNames()
	if err != nil {
		return nil, err
	}
	c[key] = n
	return n, nil
}
