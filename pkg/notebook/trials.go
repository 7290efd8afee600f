package notebook

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"os/signal"

	"github.com/orwcfm/orwcfm/pkg/experiment"
	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
	"github.com/orwcfm/orwcfm/pkg/orw/train"
	"github.com/orwcfm/orwcfm/pkg/tasks"
	"github.com/orwcfm/orwcfm/pkg/vis"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

// DefaultTask is the task of a Trial that names none.
const DefaultTask = experiment.DefaultTask

// Trial is one setting of an experiment: a task with its options and a
// fine-tuning configuration (see experiment.Trial). Trials that share a
// Name are seeds of one setting (give them different Config.Seed): the
// plots of package runplot average them.
type Trial = experiment.Trial

// TrialDir is the run directory of a trial of an experiment called group:
// experiment.TrialDir under RunsDir(), that is RunDir(group/Name) with the
// task and its options in the hash, so that a trial with other settings
// gets another directory.
func TrialDir(group string, t Trial) string {
	return experiment.TrialDir(RunsDir(), group, t)
}

// RunTrials trains every trial of the experiment group to steps steps, one
// after the other, and returns their histories. Each trial resumes from its
// run directory, so running the cell again continues unfinished trials and
// only reads finished ones. While it runs it shows one progress bar per
// trial and the reward and W2 curves of all trials so far, redrawn at every
// evaluation (in a notebook; elsewhere the curves are written once, at the
// end). An interrupt stops the current trial after its step, saved.
//
// The runs are package experiment's (a Grid of one worker); this function
// adds the display through its hooks.
func RunTrials(group string, steps int64, trials ...Trial) ([]*runplot.History, error) {
	defer Default().sync()
	return Default().RunTrials(group, steps, trials...)
}

// RunTrials runs trials on d (see the function RunTrials).
func (d *Display) RunTrials(group string, steps int64, trials ...Trial) ([]*runplot.History, error) {
	if len(trials) == 0 {
		return nil, errors.New("notebook: RunTrials: no trials")
	}
	backend, err := backends.Default()
	if err != nil {
		return nil, err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	v := &trialsView{d: d, group: group, id: uniqueID("trials"), names: classNameCache{}}
	if d.Notebook {
		d.publish(map[string]any{"text/html": "<i>curves appear at the first evaluation…</i>", "text/plain": "curves appear at the first evaluation"}, v.id)
	}
	grid := experiment.Grid{
		Runs:    experiment.Runs(RunsDir(), group, steps, trials...),
		Workers: 1,
		Options: experiment.Options{Backend: backend, Hooks: experiment.Hooks{Start: v.start, Skip: v.skip}},
	}
	if _, err = grid.Execute(ctx); err != nil {
		return v.hs, trialsError(err)
	}
	v.redraw()
	if !d.Notebook {
		if img, err := comparison(v.hs); err == nil {
			v.drawErr = d.Show(img, Name(group+"-trials"))
		} else {
			v.drawErr = err
		}
	}
	if v.drawErr != nil {
		return v.hs, fmt.Errorf("notebook: RunTrials: drawing: %w", v.drawErr)
	}
	return v.hs, nil
}

// trialsError is the error of RunTrials for the error of its grid.
func trialsError(err error) error {
	var re *experiment.Error
	switch {
	case errors.As(err, &re) && errors.Is(re.Err, context.Canceled):
		return fmt.Errorf("interrupted at step %d of trial %q (saved; run the cell again to continue)", re.Step, re.Run.Name)
	case errors.As(err, &re):
		return fmt.Errorf("trial %q: %w", re.Run.Name, re.Err)
	case errors.Is(err, context.Canceled):
		return errors.New("interrupted between trials (saved; run the cell again to continue)")
	}
	return err
}

// trialsView is the display of RunTrials: the histories of the trials so
// far with their comparison plot (output id), and a progress bar per
// trial. The grid runs one trial at a time.
type trialsView struct {
	d       *Display
	group   string
	id      string
	names   classNameCache
	hs      []*runplot.History
	drawErr error
}

// redraw draws the comparison of the trials so far (in a notebook).
func (v *trialsView) redraw() {
	if !v.d.Notebook || v.drawErr != nil {
		return
	}
	img, err := comparison(v.hs)
	if err != nil {
		v.drawErr = err
		return
	}
	b, err := encodePNG(img)
	if err != nil {
		v.drawErr = err
		return
	}
	v.d.publish(map[string]any{"image/png": b, "text/plain": v.group + ": reward and W2 of the trials"}, v.id)
}

// trialStatus is the status of a trial's bar at its end.
func trialStatus(h *runplot.History) string {
	if e, ok := h.Final(); ok {
		return fmt.Sprintf("eval reward %.3f · W2 %.3g", e.Reward, e.W2Velocity)
	}
	return "done"
}

// start adds a trial about to train, and registers on its loop the hooks
// that record its steps and evaluations (redrawing at each) and show its bar.
func (v *trialsView) start(r experiment.Run, run *rundir.Run) error {
	h, err := runplot.FromRun(run, r.Name)
	if err != nil {
		return err
	}
	h.Rewarded = rewardedClasses(run.Trainer().Env().Reward)
	v.hs = append(v.hs, h)
	v.redraw()
	from := run.StepCount()
	bar := v.d.NewProgress(r.Name, from, max(r.Steps, from))
	l := run.Loop()
	l.OnStep("trials", 1, train.PriorityDisplay, func(_ *train.Loop[orw.StepRecord], s orw.StepRecord) error {
		h.Steps = append(h.Steps, s)
		return nil
	})
	l.OnEvent("trials", train.PriorityDisplay, func(_ *train.Loop[orw.StepRecord], ev any) error {
		if e, ok := ev.(rundir.Eval); ok {
			h.Evals = append(h.Evals, e.Record)
			v.redraw()
		}
		return nil
	})
	train.AttachProgress(l, bar, 1, func(s orw.StepRecord) string {
		if s.Step >= r.Steps { // the last step's evaluation is in h by now
			return trialStatus(h)
		}
		return fmt.Sprintf("batch reward %.3f", s.RewardMean)
	})
	l.OnEnd("trials", train.PriorityDisplay, func(_ *train.Loop[orw.StepRecord], err error) error {
		if errors.Is(err, context.Canceled) {
			bar.Done("interrupted")
		} else {
			bar.Done(trialStatus(h))
		}
		return nil
	})
	return nil
}

// skip adds a trial trained earlier, only read.
func (v *trialsView) skip(r experiment.Run, res experiment.Result) error {
	h := res.History
	cn, err := v.names.get(r.Trial)
	if err != nil {
		return err
	}
	h.ClassNames, h.Rewarded = cn.names, cn.rewarded
	v.hs = append(v.hs, h)
	v.redraw()
	v.d.NewProgress(r.Name, res.Steps, res.Steps).Done(trialStatus(h) + " (trained earlier)")
	return nil
}

// classNameCache holds the class names of the trials' tasks and base
// models, and the classes their rewards favour, which building an
// environment finds.
type classNameCache map[string]classInfo

type classInfo struct {
	names    []string
	rewarded []int
}

func (c classNameCache) get(t Trial) (classInfo, error) {
	key := t.TaskName() + "\x00" + t.Options.Model + "\x00" + t.Options.Reward + "\x00" + t.Options.Prompt
	if ci, ok := c[key]; ok {
		return ci, nil
	}
	task, err := tasks.Lookup(t.TaskName())
	if err != nil {
		return classInfo{}, err
	}
	be, err := backends.Default()
	if err != nil {
		return classInfo{}, err
	}
	env, err := task.BuildEnv(be, t.Options)
	if err != nil {
		return classInfo{}, err
	}
	var ci classInfo
	if env.Judge != nil {
		ci = classInfo{names: env.Judge.ClassNames(), rewarded: rewardedClasses(env.Reward)}
	}
	c[key] = ci
	return ci, nil
}

// rewardedClasses returns the classes that a reward favours when it is the
// classifier's probability of a set of classes (tasks.ClassRewarder: mnist-even's
// even digits, a prompt's classes), and nil for any other reward.
func rewardedClasses(r orw.Reward) []int {
	if c, ok := r.(tasks.ClassRewarder); ok {
		return c.RewardedClasses()
	}
	return nil
}

// comparison draws the reward and the W2 curves of trials side by side.
func comparison(hs []*runplot.History) (image.Image, error) {
	var imgs []image.Image
	for _, m := range []runplot.Metric{runplot.Reward, runplot.W2} {
		p, err := runplot.Curves(m, hs...)
		if err != nil {
			return nil, err
		}
		img, err := vis.PlotImage(p, 4.2*72, 2.8*72)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, img)
	}
	return vis.Grid(imgs, 2, vis.GridOptions{Scale: 1, Pad: 4}), nil
}

