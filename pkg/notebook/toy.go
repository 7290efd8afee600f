package notebook

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/plot"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/tasks"
	"github.com/orwcfm/orwcfm/pkg/vis"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

// The 2-D toy (task toy2d): its base model's density p_ref is known in
// closed form, so the density that ORW without regularisation (α = 0) and
// with a perfect learner reaches after N refreshes of the sampling policy,
//
//	q_N(x) = exp(τ·N·r(x))·p_ref(x) / Z,
//
// can be computed on a lattice (tasks.ExactToyDensity) and compared with the
// samples of a trained model.

// toyWindow is the part of tasks.ToyGrid that pictures show: rows and
// columns 20..180, x in [−4, 4] and y in [−3, 5].
const toyWindowLo, toyWindowHi = 20, 180

// ToyPicture plots a density on tasks.ToyGrid (as tasks.ExactToyDensity
// makes it) as a heat map with contours at 5%, 25% and 60% of its peak, the
// points over it (none when nil), and the title.
func ToyPicture(density [][]float64, points [][2]float64, title string) (*plot.Plot, error) {
	g := tasks.ToyGrid
	if len(density) != g.Ny || len(density[0]) != g.Nx {
		return nil, fmt.Errorf("notebook: ToyPicture: density is %dx%d, want tasks.ToyGrid's %dx%d", len(density), len(density[0]), g.Ny, g.Nx)
	}
	var crop [][]float64
	top := 0.0
	for _, row := range density[toyWindowLo : toyWindowHi+1] {
		r := row[toyWindowLo : toyWindowHi+1]
		crop = append(crop, r)
		for _, v := range r {
			top = math.Max(top, v)
		}
	}
	xmin, ymin := g.At(toyWindowLo, toyWindowLo)
	xmax, ymax := g.At(toyWindowHi, toyWindowHi)
	p, err := vis.Density(crop, xmin, xmax, ymin, ymax, vis.DensityOptions{Points: points, Levels: []float64{0.05 * top, 0.25 * top, 0.6 * top}})
	if err != nil {
		return nil, err
	}
	p.Title.Text = title
	return p, nil
}

// ExactTilt is the exact density q_N = exp(β·r)·p_ref/Z, β = τ·N, of a toy
// trial after N refreshes, with its summaries.
type ExactTilt struct {
	// Refreshes is N and Beta is τ·N.
	Refreshes int64
	Beta      float64
	// Density is q_N on tasks.ToyGrid.
	Density [][]float64
	// Reward is E_{q_N}[r] and Spread is the root mean squared distance of
	// q_N's mass to its mean, √E‖x − E x‖²: it tends to zero when q_N
	// collapses onto a point.
	Reward, Spread float64
	// Shares are q_N's masses of the regions nearest to each component of
	// tasks.ToyMixture (tasks.ToyComponentNames).
	Shares []float64
}

// ExactTilts computes the exact tilted density of a toy2d trial (its task's
// reward, or its Options.Reward, and its Config.Tau) after each number of
// refreshes in refreshes. The exact density is what α = 0 reaches with a
// perfect learner; for α > 0 it is the collapse that the W2 term prevents.
func ExactTilts(t Trial, refreshes ...int64) ([]ExactTilt, error) {
	betas := make([]float64, len(refreshes))
	for i, n := range refreshes {
		if n < 0 {
			return nil, fmt.Errorf("notebook: ExactTilts: negative number of refreshes %d", n)
		}
		betas[i] = t.Config.Tau * float64(n)
	}
	return exactTilts(t, betas, refreshes)
}

// ExactTiltAt is the exact tilted density exp(β·r)·p_ref/Z of a toy2d
// trial's reward for any β ≥ 0 (Refreshes is 0 in the result): only β = τ·N
// matters, so this is q_N for every τ and N with τ·N = β.
func ExactTiltAt(t Trial, beta float64) (ExactTilt, error) {
	if !(beta >= 0) || math.IsInf(beta, 0) {
		return ExactTilt{}, fmt.Errorf("notebook: ExactTiltAt: β = %g, want a finite β ≥ 0", beta)
	}
	ex, err := exactTilts(t, []float64{beta}, []int64{0})
	if err != nil {
		return ExactTilt{}, err
	}
	return ex[0], nil
}

// exactTilts computes the tilts of t's reward at betas; refreshes are the
// N recorded with them.
func exactTilts(t Trial, betas []float64, refreshes []int64) ([]ExactTilt, error) {
	task, err := tasks.Lookup(t.TaskName())
	if err != nil {
		return nil, err
	}
	if !task.Points {
		return nil, fmt.Errorf("notebook: ExactTilts: task %s has no exact density (its samples are not 2-D points)", task.Name)
	}
	r, err := tasks.NewReward(task.RewardSpecOf(t.Options), &tasks.RewardEnv{Data: task.Data, ImageShape: []int{1, 1, 2}})
	if err != nil {
		return nil, err
	}
	g := tasks.ToyGrid
	rv, err := r.Reward(g.Points())
	if err != nil {
		return nil, err
	}
	var out []ExactTilt
	for i, n := range refreshes {
		beta := betas[i]
		d, err := tasks.TiltedGrid(tasks.ToyMixture, r, beta, g)
		if err != nil {
			return nil, err
		}
		e := ExactTilt{Refreshes: n, Beta: beta, Density: d, Shares: make([]float64, len(tasks.ToyMixture.Means))}
		da := g.CellArea()
		var mass, mx, my float64
		for i := range g.Ny {
			for j := range g.Nx {
				x, y := g.At(i, j)
				p := d[i][j] * da
				mass += p
				mx += p * x
				my += p * y
				e.Reward += p * rv[i*g.Nx+j]
				e.Shares[tasks.ToyMixture.Nearest(x, y)] += p
			}
		}
		mx, my = mx/mass, my/mass
		e.Reward /= mass
		for k := range e.Shares {
			e.Shares[k] /= mass
		}
		var ss float64
		for i := range g.Ny {
			for j := range g.Nx {
				x, y := g.At(i, j)
				ss += d[i][j] * da * ((x-mx)*(x-mx) + (y-my)*(y-my))
			}
		}
		e.Spread = math.Sqrt(ss / mass)
		out = append(out, e)
	}
	return out, nil
}

