package main

import (
	"context"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/compute"
	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/tasks"
	"github.com/orwcfm/orwcfm/pkg/vis"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

func init() {
	register(command{name: "sample", summary: "draw samples from a base model or a run (PNG grid or .idx)", run: runSample})
}

func runSample(_ context.Context, args []string) error {
	fs := newFlags("sample", "draw samples from a base model (--task, --model) or from a fine-tuning run (--run)")
	task := fs.String("task", "mnist", "data set of the base model: mnist, fashion, cifar10, toy2d")
	model := fs.String("model", "latent", "latent, latent-cond, unet, mlp, or a generator checkpoint file (class-conditional models draw sample i with label i mod K); "+
		"several, comma-separated (unet,FILE.ckpt), draw titled grids side by side from the same noise (.png only)")
	runDir := fs.String("run", "", "sample from this fine-tuning run's latest checkpoint instead of a base model")
	n := fs.Int("n", 64, "number of samples")
	out := fs.String("out", "samples.png", "output: .png (grid) or .idx (MNIST idx images, unsigned bytes)")
	cols := fs.Int("cols", 0, "grid columns (default: square)")
	seed := fs.Uint64("seed", 1, "random seed of the noise")
	solver := fs.String("solver", "", "sampler: euler, midpoint, rk4 (default: the model's)")
	sampleSteps := fs.Int("sample-steps", 0, "sampler steps (default: the model's)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *n <= 0 || *n > 100000 {
		return fmt.Errorf("-n must be in 1..100000, got %d", *n)
	}
	be, err := backend()
	if err != nil {
		return err
	}
	if models := strings.Split(*model, ","); *runDir == "" && len(models) > 1 {
		return sampleSideBySide(be, *task, models, *n, *cols, *seed, *solver, *sampleSteps, *out)
	}
	var g *orw.Generator
	if *runDir != "" {
		g, err = tasks.RunGenerator(*runDir)
	} else {
		g, err = sampleBaseModel(*task, model)
	}
	if err != nil {
		return err
	}
	cfg, err := generatorSampler(g, *solver, *sampleSteps)
	if err != nil {
		return err
	}
	imgs, err := tasks.SampleImages(be, g, cfg, *n, *seed)
	if err != nil {
		return err
	}
	if imgs.H == 1 && imgs.W == 1 && imgs.C == 2 {
		// 2-D points (the toy): a scatter plot.
		if strings.ToLower(filepath.Ext(*out)) != ".png" {
			return fmt.Errorf("cannot write %s: 2-D points are drawn as a .png scatter plot", *out)
		}
		pts := make([][2]float64, imgs.N)
		for i := range pts {
			pts[i] = [2]float64{float64(imgs.Pix[2*i]), float64(imgs.Pix[2*i+1])}
		}
		p, err := vis.Scatter(pts, nil)
		if err != nil {
			return err
		}
		if err := vis.SavePlot(p, *out, 5*inch, 4.5*inch); err != nil {
			return err
		}
	} else if err := writeImages(*out, imgs, *cols, nil); err != nil {
		return err
	}
	fmt.Printf("sample: wrote %d images to %s\n", imgs.N, *out)
	return nil
}

// sampleBaseModel loads the base model of the data set task: a kind or a
// checkpoint file (toy2d's default kind is mlp; *model says which was taken).
func sampleBaseModel(task string, model *string) (*orw.Generator, error) {
	if task == "toy2d" {
		if *model == "latent" {
			*model = "mlp"
		}
		return tasks.ShippedGenerator(task, *model)
	}
	name, err := dataName(task)
	if err != nil {
		return nil, err
	}
	return tasks.ShippedGenerator(name, *model)
}

// sampleSideBySide writes to out the grids of n samples of each model, drawn
// from the noise of seed (one noise for models of one kind), each titled
// with the model and the pretraining steps its checkpoint records, side by
// side.
func sampleSideBySide(be compute.Backend, task string, models []string, n, cols int, seed uint64, solver string, steps int, out string) error {
	if strings.ToLower(filepath.Ext(out)) != ".png" {
		return fmt.Errorf("cannot write %s: several models are drawn side by side into a .png", out)
	}
	var grids []image.Image
	for _, m := range models {
		g, err := sampleBaseModel(task, &m)
		if err != nil {
			return err
		}
		cfg, err := generatorSampler(g, solver, steps)
		if err != nil {
			return err
		}
		imgs, err := tasks.SampleImages(be, g, cfg, n, seed)
		if err != nil {
			return err
		}
		if imgs.H == 1 && imgs.W == 1 {
			return fmt.Errorf("model %s draws 2-D points: sample one model at a time", m)
		}
		grid, err := runplot.BatchGrid(imgs, cols, vis.GridOptions{})
		if err != nil {
			return err
		}
		grids = append(grids, vis.Titled(grid, modelTitle(m, g)))
	}
	if dir := filepath.Dir(out); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if err := vis.SavePNG(out, vis.Grid(grids, len(grids), vis.GridOptions{Scale: 1, Pad: 12})); err != nil {
		return err
	}
	fmt.Printf("sample: wrote %d images of each of %d models side by side to %s\n", n, len(models), out)
	return nil
}

// modelTitle names a model in a picture: its kind or file name, and the
// pretraining steps of its flow when the checkpoint records them.
func modelTitle(ref string, g *orw.Generator) string {
	title := strings.TrimSuffix(filepath.Base(ref), ".ckpt")
	var steps int64
	switch v := g.Meta["flow_steps"].(type) {
	case float64: // read from a checkpoint's JSON
		steps = int64(v)
	case int64: // set by this process's pretraining
		steps = v
	}
	if steps > 0 {
		title += fmt.Sprintf(", %s steps", withCommas(steps))
	}
	return title
}