// LoadTrials reads the histories of the trials of experiment group from
// their run directories without opening the runs (so without training
// them), with the class names of their tasks. A trial that was never run is
// an error that says to run the cell that trains it.
func LoadTrials(group string, trials ...Trial) ([]*runplot.History, error) {
	names := classNameCache{}
	var hs []*runplot.History
	for _, t := range trials {
		dir := TrialDir(group, t)
		h, err := runplot.Load(dir, t.Name)
		if err != nil {
			return hs, fmt.Errorf("trial %q has no run yet (%v): run the cell that trains it first", t.Name, err)
		}
		ci, err := names.get(t)
		if err != nil {
			return hs, err
		}
		h.ClassNames, h.Rewarded = ci.names, ci.rewarded
		hs = append(hs, h)
	}
	return hs, nil
}

// TrialSamples draws n samples of the latest model of every trial of
// experiment group, all from the same noise (LiveSeed), and returns them as
// one picture for Show: a Row of grids, or of scatter plots for 2-D points,
// each titled with its trial's name. Of trials that share a name (seeds)
// only the first is shown.
func TrialSamples(group string, n int, trials ...Trial) (any, error) {
	var items []any
	err := eachTrialSample(group, n, trials, func(t Trial, _ string, im *orw.Images) error {
		items = append(items, Titled(t.Name, im))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, errors.New("notebook: TrialSamples: no trials")
	}
	return Row(items...), nil
}

// eachTrialSample draws n samples (from the noise of LiveSeed) of the latest
// model of every trial of experiment group and hands them to fn with the
// trial and its run directory. Of trials that share a name (seeds) only the
// first is drawn.
func eachTrialSample(group string, n int, trials []Trial, fn func(t Trial, dir string, im *orw.Images) error) error {
	backend, err := backends.Default()
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, t := range trials {
		if seen[t.Name] {
			continue
		}
		seen[t.Name] = true
		dir := TrialDir(group, t)
		g, err := tasks.RunGenerator(dir)
		if err != nil {
			return fmt.Errorf("trial %q: %w (run the cell that trains it first)", t.Name, err)
		}
		im, err := tasks.SampleImages(backend, g, g.Sampler, n, LiveSeed)
		if err != nil {
			return fmt.Errorf("trial %q: %w", t.Name, err)
		}
		if err := fn(t, dir, im); err != nil {
			return err
		}
	}
	return nil
}
