package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/tasks"
	"github.com/orwcfm/orwcfm/pkg/vis"
)

func init() {
	register(command{name: "sample", summary: "draw samples from a base model or a run (PNG grid or .idx)", run: runSample})
}

func runSample(_ context.Context, args []string) error {
	fs := newFlags("sample", "draw samples from a base model (--task, --model) or from a fine-tuning run (--run)")
	task := fs.String("task", "mnist", "data set of the base model: mnist, fashion, cifar10, toy2d")
	model := fs.String("model", "latent", "latent, latent-cond, unet, mlp, or a generator checkpoint file (class-conditional models draw sample i with label i mod K)")
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
	var g *orw.Generator
	if *runDir != "" {
		g, err = tasks.RunGenerator(*runDir)
	} else {
		name := *task
		if name == "toy2d" {
			if *model == "latent" {
				*model = "mlp"
			}
		} else {
			name, err = dataName(*task)
		}
		if err == nil {
			g, err = tasks.ShippedGenerator(name, *model)
		}
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
