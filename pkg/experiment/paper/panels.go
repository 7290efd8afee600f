package paper

import (
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/orwcfm/orwcfm/pkg/experiment"
	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
	"github.com/orwcfm/orwcfm/pkg/tasks"
	"github.com/orwcfm/orwcfm/pkg/vis"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

// Panel is a figure panel an experiment writes (NAME/<panel>.png).
type Panel string

// The panels.
const (
	// PanelReward: the evaluation reward over training, mean ± std over seeds, per setting.
	PanelReward Panel = "reward"
	// PanelEntropy: the class entropy over training.
	PanelEntropy Panel = "entropy"
	// PanelW2: the W2 estimate over training.
	PanelW2 Panel = "w2"
	// PanelClasses: the final class histogram of each setting.
	PanelClasses Panel = "classes"
	// PanelAlpha: the final reward and W2 against α.
	PanelAlpha Panel = "alpha"
	// PanelFrontier: final reward and class entropy of each α > 0 beside the
	// α = 0 run's path during training (the α ablation).
	PanelFrontier Panel = "frontier"
	// PanelPareto: final reward against the W2 estimate, with the Pareto front.
	PanelPareto Panel = "pareto"
	// PanelGrids: samples of each setting's final model (seed 1), one row each.
	PanelGrids Panel = "samples"
	// PanelToyShares: the toy's component shares against the exact ones over N.
	PanelToyShares Panel = "shares"
	// PanelTradeoff: every family's frontier of evaluator reward against
	// coverage and recall, the same against the task's own reward, and the
	// sample grids at each family's point nearest evaluator reward 0.95
	// (the frontier experiment; several files, tradeoff-*.png).
	PanelTradeoff Panel = "tradeoff"
)

// Panel sizes, in inches at vis.PNGDPI.
const (
	panelW = 7 * vg.Inch
	panelH = 4.2 * vg.Inch
)

// writePanels draws the experiment's panels into dir.
func writePanels(e *Experiment, settings []Setting, runs []experiment.Run, hs []*runplot.History, res *Results, dir string) error {
	var live []*runplot.History
	for _, h := range hs {
		if h != nil {
			live = append(live, h)
		}
	}
	save := func(name, title string, p *plot.Plot, err error) error {
		if err != nil {
			return fmt.Errorf("%s panel %s: %w", e.Name, name, err)
		}
		if title != "" {
			p.Title.Text = title
		}
		return vis.SavePlot(p, filepath.Join(dir, name+".png"), panelW, panelH)
	}
	for _, panel := range e.Panels {
		var p *plot.Plot
		var err error
		name, title := string(panel), ""
		switch panel {
		case PanelReward:
			p, err = runplot.Curves(runplot.Reward, live...)
			title = e.Name + ": reward"
		case PanelEntropy:
			p, err = runplot.Curves(runplot.ClassEntropy, live...)
			title = e.Name + ": diversity"
		case PanelW2:
			p, err = runplot.Curves(runplot.W2, live...)
			title = e.Name + ": W2 estimate"
		case PanelClasses:
			p, err = runplot.FinalClasses(live...)
			title = e.Name + ": classes at the end"
		case PanelAlpha:
			p, err = runplot.AlphaSweep(runplot.W2, live...)
			if err = save("alpha-w2", "final W2 estimate against α", p, err); err != nil {
				return err
			}
			p, err = runplot.AlphaSweep(runplot.Reward, live...)
			name, title = "alpha-reward", "final reward against α"
		case PanelPareto:
			p, err = runplot.Pareto(live...)
			title = e.Name + ": reward against W2"
		case PanelFrontier:
			p, err = frontierPlot(res, live)
		case PanelToyShares:
			p, err = toySharesPlot(res)
		case PanelTradeoff:
			if err := tradeoffPanels(res, settings, runs, dir); err != nil {
				return fmt.Errorf("%s panel %s: %w", e.Name, name, err)
			}
			continue
		case PanelGrids:
			if err := sampleGrids(settings, runs, filepath.Join(dir, name+".png")); err != nil {
				return err
			}
			continue
		}
		if err := save(name, title, p, err); err != nil {
			return err
		}
	}
	return nil
}

// frontierPlot draws the α > 0 settings' final reward and class entropy beside
// the α = 0 runs' mean path during training.
func frontierPlot(res *Results, hs []*runplot.History) (*plot.Plot, error) {
	var path vis.Series
	if len(res.Frontier) > 0 {
		// The α = 0 setting's label is the first one of the α ablation.
		var zero []*runplot.History
		for _, h := range hs {
			if h.Config.Alpha == 0 {
				zero = append(zero, h)
			}
		}
		at := map[int64][][2]float64{}
		var order []int64
		for _, h := range zero {
			for _, ev := range h.Evals {
				if _, ok := at[ev.Step]; !ok {
					order = append(order, ev.Step)
				}
				at[ev.Step] = append(at[ev.Step], [2]float64{ev.Reward, ev.ClassEntropy})
			}
		}
		path.Name = "α = 0 during training (mean over seeds)"
		for _, s := range order {
			if len(at[s]) != len(zero) {
				continue
			}
			var r, e []float64
			for _, p := range at[s] {
				r, e = append(r, p[0]), append(e, p[1])
			}
			path.X, path.Y = append(path.X, mean(r)), append(path.Y, mean(e))
		}
	}
	var x, y []float64
	var labels []string
	for _, f := range res.Frontier {
		x, y = append(x, f.Reward), append(y, f.ClassEntropy)
		labels = append(labels, fmt.Sprintf("α = %g", f.Alpha))
	}
	return vis.Frontier("reward against diversity: W2 or stopping early?", "final reward (mean over seeds)", "class entropy (normalised)", path, x, y, labels)
}

// toySharesPlot draws each component's share of the samples (mean over
// seeds) against its share under the exact tilted density, for N = 1..4
// without W2: on the diagonal where the theorem holds.
func toySharesPlot(res *Results) (*plot.Plot, error) {
	var x, y []float64
	var labels []string
	// Points that (nearly) coincide share one label, "N=1 c0, N=2 c2",
	// instead of two printed over each other.
	type mark struct {
		i     int
		names []string
	}
	var marks []*mark
	for _, s := range res.Settings {
		if s.Alpha != 0 || len(s.Runs) == 0 || s.Runs[0].Toy == nil {
			continue
		}
		got, exact := meanShares(s)
		for k := range got {
			x, y = append(x, exact[k]), append(y, got[k])
			labels = append(labels, "")
			if max(exact[k], got[k]) <= 0.08 { // the shares near 0 would only crowd each other
				continue
			}
			name := fmt.Sprintf("N=%d c%d", s.Runs[0].Toy.Refreshes, k)
			i := len(x) - 1
			var near *mark
			for _, m := range marks {
				if math.Hypot(x[m.i]-x[i], y[m.i]-y[i]) < 0.04 {
					near = m
				}
			}
			if near != nil {
				near.names = append(near.names, name)
				continue
			}
			marks = append(marks, &mark{i: i, names: []string{name}})
		}
	}
	for _, m := range marks {
		labels[m.i] = strings.Join(m.names, ", ")
	}
	if len(x) == 0 {
		return nil, fmt.Errorf("no toy comparisons")
	}
	diag := vis.Series{Name: "samples = exact (the theorem)", X: []float64{0, 1}, Y: []float64{0, 1}}
	p, err := vis.Frontier("component shares after N refreshes (α = 0)", "share under exp(τNr)·p_ref/Z", "share of the samples (mean over seeds)", diag, x, y, labels)
	if err == nil {
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
		// Above the diagonal on the left the plot is empty: the legend goes there.
		p.Legend.Top, p.Legend.Left, p.Legend.XOffs, p.Legend.YOffs = true, true, vg.Points(8), -vg.Points(4)
	}
	return p, err
}

// sampleGrids draws 32 samples of each image setting's final model (its seed 1
// run, fixed noise), a titled row per setting, into path.
func sampleGrids(settings []Setting, runs []experiment.Run, path string) error {
	var rows []image.Image
	for _, st := range settings {
		if isPoints(st.Task) {
			continue
		}
		dir := seed1Dir(st, runs)
		if dir == "" {
			continue
		}
		g, err := tasks.RunGenerator(dir)
		if err != nil {
			return err
		}
		im, err := sampleFixed(g, 32)
		if err != nil {
			return err
		}
		grid, err := runplot.SampleGrid(im, 32, 16, 2, nil)
		if err != nil {
			return err
		}
		rows = append(rows, vis.Titled(grid, st.Label))
	}
	if len(rows) == 0 {
		return nil
	}
	return vis.SavePNG(path, vis.Grid(rows, 1, vis.GridOptions{Scale: 1, Pad: 4}))
}

// FramesDir is the folder of a run directory that holds a sample grid per
// evaluation (step-NNNNNN.png, 32 samples of the trainee from the noise of
// sampleSeed), written by the runs of orw reproduce: the frontier shows a
// family at its point nearest a reward from them.
const FramesDir = "frames"

// writeFrame writes the sample grid of run's trainee at step into dir/frames.
func writeFrame(run *rundir.Run, dir string, step int64) error {
	im, err := run.Samples(32, sampleSeed)
	if err != nil {
		return err
	}
	grid, err := runplot.SampleGrid(im, 32, 16, 2, nil)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, FramesDir), 0o755); err != nil {
		return err
	}
	return vis.SavePNG(filepath.Join(dir, FramesDir, fmt.Sprintf("step-%06d.png", step)), grid)
}

// seed1Dir is the run directory of the setting's seed 1 among runs ("" when
// it is not there).
func seed1Dir(st Setting, runs []experiment.Run) string {
	name := trialOf(st, 1).Name
	for _, r := range runs {
		if r.Trial.Name == name && r.Config.Seed == 1 {
			return r.Dir
		}
	}
	return ""
}

// sampleSeed fixes the noise of the sample grids, so that the settings' rows
// show the same noise through different models.
const sampleSeed = 20250211

// sampleFixed draws n samples of g with the noise of sampleSeed.
func sampleFixed(g *orw.Generator, n int) (*orw.Images, error) {
	be, err := backends.Default()
	if err != nil {
		return nil, err
	}
	noise := orw.SampleNoise(orw.NewRNG(sampleSeed).Rand, n*g.SampleSize())
	var labels []int32
	if k := g.NumClasses(); k > 0 {
		labels = make([]int32, n)
		for i := range labels {
			labels[i] = int32(i % k)
		}
	}
	_, im, err := g.Sample(be, g.Sampler, nil, noise, n, labels)
	return im, err
}
