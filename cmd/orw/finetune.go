package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/orwcfm/orwcfm/pkg/experiment"
	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
	"github.com/orwcfm/orwcfm/pkg/orw/train"
	"github.com/orwcfm/orwcfm/pkg/tasks"
	"github.com/orwcfm/orwcfm/pkg/vis"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

func init() {
	register(command{name: "finetune", summary: "fine-tune a base model toward a task's reward (ORW-CFM-W2 and baselines)", run: runFinetune})
}

// FinetuneSummary is the --json output of orw finetune.
type FinetuneSummary struct {
	Task   string `json:"task"`
	Method string `json:"method"`
	Model  string `json:"model"`
	// Reward is the reward spec (--reward, or the task's); Prompt and Target the
	// prompt and target image of the rewards that read them.
	Reward   string  `json:"reward"`
	Prompt   string  `json:"prompt,omitempty"`
	TwoSided bool    `json:"two_sided,omitempty"`
	Target   string  `json:"target,omitempty"`
	Tau      float64 `json:"tau"`
	Alpha    float64 `json:"alpha"`
	Seed     uint64  `json:"seed"`
	Steps    int64   `json:"steps"`
	// Outcome is where the run ended (its Frechet absent when the task has
	// no classifier), with the class names of the task's judge and the
	// wall time of this command.
	experiment.Outcome
	RunDir string   `json:"run_dir"`
	Files  []string `json:"files"`
	// Toy compares the samples with the exact tilted density (2-D toy tasks only).
	Toy *tasks.ToyComparison `json:"toy,omitempty"`
}

// defaultTask is the task of orw finetune without --task.
const defaultTask = "mnist-even"

// maxSteps bounds --steps: far more than any run needs, and small enough that
// step counts and time estimates cannot overflow.
const maxSteps = 100_000_000

// finetuneFlags are orw finetune's flags.
type finetuneFlags struct {
	fs       *flag.FlagSet
	taskName *string
	// opts are the task options (tasks.OptionFields), config the config flags
	// (experiment.ConfigFields) with the default task's values: only those
	// given override the task's defaults.
	opts                       tasks.Options
	config                     orw.Config
	out                        *string
	steps, gridEvery           *int64
	asJSON, quiet, tensorboard *bool
	// args are the arguments parsed, to name a flag as it was typed.
	args []string
}

func newFinetuneFlags() *finetuneFlags {
	f := &finetuneFlags{fs: newFlags("finetune", "fine-tune a base model toward a task's reward; an existing --out run continues with its own settings (the flags given must agree with them)")}
	fs := f.fs
	f.taskName = fs.String("task", defaultTask, "task (orw tasks lists them); the config flags default to the task's settings (docs/configuration.md; shown: "+defaultTask+"'s)")
	tasks.BindOptions(fs, &f.opts)
	f.out = fs.String("out", "", "run directory (default runs/TASK-METHOD-tTAU-aALPHA-sSEED)")
	f.steps = fs.Int64("steps", 0, "total gradient steps (default: the task's; for an existing run, the steps it was trained to)")
	f.config = orw.DefaultConfig()
	if t, err := tasks.Lookup(defaultTask); err == nil {
		f.config = t.Defaults()
	}
	experiment.BindConfig(fs, &f.config)
	f.gridEvery = fs.Int64("grid-every", 0, "write a sample grid every N steps (default: steps/5)")
	f.asJSON = fs.Bool("json", false, "end by printing one JSON summary on stdout")
	f.quiet = fs.Bool("quiet", false, "no progress bar")
	f.tensorboard = fs.Bool("tensorboard", true, "write TensorBoard event files into the run directory (docs/sweeps.md)")
	return f
}

// finetuneRun is what orw finetune runs, made from its flags by setup.
type finetuneRun struct {
	task  *tasks.Task
	raw   tasks.Options // as given (or as the run records them)
	opts  tasks.Options // resolved
	cfg   orw.Config
	total int64  // gradient steps
	grid  int64  // steps between sample grids
	out   string // run directory
}

