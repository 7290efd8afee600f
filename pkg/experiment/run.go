package experiment

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/gomlx/compute"

	"github.com/orwcfm/orwcfm/pkg/orw/backends"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
	"github.com/orwcfm/orwcfm/pkg/tasks"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

// Run is one run of an experiment: a trial, the directory that holds it and
// the number of gradient steps to train it to.
type Run struct {
	Trial
	// Dir is the run directory (see TrialDir and RunDir).
	Dir string
	// Steps is the step count to train the run to.
	Steps int64

	// sweep, when set (Sweep.Grid), is written to the run directory's
	// SweepFile once the run is opened.
	sweep *SweepRecord
}

// Runs returns the runs of trials of the experiment group, each in its
// TrialDir under root, to be trained to steps steps.
func Runs(root, group string, steps int64, trials ...Trial) []Run {
	runs := make([]Run, len(trials))
	for i, t := range trials {
		runs[i] = Run{Trial: t, Dir: TrialDir(root, group, t), Steps: steps}
	}
	return runs
}

// Hooks let a caller watch the runs it executes (progress bars, redrawn
// curves) or add its own outputs (sample grids). Every field may be nil.
// A Grid with several workers calls them from several goroutines at once.
type Hooks struct {
	// Start is called with each run opened at its current step, before it
	// trains. It registers the caller's hooks on the run's training loop
	// (run.Loop(): OnStep, OnEvent for evaluations, OnEnd for what follows
	// training; see rundir.Run.Loop for the run's own hooks and their
	// order). An error stops the run before it trains, and is the run's
	// error.
	Start func(r Run, run *rundir.Run) error
	// Skip is called instead of Start for a run that had already reached
	// r.Steps and so was only read, with its result. An error is the run's
	// error.
	Skip func(r Run, res Result) error
}

// Options adjust how runs are executed.
type Options struct {
	// Backend computes the runs (backends.Default() when nil).
	Backend compute.Backend
	// Hooks watch the runs.
	Hooks Hooks
	// FinalEval evaluates each trained run at its last step, unless its
	// last evaluation is already there (rundir.Run.EvaluateAtEnd: an end
	// hook of the run's loop, before the callers' display hooks), so that
	// its result describes the model it ends with. Without it the result
	// holds the run's last periodic evaluation.
	FinalEval bool
	// OpenFinished opens runs that have already reached their steps too,
	// rather than only reading them, for hooks that draw from the open run
	// (orw finetune redraws its pictures).
	OpenFinished bool
	// TensorBoard writes TensorBoard event files into each run directory
	// that trains: scalars per step and evaluation, and sample grids at the
	// evaluations (see package tbevents and tensorboard.go). Runs that are
	// only read write nothing.
	TensorBoard bool
}

// Execute trains the run to r.Steps and returns its result. The run
// directory is created when it holds no run; a run in it must have been
// made with the same task, options and Config (the error names the
// differences). A run that has already reached r.Steps is only read
// (unless opts.OpenFinished), and an interrupted one continues from its
// last checkpoint.
//
// When ctx is cancelled the run stops after its current step, is saved,
// and Execute returns ctx's error unwrapped (context.Canceled) with the
// result at that step. Other errors are returned as the run directory, the
// training loop or the hooks gave them. On an error the result holds what
// is known (the step count reached, when the run was opened).
func (r Run) Execute(ctx context.Context, opts Options) (Result, error) {
	res := r.blank()
	if r.Dir == "" {
		return res, fmt.Errorf("experiment: run %q has no directory", r.Name)
	}
	if r.Steps < 0 {
		return res, fmt.Errorf("experiment: run %q: steps must not be negative, got %d", r.Name, r.Steps)
	}
	if !opts.OpenFinished {
		if h, step, ok := readFinished(r); ok {
			res.fill(h, step, r.Config.EvalSamples)
			res.Skipped = true
			if opts.Hooks.Skip != nil {
				if err := opts.Hooks.Skip(r, res); err != nil {
					return res, err
				}
			}
			return res, nil
		}
	}
	be := opts.Backend
	if be == nil {
		var err error
		if be, err = backends.Default(); err != nil {
			return res, err
		}
	}
	run, err := tasks.OpenOrCreateRunWith(be, r.Dir, r.TaskName(), r.Options, r.Config)
	if err != nil {
		return res, err
	}
	res.Steps = run.StepCount()
	run.EvaluateAtEnd(opts.FinalEval)
	if err := r.attach(run, opts); err != nil {
		run.Close()
		return res, err
	}
	err = run.StepTo(ctx, r.Steps)
	res.Steps = run.StepCount()
	if h, herr := runplot.FromRun(run, r.Name); herr == nil {
		res.fill(h, run.StepCount(), r.Config.EvalSamples)
	} else {
		err = join(err, herr)
	}
	return res, join(err, run.Close())
}

// attach writes the run's SweepRecord (when it is a sweep's), then
// registers the hooks of opts on the open run's loop: the caller's
// (Hooks.Start), then those of the event files (Options.TensorBoard).
func (r Run) attach(run *rundir.Run, opts Options) error {
	if r.sweep != nil {
		if err := writeSweepRecord(r.Dir, *r.sweep); err != nil {
			return err
		}
	}
	if opts.Hooks.Start != nil {
		if err := opts.Hooks.Start(r, run); err != nil {
			return err
		}
	}
	if opts.TensorBoard {
		return attachTensorBoard(run)
	}
	return nil
}

// join returns a when b is nil and b when a is nil (unwrapped, so that a
// context.Canceled stays one), and both joined otherwise.
func join(a, b error) error {
	switch {
	case b == nil:
		return a
	case a == nil:
		return b
	}
	return errors.Join(a, b)
}

// blank is the result of r before anything is known of its directory.
func (r Run) blank() Result {
	c := r.Config
	return Result{
		Name: r.Name, RunSetting: RunSetting{Task: r.TaskName(), Method: string(c.Method), Tau: c.Tau, Alpha: c.Alpha,
			RefreshEvery: c.RefreshEvery, NormalizeWeights: c.NormalizeWeights}, Seed: c.Seed,
		Outcome: unmeasured(c.EvalSamples), RunDir: r.Dir,
	}
}

// fill sets the result's outcome from the run's history and step count.
func (r *Result) fill(h *runplot.History, steps int64, evalSamples int) {
	r.History, r.Steps = h, steps
	r.Outcome = OutcomeOf(h, evalSamples)
}

// readFinished reads the run in r.Dir without opening it (rundir.ReadSaved),
// if it was made with r's settings and rundir says it has finished r.Steps:
// its history up to its last checkpoint and its step count. Anything else
// (no run, other settings, a damaged file) is "not finished", and opening
// the run then says what is wrong.
func readFinished(r Run) (*runplot.History, int64, bool) {
	saved, err := rundir.ReadSaved(r.Dir)
	if err != nil || !saved.Finished(r.Steps) || len(saved.Info.Config.Diff(r.Config)) > 0 {
		return nil, 0, false
	}
	task, err := tasks.Lookup(r.TaskName())
	if err != nil {
		return nil, 0, false
	}
	o, err := task.Resolve(r.Options)
	if err != nil || !maps.Equal(tasks.RunMetaOf(saved.Info), tasks.RunMetaWith(task, o)) {
		return nil, 0, false
	}
	info := saved.Info
	return &runplot.History{Name: r.Name, Dir: r.Dir, Config: info.Config, Meta: info.Meta, Steps: saved.Steps, Evals: saved.Evals}, saved.Step, true
}
