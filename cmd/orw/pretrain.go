package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/ode"
	"github.com/orwcfm/orwcfm/pkg/orw/optim"
	"github.com/orwcfm/orwcfm/pkg/orw/train"
	"github.com/orwcfm/orwcfm/pkg/tasks"
	"github.com/orwcfm/orwcfm/pkg/tasks/datasets"
)

func init() {
	register(command{name: "pretrain", summary: "pretrain a flow-matching base model (latent, unet or mlp) on a data set", run: runPretrain})
}

func runPretrain(ctx context.Context, args []string) error {
	fs := newFlags("pretrain", "pretrain a base generator with conditional flow matching; resumes an interrupted run")
	task := fs.String("task", "mnist", "data set: mnist, fashion, cifar10, toy2d (the 2-D Gaussian mixture; --model mlp)")
	dataDir := fs.String("data", "", "directory with the data set's files (default: the built-in location)")
	model := fs.String("model", "latent", "latent (autoencoder + MLP flow on its codes), latent-cond (= latent --conditional), unet or mlp (pixel space), unet-paper (the paper's 35.7M-parameter CIFAR-10 U-Net; for a GPU)")
	out := fs.String("out", "", "output generator checkpoint (default: TASK-MODEL.ckpt, TASK-MODEL-cond.ckpt with --conditional)")
	steps := fs.Int64("steps", 0, "flow training steps (default: latent 8000, unet 6000, mlp 6000, unet-paper 400000)")
	aeSteps := fs.Int64("ae-steps", 1500, "autoencoder training steps (latent only)")
	batch := fs.Int("batch", 0, "flow batch size (default: latent 256, unet 64, mlp 128, unet-paper 128)")
	lr := fs.Float64("lr", 0, "flow learning rate (default: latent 1e-3, unet 5e-4, mlp 2e-4, unet-paper 2e-4)")
	var coupling orw.CouplingName
	fs.TextVar(&coupling, "coupling", orw.CouplingOT, "noise-data `coupling`: ot (exact minibatch OT-CFM) or independent (I-CFM); --conditional defaults to independent")
	classes := fs.Bool("conditional", false, "train a class-conditional flow (labels as input)")
	latent := fs.Int("latent", 16, "latent code size (latent only)")
	width := fs.Int("width", 512, "MLP width of the latent flow")
	var solver ode.Solver
	fs.TextVar(&solver, "solver", ode.Euler, "default `solver` of the model's sampler: euler, midpoint, rk4")
	sampleSteps := fs.Int("sample-steps", 20, "default number of sampler steps of the model")
	seed := fs.Uint64("seed", 1, "random seed")
	state := fs.String("state", "", "directory for the resumable training state (default: OUT.state)")
	if err := parse(fs, args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flagT) { given[f.Name] = true })
	if *task == "toy2d" {
		return pretrainToy(ctx, given, *model, *out, *state, *steps, *batch, *lr, *width, *seed, solver, *sampleSteps, args)
	}
	name, err := dataName(*task)
	if err != nil {
		return err
	}
	if *model == "latent-cond" {
		*model, *classes = "latent", true
	}
	if *classes && !given["coupling"] {
		// A minibatch OT pairing ignores labels: it would hand each class the
		// noise that lies near other classes' samples, while sampling draws the
		// noise of every label from all of N(0, I).
		coupling = orw.CouplingIndependent
	}
	if *out == "" {
		*out = name + "-" + *model + ".ckpt"
		if *classes {
			*out = name + "-" + *model + "-cond.ckpt"
		}
	}
	stateDir := *state
	if stateDir == "" {
		stateDir = *out + ".state"
	}
	sampler := orw.SamplerConfig{Solver: solver, Steps: *sampleSteps}
	if err := sampler.Validate(); err != nil {
		return err
	}
	def := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defF := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	be, err := backend()
	if err != nil {
		return err
	}
	trainSet, set, err := loadData(name, *dataDir, datasets.Train)
	if err != nil {
		return err
	}
	if !*classes {
		trainSet.Labels = nil
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return err
	}
	numClasses := 0
	if *classes {
		numClasses = set.NumClasses
	}
	progress := func(stage string) train.Display { return train.NewTextBar(stage) }
	t0 := time.Now()
	var g *orw.Generator
	switch *model {
	case "latent":
		def(steps, 8000)
		defInt(batch, 256)
		defF(lr, 1e-3)
		ae := nets.DefaultAutoencoderConfig(trainSet.Shape...)
		ae.Latent = *latent
		flow := nets.Config{Kind: "mlp", Shape: []int{*latent}, Width: *width, Depth: 3, TimeDim: 128, NumClasses: numClasses}
		r := tasks.LatentRecipe{
			AE: ae, AESteps: *aeSteps, AEBatch: 128,
			AEOptim: optim.Config{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WarmupSteps: 100, ClipNorm: 1},
			Flow:    flow, FlowSteps: *steps, FlowBatch: *batch,
			FlowOptim: optim.Config{LR: *lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WarmupSteps: 200, ClipNorm: 1, EMADecay: 0.999},
			Coupling:  coupling, Sampler: sampler, Seed: *seed,
		}
		g, err = tasks.PretrainLatent(ctx, be, trainSet, r, stateDir, progress)
	case "unet", "mlp", "unet-paper":
		limitPixelPretrainMemory()
		oc := optim.Config{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WarmupSteps: 200, ClipNorm: 1, EMADecay: 0.999}
		switch *model {
		case "unet":
			def(steps, 6000)
			defInt(batch, 64)
			defF(lr, 5e-4)
		case "mlp":
			def(steps, 6000)
			defInt(batch, 128)
			defF(lr, 2e-4)
		case "unet-paper":
			// The schedule of the CIFAR-10 example the paper builds on: 400k Adam steps
			// of batch 128 at 2e-4 after a 5k-step warm-up, gradients clipped at norm 1,
			// EMA 0.9999.
			def(steps, 400000)
			defInt(batch, 128)
			defF(lr, 2e-4)
			oc.WarmupSteps, oc.EMADecay = 5000, 0.9999
		}
		oc.LR = *lr
		cfg := nets.DefaultConfig(*model, trainSet.Shape...)
		cfg.NumClasses = numClasses
		g, err = tasks.PretrainPixel(ctx, be, trainSet, cfg, *steps, *batch, oc,
			coupling, sampler, *seed, stateDir, progress("flow"))
	default:
		return fmt.Errorf("unknown --model %q; valid: latent, latent-cond, unet, mlp, unet-paper", *model)
	}
	if err != nil {
		return err
	}
	g.Meta["data"] = name
	g.Meta["command"] = "orw " + joinArgs(args)
	g.Meta["coupling"] = string(coupling)
	if err := orw.SaveGenerator(*out, g); err != nil {
		return err
	}
	fmt.Printf("pretrain: wrote %s (%s flow, %d parameters) in %s\n", *out, g.Flow.Config().Kind, g.Params.NumParams(), time.Since(t0).Round(time.Second))
	return nil
}

func joinArgs(args []string) string {
	s := "pretrain"
	for _, a := range args {
		s += " " + a
	}
	return s
}