// setup checks the parsed flags and turns them into the run: the task's
// defaults, overridden by the flags given; or, when the run directory
// holds a run, that run's own settings, which the flags given must agree
// with (continueRun). The config is validated here, once on the way in, so
// that a bad flag fails before the backend and the models load;
// orw.NewTrainer checks it again only as the library's own guard.
func (f *finetuneFlags) setup() (*finetuneRun, error) {
	task, err := tasks.Lookup(*f.taskName)
	if err != nil {
		return nil, err
	}
	given := givenFlags(f.fs)
	r := &finetuneRun{task: task, raw: f.opts, cfg: task.Defaults(), total: task.Steps, grid: *f.gridEvery, out: *f.out}
	experiment.ApplyFlags(f.fs, &r.cfg, f.config)
	if err := r.cfg.Validate(); err != nil {
		return nil, err
	}
	if given["steps"] {
		r.total = *f.steps
	}
	if r.total < 0 || r.total > maxSteps {
		return nil, fmt.Errorf("--steps must be in 0..%d, got %d", maxSteps, r.total)
	}
	if dir := f.opts.DataDir; dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("--data %s: no such directory", dir)
		}
	}
	if r.out == "" {
		r.out = filepath.Join("runs", fmt.Sprintf("%s-%s-t%g-a%g-s%d", task.Name, r.cfg.Method, r.cfg.Tau, r.cfg.Alpha, r.cfg.Seed))
	}
	if r.grid <= 0 {
		r.grid = max(r.total/5, 1)
	}
	if hasRun(r.out) {
		if err := f.continueRun(r, given); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func runFinetune(ctx context.Context, args []string) error {
	flags := newFinetuneFlags()
	if err := parse(flags.fs, args); err != nil {
		return err
	}
	flags.args = args
	r, err := flags.setup()
	if err != nil {
		return err
	}
	task, cfg, total, out := r.task, r.cfg, r.total, r.out
	be, err := backend()
	if err != nil {
		return err
	}
	t0 := time.Now()
	opts, err := task.Resolve(r.raw)
	if err != nil {
		return err
	}
	r.opts = opts
	var views finetuneViews
	spec := experiment.Run{Trial: experiment.Trial{Name: filepath.Base(out), Task: task.Name, Options: opts, Config: cfg}, Dir: out, Steps: total}
	res, stepErr := spec.Execute(ctx, experiment.Options{Backend: be, Hooks: views.hooks(r, *flags.quiet), FinalEval: true, OpenFinished: true, TensorBoard: *flags.tensorboard})
	if stepErr != nil {
		if stepErr == context.Canceled { // Ctrl-C: the run is saved
			return &interrupted{fmt.Sprintf("interrupted at step %d of %d; the run is saved in %s: run the same command again to resume", res.Steps, total, out)}
		}
		if errors.Is(stepErr, context.Canceled) { // not wrapped: the run is not saved
			return fmt.Errorf("interrupted at step %d, and the run could not be saved: %v", res.Steps, stepErr)
		}
		return stepErr
	}
	v, files, toy := views.v, views.files, views.toy
	sum := FinetuneSummary{
		Task: task.Name, Method: string(cfg.Method), Model: opts.Model, Tau: cfg.Tau,
		Reward: task.RewardSpecOf(opts), Prompt: opts.Prompt, TwoSided: opts.TwoSided, Target: opts.Target, Alpha: cfg.Alpha, Seed: cfg.Seed, Steps: res.Steps,
		Outcome: res.Outcome, RunDir: out, Files: append(v.written, files...), Toy: toy,
	}
	sum.WallSeconds = time.Since(t0).Seconds()
	if sum.ClassFractions != nil {
		sum.ClassNames = v.classNames
	}
	if *flags.asJSON {
		return printJSON(sum)
	}
	printFinetune(sum, task, cfg, out)
	return nil
}

// finetuneViews are the pictures of orw finetune's run: its hooks draw them
// from the open run (also when it had finished before: OpenFinished).
type finetuneViews struct {
	v     *runViews
	files []string // the plots
	toy   *tasks.ToyComparison
}

// hooks record the run's step count (finetuneFile), draw the start grid
// and set up the progress bar and the grids of the steps (Start), then
// draw the final grid, the before/after picture, the plots and, for 2-D
// point tasks, the comparison with the exact density (End).
func (fv *finetuneViews) hooks(r *finetuneRun, quiet bool) experiment.Hooks {
	return experiment.Hooks{
		Start: func(_ experiment.Run, run *rundir.Run) error {
			if err := writeFinetuneRecord(r.out, r.total); err != nil {
				return err
			}
			v := newTaskViews(run, r.out, r.task, r.opts, r.cfg)
			fv.v = v
			if err := v.grid("start.png"); err != nil {
				return err
			}
			l := run.Loop()
			l.OnStep("finetune pictures", 1, train.PriorityDisplay, func(_ *train.Loop[orw.StepRecord], rec orw.StepRecord) error {
				if rec.Step%r.grid == 0 && rec.Step < r.total {
					if err := v.grid(fmt.Sprintf("step-%06d.png", rec.Step)); err != nil {
						fmt.Fprintln(os.Stderr, "warning:", err)
					}
				}
				return nil
			})
			if !quiet {
				attachBar(run, r.task.Name)
			}
			// After the final evaluation (FinalEval), when training succeeded.
			l.OnEnd("finetune pictures", train.PriorityDisplay, func(_ *train.Loop[orw.StepRecord], err error) error {
				if err != nil {
					return nil
				}
				return fv.end(run, r)
			})
			return nil
		},
	}
}

// end draws the pictures of a run that has finished training: the final
// grid, the before/after picture, the plots and, for 2-D point tasks, the
// comparison with the exact density.
func (fv *finetuneViews) end(run *rundir.Run, r *finetuneRun) error {
	v := fv.v
	if err := v.grid("final.png"); err != nil {
		return err
	}
	if err := v.beforeAfter(r.cfg); err != nil {
		return err
	}
	var err error
	if fv.files, err = v.plots(); err != nil {
		return err
	}
	if r.task.Points {
		fv.toy, err = v.toyComparison(run.StepCount())
	}
	return err
}

// attachBar attaches the progress bar of orw finetune to the run's loop:
// its status is the training batch's reward and W2 (smoothed) and the
// reward of the last evaluation, labelled (barStatus).
func attachBar(run *rundir.Run, label string) {
	var w2avg, ravg float64
	eval := math.NaN()
	if _, evals, err := run.History(); err == nil && len(evals) > 0 {
		eval = evals[len(evals)-1].Reward
	}
	start := run.StepCount()
	l := run.Loop()
	l.OnStep("progress status", 1, train.PriorityDisplay-1, func(_ *train.Loop[orw.StepRecord], rec orw.StepRecord) error {
		ravg = smooth(ravg, rec.RewardMean, rec.Step-start)
		w2avg = smooth(w2avg, rec.W2, rec.Step-start)
		return nil
	})
	l.OnEvent("progress status", train.PriorityDisplay, func(_ *train.Loop[orw.StepRecord], ev any) error {
		if e, ok := ev.(rundir.Eval); ok {
			eval = e.Record.Reward
		}
		return nil
	})
	train.AttachProgress(l, train.NewTextBar(label), 1, func(orw.StepRecord) string {
		return barStatus(ravg, eval, w2avg)
	})
}

// barStatus is the status of orw finetune's progress bar: "batch reward
// 0.612, eval reward 0.598, w2 1.20e-03"; the eval reward is left out while
// there is none (NaN).
func barStatus(batch, eval, w2 float64) string {
	s := fmt.Sprintf("batch reward %.3f", batch)
	if !math.IsNaN(eval) {
		s += fmt.Sprintf(", eval reward %.3f", eval)
	}
	return s + fmt.Sprintf(", w2 %.2e", w2)
}

// printFinetune prints the summary of a run of task with cfg in dir for people.
func printFinetune(sum FinetuneSummary, task *tasks.Task, cfg orw.Config, dir string) {
	fmt.Printf("finetune: %s %s tau=%g alpha=%g: eval reward %.3f → %.3f in %d steps (%s)\n", task.Name, cfg.Method, cfg.Tau, cfg.Alpha,
		sum.InitialReward, sum.FinalReward, sum.Steps, time.Duration(sum.WallSeconds*float64(time.Second)).Round(time.Second))
	fmt.Printf("reward: %s%s\n", sum.Reward, rewardDetails(sum))
	if t := sum.Toy; t != nil {
		fmt.Printf("exact tilted density: component shares %.3f (exact %.3f, max error %.3f), mean (%.2f, %.2f) (exact (%.2f, %.2f)), TV %.3f\n",
			t.Shares, t.ExactShares, t.MaxShareError, t.Mean[0], t.Mean[1], t.ExactMean[0], t.ExactMean[1], t.TV)
	}
	if sum.ClassFractions != nil {
		var parts []string
		for i, f := range sum.ClassFractions {
			parts = append(parts, fmt.Sprintf("%s:%.0f%%", sum.ClassNames[i], 100*f))
		}
		fmt.Printf("classes: %s (entropy %.2f)\n", strings.Join(parts, " "), sum.ClassEntropy)
	}
	fmt.Printf("W2: velocity estimate %.4g, empirical %.4g\n", sum.W2Velocity, sum.EmpiricalW2)
	if sum.Frechet > 0 {
		fmt.Printf("Fréchet distance to the real test images: %.4g\n", sum.Frechet)
	}
	printEvaluator(os.Stdout, sum.Evaluator)
	fmt.Printf("wrote %s: %s\n", dir, strings.Join(relative(dir, sum.Files), ", "))
}

// smooth is an exponential moving average with a short warm-up.
func smooth(avg, x float64, n int64) float64 {
	if n <= 1 {
		return x
	}
	a := max(0.05, 1/float64(n))
	return (1-a)*avg + a*x
}

func relative(dir string, files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		if r, err := filepath.Rel(dir, f); err == nil {
			out[i] = r
		} else {
			out[i] = f
		}
	}
	return out
}

