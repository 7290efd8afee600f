package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"time"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/ode"
	"github.com/orwcfm/orwcfm/pkg/orw/optim"
	"github.com/orwcfm/orwcfm/pkg/orw/train"
	"github.com/orwcfm/orwcfm/pkg/tasks"
	"github.com/orwcfm/orwcfm/pkg/vis"
)

// pretrainToy trains the 2-D toy's base model: an MLP flow (3 hidden layers of
// --width, default 128; 16-dim time embedding) on 50,000 samples of the toy
// mixture with exact minibatch OT-CFM, Adam 2e-3 with a cosine decay over the
// run, and the midpoint sampler with 16 steps; samples are not clipped.
func pretrainToy(ctx context.Context, given map[string]bool, f *pretrainFlags, args []string) error {
	out, steps, batch, lr, width, seed := *f.out, *f.steps, *f.batch, *f.lr, *f.width, *f.seed
	if *f.model != "mlp" && given["model"] {
		return fmt.Errorf("the toy2d task trains an mlp flow, not %q: drop --model or use --model mlp", *f.model)
	}
	orDefault(&out, "toy2d-mlp.ckpt")
	state := f.stateDir(out)
	orDefault(&steps, 2500)
	orDefault(&batch, 256)
	orDefault(&lr, 2e-3)
	if !given["width"] {
		width = 128
	}
	sampler := orw.SamplerConfig{Solver: ode.Midpoint, Steps: 16}
	if given["solver"] {
		sampler.Solver = f.solver
	}
	if given["sample-steps"] {
		sampler.Steps = *f.sampleSteps
	}
	if err := sampler.Validate(); err != nil {
		return err
	}
	be, err := backend()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(state, 0o755); err != nil {
		return err
	}
	t0 := time.Now()
	cfg := nets.Config{Kind: "mlp", Shape: []int{2}, Width: width, Depth: 3, TimeDim: 16}
	oc := optim.Config{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, ClipNorm: 1, DecaySteps: steps}
	g, err := tasks.PretrainPixel(ctx, be, tasks.ToyDataset(50000, seed), cfg, steps, batch, oc, orw.CouplingOT, sampler, seed, state, train.NewTextBar("toy flow"))
	if err != nil {
		return err
	}
	g.Unbounded = true
	return savePretrained(g, out, "toy2d", "toy mlp flow", args, t0)
}

// toyExact is the exact tilted density of a point task at a step, with a title.
func toyExact(task *tasks.Task, opts tasks.Options, cfg orw.Config, step int64) ([][]float64, string, error) {
	n := tasks.ToyRefreshes(step, cfg.RefreshEvery)
	d, err := tasks.ExactToyDensity(task, opts, cfg.Tau*float64(n))
	if err != nil {
		return nil, "", err
	}
	title := fmt.Sprintf("step %d: samples over exp(τNr)·p_ref/Z, τ=%g, N=%d", step, cfg.Tau, n)
	if cfg.Alpha > 0 || cfg.Method != orw.MethodORW {
		title += " (exact for orw, α=0)"
	}
	return d, title, nil
}

// toySamples are the points drawn for pictures.
const toySamples = 400

// toyWindow is the part of tasks.ToyGrid shown in pictures: rows and columns
// 20..180, x in [−4, 4], y in [−3, 5].
const toyWindowLo, toyWindowHi = 20, 180

// scatter writes samples of the trainee over the exact tilted density.
func (v *runViews) scatter(path string) error {
	step := v.run.StepCount()
	d, title, err := v.exact(step)
	if err != nil {
		return err
	}
	imgs, err := v.run.Samples(toySamples, gridSeed)
	if err != nil {
		return err
	}
	b, img, err := scatterPlot(imgs, d, title)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	v.written = append(v.written, path)
	v.frames = append(v.frames, img)
	return nil
}

// toyBeforeAfter draws the scatters of beforeAfter for a 2-D point task:
// the base model's samples over p_ref (N = 0 refreshes), and the trainee's
// at step over the exact tilted density after N refreshes.
func (v *runViews) toyBeforeAfter(step int64, cfg orw.Config, afterTitle string) (before, after image.Image, err error) {
	draw := func(at int64, samples func(int, uint64) (*orw.Images, error), title string) (image.Image, error) {
		d, _, err := v.exact(at)
		if err != nil {
			return nil, err
		}
		imgs, err := samples(toySamples, gridSeed)
		if err != nil {
			return nil, err
		}
		_, img, err := scatterPlot(imgs, d, title)
		return img, err
	}
	if before, err = draw(0, v.run.BaseSamples, "before: the base model's samples\nover p_ref (N = 0)"); err != nil {
		return nil, nil, err
	}
	n := tasks.ToyRefreshes(step, cfg.RefreshEvery)
	afterTitle += fmt.Sprintf(", samples over\nexp(τNr)·p_ref/Z after N = %d refreshes", n)
	if cfg.Alpha > 0 || cfg.Method != orw.MethodORW {
		afterTitle += " (exact for orw, α = 0)"
	}
	after, err = draw(step, v.run.Samples, afterTitle)
	return before, after, err
}

// scatterPlot draws points over a density of tasks.ToyGrid (the part
// toyWindowLo..toyWindowHi of it) with contours, titled: the PNG file's
// bytes and its image.
func scatterPlot(imgs *orw.Images, d [][]float64, title string) ([]byte, image.Image, error) {
	pts := make([][2]float64, imgs.N)
	for i := range pts {
		pts[i] = [2]float64{float64(imgs.Pix[2*i]), float64(imgs.Pix[2*i+1])}
	}
	g := tasks.ToyGrid
	var crop [][]float64
	for _, row := range d[toyWindowLo : toyWindowHi+1] {
		crop = append(crop, row[toyWindowLo:toyWindowHi+1])
	}
	d = crop
	xmin, ymin := g.At(toyWindowLo, toyWindowLo)
	xmax, ymax := g.At(toyWindowHi, toyWindowHi)
	top := 0.0
	for _, row := range d {
		for _, x := range row {
			top = max(top, x)
		}
	}
	// Contours at 5%, 25% and 60% of the peak keep the density visible under the dots.
	levels := []float64{0.05 * top, 0.25 * top, 0.6 * top}
	p, err := vis.Density(d, xmin, xmax, ymin, ymax, vis.DensityOptions{Points: pts, Levels: levels})
	if err != nil {
		return nil, nil, err
	}
	p.Title.Text = title
	b, err := vis.PlotPNG(p, 5*inch, 4.5*inch)
	if err != nil {
		return nil, nil, err
	}
	img, err := png.Decode(bytes.NewReader(b))
	return b, img, err
}

// toyComparison compares 4,000 samples of the trainee with the exact density.
func (v *runViews) toyComparison(step int64) (*tasks.ToyComparison, error) {
	d, _, err := v.exact(step)
	if err != nil {
		return nil, err
	}
	imgs, err := v.run.Samples(4000, gridSeed+1)
	if err != nil {
		return nil, err
	}
	c := tasks.CompareToy(imgs.Pix, d, tasks.ToyGrid, tasks.ToyMixture)
	return &c, nil
}
