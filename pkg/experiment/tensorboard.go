package experiment

import (
	"errors"
	"fmt"
	"image"
	"math"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
	"github.com/orwcfm/orwcfm/pkg/orw/train"
	"github.com/orwcfm/orwcfm/pkg/tbevents"
	"github.com/orwcfm/orwcfm/pkg/vis"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

// TensorBoard event files of a run (Options.TensorBoard): each session that
// trains a run writes one file into the run directory, so that
// `tensorboard --logdir runs/` shows every run under its directory's path.
//
//	train/...  every step: reward_mean, reward_std, loss, fm, weighted_fm,
//	           w2, ess, weight_max_mean, grad_norm, lr
//	eval/...   every evaluation: reward, reward_std, w2_velocity,
//	           empirical_w2, mean_pairwise, frechet (tasks with a
//	           classifier), class_entropy and
//	           class/NAME (the fraction of each class) for tasks with a judge
//	evaluator/ every evaluation of a task with an independent evaluator:
//	           reward (the reward by the evaluator's classifier) and
//	           hacking_gap (eval/reward minus it), when the reward is a
//	           classifier's
//	coverage/  the same: precision, recall, density, coverage (against the
//	           real test images, in the evaluator's features) and vendi
//	image/     the same: brightness, dark_fraction, edge_density,
//	           pixel_entropy of the evaluation samples
//	samples    every evaluation: a grid of TensorBoardSamples samples drawn
//	           with fixed noise (a scatter of points for 2-D tasks)
//
// The first session of a run also writes what the run recorded before its
// hooks ran (the evaluation at step 0, or the history of a run trained
// without event files). A later session (a resumed run) starts its file
// with a SessionLog START at its first new step. The steps that an
// interrupted process wrote after its last checkpoint are then written
// again; TensorBoard keeps the new ones (its loaders drop a curve's points
// from a step that comes again onward, or, in the older loader, from a
// SessionLog START's step onward).

// TensorBoardSamples is the number of images of the sample grids of the
// event files (points of 2-D tasks: TensorBoardPoints).
const (
	TensorBoardSamples = 64
	TensorBoardPoints  = 512
)

// tensorBoardSeed fixes the noise of the sample grids, so that the images
// of successive evaluations show how the model changes.
const tensorBoardSeed = 20250211

// tbRun writes the event file of one open run.
type tbRun struct {
	run     *rundir.Run
	w       *tbevents.Writer
	resumed bool  // the directory had event files already
	first   int64 // the first step this session trains
	classes []string
	// scatter bounds of 2-D tasks, grown to hold every picture so far.
	bounds *[4]float64
	// err is the first write error; later writes return it.
	err error
}

// hookTensorBoard names the hooks of the event files on a run's loop.
const hookTensorBoard = "tensorboard"

// attachTensorBoard registers on run's loop the hooks that write its event
// file: the scalars of each step, those and the sample grid of each
// evaluation, and the file's closing at the end (all train.PriorityDisplay).
// A run whose directory has no event file yet first gets what it recorded
// before (backfill).
func attachTensorBoard(run *rundir.Run) error {
	prev, err := tbevents.Files(run.Dir)
	if err != nil {
		return err
	}
	tb := &tbRun{run: run, resumed: len(prev) > 0, first: run.StepCount() + 1, classes: run.ClassNames()}
	if !tb.resumed {
		if err := tb.backfill(); err != nil {
			return errors.Join(err, tb.close())
		}
	}
	l := run.Loop()
	l.OnStep(hookTensorBoard, 1, train.PriorityDisplay, func(_ *train.Loop[orw.StepRecord], rec orw.StepRecord) error {
		return tb.step(rec)
	})
	l.OnEvent(hookTensorBoard, train.PriorityDisplay, func(_ *train.Loop[orw.StepRecord], ev any) error {
		if e, ok := ev.(rundir.Eval); ok {
			return tb.keep(tb.eval(e.Record))
		}
		return nil
	})
	l.OnEnd(hookTensorBoard, train.PriorityDisplay, func(*train.Loop[orw.StepRecord], error) error {
		l.Remove(hookTensorBoard)
		return tb.close()
	})
	return nil
}

// keep records err as the writer's first error and returns it.
func (tb *tbRun) keep(err error) error {
	if err != nil && tb.err == nil {
		tb.err = err
	}
	return err
}

// writer returns the run's event file, created on first use.
func (tb *tbRun) writer() (*tbevents.Writer, error) {
	if tb.err != nil {
		return nil, tb.err
	}
	if tb.w != nil {
		return tb.w, nil
	}
	w, err := tbevents.Create(tb.run.Dir)
	if err != nil {
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	tb.w = w
	if tb.resumed {
		if err := w.SessionStart(tb.first); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// close closes the event file.
func (tb *tbRun) close() error {
	var err error
	if tb.w != nil {
		err = errors.Join(err, tb.w.Close())
		tb.w = nil
	}
	return err
}

// backfill writes what the run recorded before the hooks ran, and the
// sample grid of its current model when its last evaluation is at its
// current step.
func (tb *tbRun) backfill() error {
	steps, evals, err := tb.run.History()
	if err != nil {
		return err
	}
	for _, s := range steps {
		if err := tb.step(s); err != nil {
			return err
		}
	}
	for i, e := range evals {
		if i < len(evals)-1 {
			if err := tb.scalars(e); err != nil {
				return err
			}
			continue
		}
		if e.Step == tb.run.StepCount() {
			return tb.eval(e)
		}
		return tb.scalars(e)
	}
	return nil
}

func (tb *tbRun) step(r orw.StepRecord) error {
	w, err := tb.writer()
	if err != nil {
		return err
	}
	return w.Scalars(r.Step,
		tbevents.Scalar{Tag: "train/reward_mean", Value: r.RewardMean},
		tbevents.Scalar{Tag: "train/reward_std", Value: r.RewardStd},
		tbevents.Scalar{Tag: "train/loss", Value: r.Loss},
		tbevents.Scalar{Tag: "train/fm", Value: r.FM},
		tbevents.Scalar{Tag: "train/weighted_fm", Value: r.WeightedFM},
		tbevents.Scalar{Tag: "train/w2", Value: r.W2},
		tbevents.Scalar{Tag: "train/ess", Value: r.ESS},
		tbevents.Scalar{Tag: "train/weight_max_mean", Value: r.WeightMaxMean},
		tbevents.Scalar{Tag: "train/grad_norm", Value: r.GradNorm},
		tbevents.Scalar{Tag: "train/lr", Value: r.LR},
	)
}

// scalars writes an evaluation's scalars.
func (tb *tbRun) scalars(e orw.EvalRecord) error {
	w, err := tb.writer()
	if err != nil {
		return err
	}
	vals := []tbevents.Scalar{
		{Tag: "eval/reward", Value: e.Reward},
		{Tag: "eval/reward_std", Value: e.RewardStd},
		{Tag: "eval/w2_velocity", Value: e.W2Velocity},
		{Tag: "eval/empirical_w2", Value: e.EmpiricalW2},
		{Tag: "eval/mean_pairwise", Value: e.MeanPairwise},
	}
	if e.Frechet != 0 {
		vals = append(vals, tbevents.Scalar{Tag: "eval/frechet", Value: e.Frechet})
	}
	if e.ClassCounts != nil {
		vals = append(vals, tbevents.Scalar{Tag: "eval/class_entropy", Value: e.ClassEntropy})
		total := 0
		for _, c := range e.ClassCounts {
			total += c
		}
		for i, c := range e.ClassCounts {
			name := fmt.Sprint(i)
			if i < len(tb.classes) {
				name = tb.classes[i]
			}
			vals = append(vals, tbevents.Scalar{Tag: "eval/class/" + name, Value: float64(c) / float64(max(total, 1))})
		}
	}
	vals = append(vals, evaluatorScalars(e.Evaluator)...)
	return w.Scalars(e.Step, vals...)
}

// evaluatorScalars are the scalars of an evaluator's record (none for nil).
func evaluatorScalars(ev *orw.EvaluatorRecord) []tbevents.Scalar {
	if ev == nil {
		return nil
	}
	var vals []tbevents.Scalar
	if ev.Reward != nil {
		vals = append(vals, tbevents.Scalar{Tag: "evaluator/reward", Value: *ev.Reward})
	}
	if ev.HackingGap != nil {
		vals = append(vals, tbevents.Scalar{Tag: "evaluator/hacking_gap", Value: *ev.HackingGap})
	}
	return append(vals,
		tbevents.Scalar{Tag: "coverage/precision", Value: ev.Precision},
		tbevents.Scalar{Tag: "coverage/recall", Value: ev.Recall},
		tbevents.Scalar{Tag: "coverage/density", Value: ev.Density},
		tbevents.Scalar{Tag: "coverage/coverage", Value: ev.Coverage},
		tbevents.Scalar{Tag: "coverage/vendi", Value: ev.Vendi},
		tbevents.Scalar{Tag: "image/brightness", Value: ev.Image.Brightness},
		tbevents.Scalar{Tag: "image/dark_fraction", Value: ev.Image.DarkFraction},
		tbevents.Scalar{Tag: "image/edge_density", Value: ev.Image.EdgeDensity},
		tbevents.Scalar{Tag: "image/pixel_entropy", Value: ev.Image.PixelEntropy},
	)
}

// eval writes an evaluation's scalars and the sample grid of the model
// now. A grid that cannot be drawn (a diverged model has no finite point)
// is left out; only a failed write is an error.
func (tb *tbRun) eval(e orw.EvalRecord) error {
	if err := tb.scalars(e); err != nil {
		return err
	}
	img, err := tb.samples()
	if err != nil {
		return nil
	}
	return tb.w.Image(e.Step, "samples", img)
}

// samples draws the sample grid of the run's model now: images with fixed
// noise (one column per label for a class-conditional model), or a scatter
// of points for 2-D tasks on axes that grow to hold every picture so far.
func (tb *tbRun) samples() (image.Image, error) {
	n, cols := TensorBoardSamples, 8
	if k := tb.run.Generator().NumClasses(); k > 0 {
		n, cols = k*((n+k-1)/k), k
	}
	if g := tb.run.Generator(); g.Latent() || g.SampleSize() != 2 {
		imgs, err := tb.run.Samples(n, tensorBoardSeed)
		if err != nil {
			return nil, err
		}
		return runplot.BatchGrid(imgs, cols, vis.GridOptions{})
	}
	imgs, err := tb.run.Samples(TensorBoardPoints, tensorBoardSeed)
	if err != nil {
		return nil, err
	}
	pts := runplot.Points(imgs)
	p, err := vis.Scatter(pts, nil)
	if err != nil {
		return nil, err
	}
	// The axes only grow, so that successive pictures share them while
	// the samples stay in the range they had.
	b := [4]float64{math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)}
	if tb.bounds != nil {
		b = *tb.bounds
	}
	for _, q := range pts {
		if !math.IsNaN(q[0]) && !math.IsNaN(q[1]) && !math.IsInf(q[0], 0) && !math.IsInf(q[1], 0) {
			b[0], b[1] = min(b[0], math.Floor(q[0]-0.5)), max(b[1], math.Ceil(q[0]+0.5))
			b[2], b[3] = min(b[2], math.Floor(q[1]-0.5)), max(b[3], math.Ceil(q[1]+0.5))
		}
	}
	tb.bounds = &b
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = tb.bounds[0], tb.bounds[1], tb.bounds[2], tb.bounds[3]
	return vis.PlotImage(p, 4*72, 4*72)
}