// rewardDetails describes the prompt or target of a summary.
func rewardDetails(s FinetuneSummary) string {
	var d []string
	if s.Prompt != "" {
		p := fmt.Sprintf("prompt %q", s.Prompt)
		if s.TwoSided {
			p += " (two-sided)"
		}
		d = append(d, p)
	}
	if s.Target != "" {
		d = append(d, "target "+s.Target)
	}
	if len(d) == 0 {
		return ""
	}
	return " (" + strings.Join(d, ", ") + ")"
}

// runViews writes a run's pictures.
type runViews struct {
	run        *rundir.Run
	dir        string
	classNames []string
	written    []string
	frames     []image.Image
	// exact, for 2-D point tasks, is the exact tilted density at a step and its
	// description; the sample pictures are then scatters over it.
	exact func(step int64) ([][]float64, string, error)
}

func newRunViews(run *rundir.Run, dir string) *runViews {
	return &runViews{run: run, dir: dir, classNames: run.ClassNames()}
}

// newTaskViews returns the views of a run of task with resolved opts and
// cfg: for 2-D point tasks its pictures are scatters over the exact tilted
// density.
func newTaskViews(run *rundir.Run, dir string, task *tasks.Task, opts tasks.Options, cfg orw.Config) *runViews {
	v := newRunViews(run, dir)
	if task.Points {
		v.exact = func(step int64) ([][]float64, string, error) {
			return toyExact(task, opts, cfg, step)
		}
	}
	return v
}

