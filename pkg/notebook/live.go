package notebook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/signal"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot/vg"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
	"github.com/orwcfm/orwcfm/pkg/orw/train"
	"github.com/orwcfm/orwcfm/pkg/vis"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

// LiveSamples is the number of samples a live view draws (in rows of 8),
// and LiveSeed the seed of their noise: the same noise at every redraw, so
// that the grid shows how the model changes, not new noise.
const (
	LiveSamples = 64
	LiveSeed    = 1
)

// LiveView watches a run while it trains: a progress bar, and a dashboard
// (runplot.Dashboard: reward and W2 curves, class make-up, the coverage
// curves and the evaluator's reward when the task has an independent
// evaluator, samples of the current model) redrawn in place every Every steps and at every
// evaluation. Outside a notebook it prints progress lines and writes the
// final dashboard as a PNG file.
//
// A LiveView registers its hooks on the run's training loop (rundir.Run.Loop)
// until Close, next to any others: a step hook that records the step,
// redraws and updates the progress bar of StepTo, and an event hook that
// records each evaluation and redraws (train.PriorityDisplay, so they see
// the step recorded, evaluated and saved).
type LiveView struct {
	// Every is the number of steps between redraws of the dashboard.
	Every int
	// Name titles the progress bar (the run directory's name by default).
	Name string

	d        *Display
	run      *rundir.Run
	hist     *runplot.History
	id       string
	bar      *Progress
	drawn    int64
	err      error
	stepping bool // in StepTo: the bar shows the loop's progress
	closed   bool
}

// Live returns a live view of run that redraws every `every` steps.
func Live(run *rundir.Run, every int) *LiveView { return Default().Live(run, every) }

// Live returns a live view of run on d (see the function Live).
func (d *Display) Live(run *rundir.Run, every int) *LiveView {
	v := &LiveView{Every: every, Name: filepath.Base(run.Dir), d: d, run: run, id: uniqueID("live"), drawn: -1}
	v.hist, v.err = runplot.FromRun(run, v.Name)
	if v.hist == nil {
		v.hist = &runplot.History{Name: v.Name, Config: run.Config(), ClassNames: run.ClassNames()}
	}
	v.hist.Rewarded = rewardedClasses(run.Trainer().Env().Reward)
	l := run.Loop()
	l.OnStep(v.hookName(), 1, train.PriorityDisplay, func(_ *train.Loop[orw.StepRecord], s orw.StepRecord) error {
		v.onStep(s)
		return nil
	})
	l.OnEvent(v.hookName(), train.PriorityDisplay, func(_ *train.Loop[orw.StepRecord], ev any) error {
		if e, ok := ev.(rundir.Eval); ok {
			v.onEval(e.Record)
		}
		return nil
	})
	train.AttachProgressAs(l, v.hookName(), liveBar{v}, 1, func(orw.StepRecord) string { return v.status() })
	return v
}

// hookName names the view's hooks on the run's loop.
func (v *LiveView) hookName() string { return "live view " + v.id }

// liveBar shows the loop's progress on the bar of the view's StepTo.
type liveBar struct{ v *LiveView }

// Update shows p on the bar of the StepTo under way (none outside StepTo).
func (b liveBar) Update(p train.Progress) {
	if b.v.stepping {
		b.v.bar.Update(p)
	}
}

// Finish finishes the bar of the StepTo under way.
func (b liveBar) Finish(p train.Progress) {
	if b.v.stepping {
		b.v.bar.Finish(p)
	}
}

// Step trains the run for n more steps while the view shows its progress
// (see StepTo).
func (v *LiveView) Step(n int) error { return v.StepTo(v.run.StepCount() + int64(n)) }

