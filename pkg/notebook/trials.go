package notebook

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"os/signal"
	"path"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
	"github.com/orwcfm/orwcfm/pkg/tasks"
	"github.com/orwcfm/orwcfm/pkg/vis"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

// DefaultTask is the task of a Trial that names none.
const DefaultTask = "mnist-even"

// Trial is one setting of an experiment: a task with its options and a
// fine-tuning configuration. Trials that share a Name are seeds of one
// setting (give them different Config.Seed): the plots of package runplot
// average them.
type Trial struct {
	// Name labels the trial in legends and names its directory.
	Name string
	// Task is the task's name (DefaultTask when empty).
	Task string
	// Options are the task's options (base model, reward...).
	Options tasks.Options
	// Config is the fine-tuning configuration.
	Config orw.Config
}

func (t Trial) task() string {
	if t.Task == "" {
		return DefaultTask
	}
	return t.Task
}

// TrialDir is the run directory of a trial of an experiment called group:
// RunDir(group/Name) with the task and its options in the hash, so that a
// trial with other settings gets another directory.
func TrialDir(group string, t Trial) string {
	o := t.Options
	return RunDir(path.Join(group, t.Name), t.Config, t.task(), o.Model, o.Reward, o.Prompt, fmt.Sprint(o.TwoSided), o.Target)
}

// RunTrials trains every trial of the experiment group to steps steps, one
// after the other, and returns their histories. Each trial resumes from its
// run directory, so running the cell again continues unfinished trials and
// only reads finished ones. While it runs it shows one progress bar per
// trial and the reward and W2 curves of all trials so far, redrawn at every
// evaluation (in a notebook; elsewhere the curves are written once, at the
// end). An interrupt stops the current trial after its step, saved.
func RunTrials(group string, steps int64, trials ...Trial) ([]*runplot.History, error) {
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
	cmp := uniqueID("trials")
	if d.Notebook {
		d.publish(map[string]any{"text/html": "<i>curves appear at the first evaluation…</i>", "text/plain": "curves appear at the first evaluation"}, cmp)
	}
	var hs []*runplot.History
	var drawErr error
	redraw := func() {
		if !d.Notebook || drawErr != nil {
			return
		}
		img, err := comparison(hs)
		if err != nil {
			drawErr = err
			return
		}
		b, err := encodePNG(img)
		if err != nil {
			drawErr = err
			return
		}
		d.publish(map[string]any{"image/png": b, "text/plain": group + ": reward and W2 of the trials"}, cmp)
	}
	for _, t := range trials {
		dir := TrialDir(group, t)
		run, err := tasks.OpenOrCreateRunWith(backend, dir, t.task(), t.Options, t.Config)
		if err != nil {
			return hs, fmt.Errorf("trial %q: %w", t.Name, err)
		}
		h, err := runplot.FromRun(run, t.Name)
		if err != nil {
			run.Close()
			return hs, fmt.Errorf("trial %q: %w", t.Name, err)
		}
		hs = append(hs, h)
		redraw()
		from := run.StepCount()
		bar := d.NewProgress(t.Name, from, max(steps, from))
		run.OnStep = func(s orw.StepRecord) {
			h.Steps = append(h.Steps, s)
			bar.Update(s.Step, fmt.Sprintf("batch reward %.3f", s.RewardMean))
		}
		run.OnEval = func(e orw.EvalRecord, _ *orw.Images) {
			h.Evals = append(h.Evals, e)
			redraw()
		}
		err = run.StepTo(ctx, steps)
		status := "done"
		if e, ok := h.Final(); ok {
			status = fmt.Sprintf("eval reward %.3f · W2 %.3g", e.Reward, e.W2Velocity)
		}
		if from >= steps {
			status += " (trained earlier)"
		}
		if errors.Is(err, context.Canceled) {
			err = fmt.Errorf("interrupted at step %d of trial %q (saved; run the cell again to continue)", run.StepCount(), t.Name)
			status = "interrupted"
		}
		bar.Finish(status)
		if cerr := run.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return hs, fmt.Errorf("trial %q: %w", t.Name, err)
		}
	}
	redraw()
	if !d.Notebook {
		if img, err := comparison(hs); err == nil {
			drawErr = d.Show(img, Name(group+"-trials"))
		} else {
			drawErr = err
		}
	}
	if drawErr != nil {
		return hs, fmt.Errorf("notebook: RunTrials: drawing: %w", drawErr)
	}
	return hs, nil
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
	names := map[string][]string{}
	var hs []*runplot.History
	for _, t := range trials {
		dir := TrialDir(group, t)
		h, err := runplot.Load(dir, t.Name)
		if err != nil {
			return hs, fmt.Errorf("trial %q has no run yet (%v): run the cell that trains it first", t.Name, err)
		}
		key := t.task() + "\x00" + t.Options.Model
		cn, ok := names[key]
		if !ok {
			cn, err = classNames(t)
			if err != nil {
				return hs, err
			}
			names[key] = cn
		}
		h.ClassNames = cn
		hs = append(hs, h)
	}
	return hs, nil
}

// classNames returns the class names of a trial's judge (nil without one).
func classNames(t Trial) ([]string, error) {
	task, err := tasks.Lookup(t.task())
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