// gridSeed fixes the noise of the sample grids so that they show the model change.
const gridSeed = 20250211

// grid writes 64 samples of the current trainee to samples/NAME: an image grid
// (for a class-conditional model one column per label: sample i has label
// i mod K), or for 2-D point tasks a scatter over the exact tilted density.
func (v *runViews) grid(name string) error {
	path := filepath.Join(v.dir, "samples", name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if v.exact != nil {
		return v.scatter(path)
	}
	n, cols := 64, 8
	if k := v.run.Generator().NumClasses(); k > 0 {
		n, cols = k*((64+k-1)/k), k
	}
	imgs, err := v.run.Samples(n, gridSeed)
	if err != nil {
		return err
	}
	g, err := runplot.BatchGrid(imgs, cols, vis.GridOptions{})
	if err != nil {
		return err
	}
	if err := vis.SavePNG(path, g); err != nil {
		return err
	}
	v.written = append(v.written, path)
	v.frames = append(v.frames, g)
	return nil
}

// beforeAfterFile is the picture of the samples before and after a run.
const beforeAfterFile = "before-after.png"

// beforeAfter writes beforeAfterFile: the same noise through the base model
// (before, left) and the fine-tuned model (after, right, titled with its
// step and the run's τ and α), as the pictures of docs/tasks show them: 32
// samples of each (for a class-conditional model whole rows of its
// labels), or for 2-D point tasks scatters over the exact densities.
func (v *runViews) beforeAfter(cfg orw.Config) error {
	step := v.run.StepCount()
	knobs := fmt.Sprintf("τ = %g, α = %g", cfg.Tau, cfg.Alpha)
	if cfg.Method != orw.MethodORW {
		knobs = string(cfg.Method) + ", " + knobs
	}
	afterTitle := fmt.Sprintf("after: step %s (%s)", withCommas(step), knobs)
	var before, after image.Image
	var err error
	if v.exact != nil {
		before, after, err = v.toyBeforeAfter(step, cfg, afterTitle)
	} else {
		before, after, err = v.imageBeforeAfter(afterTitle)
	}
	if err != nil {
		return err
	}
	path := filepath.Join(v.dir, beforeAfterFile)
	if err := vis.SavePNG(path, vis.Grid([]image.Image{before, after}, 2, vis.GridOptions{Scale: 1, Pad: 12})); err != nil {
		return err
	}
	v.written = append(v.written, path)
	return nil
}

// imageBeforeAfter draws the titled grids of beforeAfter for an image task.
func (v *runViews) imageBeforeAfter(afterTitle string) (before, after image.Image, err error) {
	n, cols := 32, 8
	if k := v.run.Generator().NumClasses(); k > 0 {
		n, cols = k*((32+k-1)/k), k
	}
	grid := func(draw func(int, uint64) (*orw.Images, error), title string) (image.Image, error) {
		imgs, err := draw(n, gridSeed)
		if err != nil {
			return nil, err
		}
		g, err := runplot.BatchGrid(imgs, cols, vis.GridOptions{})
		if err != nil {
			return nil, err
		}
		return vis.Titled(g, title), nil
	}
	if before, err = grid(v.run.BaseSamples, "before: base model"); err != nil {
		return nil, nil, err
	}
	after, err = grid(v.run.Samples, afterTitle)
	return before, after, err
}

// withCommas writes n with commas between groups of three digits: 2,000.
func withCommas(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Labels of the curves of reward.png and w2.png.
var (
	rewardLabels = runplot.TrainingLabels{Title: "Reward", YLabel: "mean reward", Batch: "training batch (smoothed)", Eval: "evaluation batch",
		Evaluator: "evaluation batch, by the evaluator"}
	w2Labels = runplot.TrainingLabels{Title: "W2 divergence from the reference", YLabel: "E‖v_ft − v_ref‖²", Batch: "training batch (smoothed)", Eval: "evaluation estimate"}
)

// plots writes the reward and W2 curves, the class make-up over time and
// the animation of the grids; the pictures are package runplot's.
func (v *runViews) plots() ([]string, error) {
	h, err := runplot.FromRun(v.run, "")
	if err != nil {
		return nil, err
	}
	var files []string
	save := func(name string, p *plotT, err error) error {
		if err != nil {
			return err
		}
		path := filepath.Join(v.dir, name)
		if err := vis.SavePlot(p, path, 6*inch, 4*inch); err != nil {
			return err
		}
		files = append(files, path)
		return nil
	}
	p, err := runplot.TrainingWith(runplot.Reward, h, rewardLabels)
	if err := save("reward.png", p, err); err != nil {
		return files, err
	}
	p, err = runplot.TrainingWith(runplot.W2, h, w2Labels)
	if err := save("w2.png", p, err); err != nil {
		return files, err
	}
	if len(v.classNames) > 0 && len(h.Evals) > 0 && h.Evals[0].ClassCounts != nil {
		p, err = runplot.Classes(h)
		if err := save("classes.png", p, err); err != nil {
			return files, err
		}
	}
	if h.HasEvaluator() {
		p, err = runplot.CoverageCurves(h)
		if err := save("coverage.png", p, err); err != nil {
			return files, err
		}
	}
	if len(v.frames) > 1 {
		path := filepath.Join(v.dir, "samples", "progress.gif")
		if err := vis.SaveGIF(path, v.frames, 600*time.Millisecond); err != nil {
			return files, err
		}
		files = append(files, path)
	}
	return files, nil
}