// StepTo trains the run until it has done total steps, showing the
// dashboard at the start, every Every steps, at every evaluation and at the
// end, and saving a Snapshot of the samples at the start and at the end. An interrupt (the notebook's stop button, or Ctrl-C) stops the run
// after its current step; the run is saved either way, so running the cell
// again continues it.
func (v *LiveView) StepTo(total int64) error {
	if v.closed {
		return errors.New("notebook: LiveView is closed")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	from := v.run.StepCount()
	v.bar = v.d.NewProgress(v.Name, from, max(total, from))
	if err := Snapshot(v.run); err != nil && v.err == nil {
		v.err = fmt.Errorf("notebook: live view: snapshot: %w", err)
	}
	if v.d.Notebook {
		v.draw()
	}
	v.stepping = true
	err := v.run.StepTo(ctx, total)
	v.stepping = false
	if v.d.Notebook {
		v.draw()
	}
	if serr := Snapshot(v.run); serr != nil && v.err == nil {
		v.err = fmt.Errorf("notebook: live view: snapshot: %w", serr)
	}
	status := v.status()
	if errors.Is(err, context.Canceled) {
		err = fmt.Errorf("interrupted at step %d (the run is saved; run the cell again to continue)", v.run.StepCount())
		status = "interrupted, " + status
	}
	v.bar.Done(status) // the loop finished it; this adds an interrupt, or finishes a loop that never ran
	if !v.d.Notebook {
		v.writeDashboard()
	}
	return errors.Join(err, v.takeErr())
}

// Close removes the view's hooks from the run's loop and returns the first
// error met while drawing, if any.
func (v *LiveView) Close() error {
	if !v.closed {
		v.closed = true
		v.run.Loop().Remove(v.hookName())
	}
	return v.takeErr()
}

func (v *LiveView) takeErr() error {
	err := v.err
	v.err = nil
	return err
}

func (v *LiveView) onStep(s orw.StepRecord) {
	v.hist.Steps = append(v.hist.Steps, s)
	if v.d.Notebook && v.Every > 0 && s.Step%int64(v.Every) == 0 {
		v.draw()
	}
}

func (v *LiveView) onEval(e orw.EvalRecord) {
	v.hist.Evals = append(v.hist.Evals, e)
	if v.d.Notebook {
		v.drawn = -1 // the curves changed: redraw even at a drawn step
		v.draw()
	}
}

// status summarises the latest records: "eval reward 0.613 · W2 0.0132 ·
// batch reward 0.598", with the hacking gap and the coverage after W2 when
// the task has an evaluator.
func (v *LiveView) status() string {
	s := ""
	if n := len(v.hist.Evals); n > 0 {
		e := v.hist.Evals[n-1]
		s = fmt.Sprintf("eval reward %.3f · W2 %.3g", e.Reward, e.W2Velocity)
		if ev := e.Evaluator; ev != nil {
			if ev.HackingGap != nil {
				s += fmt.Sprintf(" · hacking gap %.3f", *ev.HackingGap)
			}
			s += fmt.Sprintf(" · coverage %.2f", ev.Coverage)
		}
	}
	if n := len(v.hist.Steps); n > 0 {
		st := v.hist.Steps[n-1]
		if s != "" {
			s += " · "
		}
		s += fmt.Sprintf("batch reward %.3f", st.RewardMean)
	}
	return s
}

// dashboard draws the run's current state.
func (v *LiveView) dashboard() (image.Image, error) {
	n := LiveSamples
	im, err := v.run.Samples(n, LiveSeed)
	if err != nil {
		return nil, err
	}
	if runplot.IsPoints(im) {
		if im, err = v.run.Samples(500, LiveSeed); err != nil {
			return nil, err
		}
	}
	return runplot.Dashboard(v.hist, im, runplot.DashboardOptions{})
}

// draw redraws the dashboard in the notebook, at most once per step.
func (v *LiveView) draw() {
	step := v.run.StepCount()
	if step == v.drawn || v.err != nil {
		return
	}
	v.drawn = step
	img, err := v.dashboard()
	if err != nil {
		v.err = fmt.Errorf("notebook: live view: %w", err)
		return
	}
	b, err := encodePNG(img)
	if err != nil {
		v.err = err
		return
	}
	alt := fmt.Sprintf("%s at step %d (%d×%d)", v.Name, step, img.Bounds().Dx(), img.Bounds().Dy())
	v.d.publish(map[string]any{"image/png": b, "text/plain": alt}, v.id)
}

// writeDashboard shows the final dashboard outside a notebook: a PNG file.
func (v *LiveView) writeDashboard() {
	if v.err != nil {
		return
	}
	img, err := v.dashboard()
	if err == nil {
		err = v.d.Show(img, Name(fmt.Sprintf("%s-step-%d", v.Name, v.run.StepCount())))
	}
	if err != nil {
		v.err = fmt.Errorf("notebook: live view: %w", err)
	}
}

// SnapshotDir is the subdirectory of a run directory where Snapshot keeps
// its pictures.
const SnapshotDir = "snapshots"

// Snapshot saves a picture of the run's current samples (LiveSamples of
// them, from the noise of LiveSeed, as a grid; 2-D points as a scatter
// plot) in the run directory as snapshots/step-NNNNNNN.png, unless that step
// has one already. Live views take one at the start and at the end of every
// StepTo; Snapshots turns them into the frames of an animation.
func Snapshot(run *rundir.Run) error {
	dir := filepath.Join(run.Dir, SnapshotDir)
	path := filepath.Join(dir, fmt.Sprintf("step-%07d.png", run.StepCount()))
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	im, err := run.Samples(LiveSamples, LiveSeed)
	if err != nil {
		return err
	}
	if runplot.IsPoints(im) {
		if im, err = run.Samples(500, LiveSeed); err != nil {
			return err
		}
	}
	img, err := picture(im, options{w: 4 * vg.Inch, h: 4 * vg.Inch, cols: 8, scale: 1})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return vis.SavePNG(path, img)
}

// Snapshots returns the pictures that Snapshot saved for the run in dir,
// in the order of their steps, each titled "step N": the frames of an
// Animation of the run's training.
func Snapshots(dir string) ([]any, error) {
	files, err := filepath.Glob(filepath.Join(dir, SnapshotDir, "step-*.png"))
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	var frames []any
	for _, f := range files {
		var step int64
		if _, err := fmt.Sscanf(filepath.Base(f), "step-%d.png", &step); err != nil {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		frames = append(frames, Titled(fmt.Sprintf("step %d", step), img))
	}
	if len(frames) == 0 {
		return nil, fmt.Errorf("no snapshots in %s: train the run with a live view first", filepath.Join(dir, SnapshotDir))
	}
	return frames, nil
}