// ToyState is the latest model of a toy2d trial next to the exact density
// q_N of its step: N = step / K completed refreshes.
type ToyState struct {
	// Name is the trial's name; Alpha its Config.Alpha.
	Name  string
	Alpha float64
	// Step is the trial's step; Refreshes is N.
	Step, Refreshes int64
	// Points are the model's samples.
	Points [][2]float64
	// Exact is q_N at the trial's step.
	Exact ExactTilt
	// Comparison compares the samples with q_N.
	Comparison tasks.ToyComparison
}

// Plot draws the state's samples over its exact density, titled (on two
// lines, so that pictures side by side keep their titles apart) with the
// step, N and the total-variation distance between the two.
func (s ToyState) Plot() (*plot.Plot, error) {
	title := fmt.Sprintf("%s, step %d\nsamples over q_N, N=%d (TV %.2f)", s.Name, s.Step, s.Refreshes, s.Comparison.TV)
	if s.Alpha > 0 {
		title = fmt.Sprintf("%s, step %d\nsamples over α=0's q_N, N=%d", s.Name, s.Step, s.Refreshes)
	}
	return ToyPicture(s.Exact.Density, s.Points, title)
}

// ToyStates draws n samples (from the noise of LiveSeed) of the latest model
// of every toy2d trial of experiment group and compares them with the exact
// density of the trial's step. Of trials that share a name (seeds) only the
// first is drawn.
func ToyStates(group string, n int, trials ...Trial) ([]ToyState, error) {
	var out []ToyState
	err := eachTrialSample(group, n, trials, func(t Trial, dir string, im *orw.Images) error {
		h, err := runplot.Load(dir, t.Name)
		if err != nil {
			return fmt.Errorf("trial %q: %w", t.Name, err)
		}
		step := lastStep(h)
		if !runplot.IsPoints(im) {
			return fmt.Errorf("trial %q: its samples are not 2-D points (task %s)", t.Name, t.TaskName())
		}
		nref := tasks.ToyRefreshes(step, t.Config.RefreshEvery)
		ex, err := ExactTilts(t, nref)
		if err != nil {
			return fmt.Errorf("trial %q: %w", t.Name, err)
		}
		out = append(out, ToyState{
			Name: t.Name, Alpha: t.Config.Alpha, Step: step, Refreshes: nref,
			Points: runplot.Points(im), Exact: ex[0],
			Comparison: tasks.CompareToy(im.Pix, ex[0].Density, tasks.ToyGrid, tasks.ToyMixture),
		})
		return nil
	})
	if err != nil {
		return out, err
	}
	if len(out) == 0 {
		return nil, errors.New("notebook: ToyStates: no trials")
	}
	return out, nil
}

// lastStep is the last step a history records.
func lastStep(h *runplot.History) int64 {
	var s int64
	if n := len(h.Steps); n > 0 {
		s = h.Steps[n-1].Step
	}
	if e, ok := h.Final(); ok {
		s = max(s, e.Step)
	}
	return s
}

// ToyTheory plots the exact reward E_{q_N}[r] and spread of q_N against the
// number of refreshes N = 0..maxN for a toy2d trial's τ and reward, with the
// evaluation rewards of the trials' histories at N = step / K (a history
// whose Config.RefreshEvery is K) over them: with α = 0 the trained model
// follows the exact curve, one refresh behind at most; with α > 0 it stays
// below it.
func ToyTheory(t Trial, maxN int64, hs ...*runplot.History) (reward, spread *plot.Plot, err error) {
	if maxN < 1 {
		return nil, nil, fmt.Errorf("notebook: ToyTheory: maxN %d < 1", maxN)
	}
	var ns []int64
	for n := range maxN + 1 {
		ns = append(ns, n)
	}
	ex, err := ExactTilts(t, ns...)
	if err != nil {
		return nil, nil, err
	}
	exactR := vis.Series{Name: fmt.Sprintf("exact q_N (α=0, τ=%g)", t.Config.Tau)}
	exactS := vis.Series{Name: exactR.Name}
	for _, e := range ex {
		exactR.X = append(exactR.X, float64(e.Refreshes))
		exactR.Y = append(exactR.Y, e.Reward)
		exactS.X = append(exactS.X, float64(e.Refreshes))
		exactS.Y = append(exactS.Y, e.Spread)
	}
	series := []vis.Series{exactR}
	for _, h := range hs {
		k := h.Config.RefreshEvery
		if k < 1 || len(h.Evals) == 0 {
			continue
		}
		s := vis.Series{Name: h.Name}
		for _, e := range h.Evals {
			s.X = append(s.X, float64(e.Step)/float64(k))
			s.Y = append(s.Y, e.Reward)
		}
		series = append(series, s)
	}
	reward, err = vis.Curves("reward: exact q_N and trained models", "refreshes N = step / K", "mean reward", series...)
	if err != nil {
		return nil, nil, err
	}
	spread, err = vis.Curves("spread of q_N: √E‖x − E x‖²", "refreshes N", "spread", exactS)
	if err != nil {
		return nil, nil, err
	}
	return reward, spread, nil
}
