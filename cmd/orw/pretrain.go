package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/gomlx/compute"

	"github.com/orwcfm/orwcfm/internal/suggest"
	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/ode"
	"github.com/orwcfm/orwcfm/pkg/orw/optim"
	"github.com/orwcfm/orwcfm/pkg/orw/pretrain"
	"github.com/orwcfm/orwcfm/pkg/orw/train"
	"github.com/orwcfm/orwcfm/pkg/tasks"
	"github.com/orwcfm/orwcfm/pkg/tasks/datasets"
)

func init() {
	register(command{name: "pretrain", summary: "pretrain a flow-matching base model (latent, unet or mlp) on a data set", run: runPretrain})
}

// trainingFlags are the flags that orw pretrain and orw train-classifier
// share: where the data set is, the seed, and the resumable state.
type trainingFlags struct {
	dataDir, state *string
	seed           *uint64
}

func newTrainingFlags(fs *flag.FlagSet) trainingFlags {
	return trainingFlags{
		dataDir: fs.String("data", "", "directory with the data set's files (default: the built-in location)"),
		seed:    fs.Uint64("seed", 1, "random seed"),
		state:   fs.String("state", "", "directory for the resumable training state (default: OUT.state)"),
	}
}

// stateDir is the directory of the resumable state of a training run that
// writes out: --state, or OUT.state.
func (t trainingFlags) stateDir(out string) string {
	if *t.state != "" {
		return *t.state
	}
	return out + ".state"
}

// orDefault sets *v to d when it is zero (a flag left at 0: "the model's default").
func orDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// pixelSchedule is a pixel-space flow's pretraining length, batch and learning
// rate: what --steps, --batch and --lr default to.
type pixelSchedule struct {
	Steps int64
	Batch int
	LR    float64
}

// pixelDefaults are the defaults of the pixel-space models of orw pretrain,
// in one place. "unet-paper" is the schedule of the CIFAR-10 example the paper
// builds on: 400k Adam steps of batch 128 at 2e-4.
var pixelDefaults = map[string]pixelSchedule{
	"unet":       {Steps: 6000, Batch: 64, LR: 5e-4},
	"mlp":        {Steps: 6000, Batch: 128, LR: 2e-4},
	"unet-paper": {Steps: 400000, Batch: 128, LR: 2e-4},
}

// pixelModels are the keys of pixelDefaults in the order the help lists them.
var pixelModels = []string{"unet", "mlp", "unet-paper"}

// pretrainDefaults says a flag's default for each model, for its help: latent
// (from tasks.DefaultLatentRecipe), then each pixel model's field of
// pixelDefaults.
func pretrainDefaults(latent any, field func(pixelSchedule) any) string {
	s := fmt.Sprintf("default: latent %v", latent)
	for _, m := range pixelModels {
		s += fmt.Sprintf(", %s %v", m, field(pixelDefaults[m]))
	}
	return s
}

// pixelOptim is the optimiser of a pixel-space model without its learning
// rate: Adam with gradients clipped at norm 1 and an EMA of the weights, after
// 200 warm-up steps ("unet-paper": 5k warm-up steps and EMA 0.9999, as the
// paper's CIFAR-10 schedule).
func pixelOptim(model string) optim.Config {
	oc := optim.Config{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WarmupSteps: 200, ClipNorm: 1, EMADecay: 0.999}
	if model == "unet-paper" {
		oc.WarmupSteps, oc.EMADecay = 5000, 0.9999
	}
	return oc
}

// pretrainFlags are orw pretrain's flags.
type pretrainFlags struct {
	fs                   *flag.FlagSet
	task, model, out     *string
	steps, aeSteps       *int64
	batch, latent, width *int
	sampleSteps          *int
	lr                   *float64
	classes              *bool
	coupling             orw.CouplingName
	solver               ode.Solver
	trainingFlags
}

func newPretrainFlags() *pretrainFlags {
	fs := newFlags("pretrain", "pretrain a base generator with conditional flow matching; resumes an interrupted run")
	f := &pretrainFlags{fs: fs}
	f.task = fs.String("task", "mnist", "data set: mnist, fashion, cifar10, toy2d (the 2-D Gaussian mixture; --model mlp)")
	f.trainingFlags = newTrainingFlags(fs)
	f.model = fs.String("model", "latent", "latent (autoencoder + MLP flow on its codes), latent-cond (= latent --conditional), unet or mlp (pixel space), unet-paper (the paper's 35.7M-parameter CIFAR-10 U-Net; for a GPU)")
	f.out = fs.String("out", "", "output generator checkpoint (default: TASK-MODEL.ckpt, TASK-MODEL-cond.ckpt with --conditional)")
	latent := tasks.DefaultLatentRecipe(28, 28, 1)
	f.steps = fs.Int64("steps", 0, "flow training steps ("+pretrainDefaults(latent.FlowSteps, func(d pixelSchedule) any { return d.Steps })+")")
	f.aeSteps = fs.Int64("ae-steps", 1500, "autoencoder training steps (latent only)")
	f.batch = fs.Int("batch", 0, "flow batch size ("+pretrainDefaults(latent.FlowBatch, func(d pixelSchedule) any { return d.Batch })+")")
	f.lr = fs.Float64("lr", 0, "flow learning rate ("+pretrainDefaults(latent.FlowOptim.LR, func(d pixelSchedule) any { return d.LR })+")")
	fs.TextVar(&f.coupling, "coupling", orw.CouplingOT, "noise-data `coupling`: ot (exact minibatch OT-CFM) or independent (I-CFM); --conditional defaults to independent")
	f.classes = fs.Bool("conditional", false, "train a class-conditional flow (labels as input)")
	f.latent = fs.Int("latent", 16, "latent code size (latent only)")
	f.width = fs.Int("width", 512, "MLP width of the latent flow")
	fs.TextVar(&f.solver, "solver", ode.Euler, "default `solver` of the model's sampler: euler, midpoint, rk4")
	f.sampleSteps = fs.Int("sample-steps", 20, "default number of sampler steps of the model")
	return f
}

func runPretrain(ctx context.Context, args []string) error {
	f := newPretrainFlags()
	if err := parse(f.fs, args); err != nil {
		return err
	}
	given := map[string]bool{}
	f.fs.Visit(func(fl *flagT) { given[fl.Name] = true })
	if *f.task == "toy2d" {
		return pretrainToy(ctx, given, f, args)
	}
	name, err := dataName(*f.task)
	if err != nil {
		return err
	}
	if *f.model == "latent-cond" {
		*f.model, *f.classes = "latent", true
	}
	if *f.classes && !given["coupling"] {
		// A minibatch OT pairing ignores labels: it would hand each class the
		// noise that lies near other classes' samples, while sampling draws the
		// noise of every label from all of N(0, I).
		f.coupling = orw.CouplingIndependent
	}
	if *f.out == "" {
		*f.out = name + "-" + *f.model + ".ckpt"
		if *f.classes {
			*f.out = name + "-" + *f.model + "-cond.ckpt"
		}
	}
	stateDir := f.stateDir(*f.out)
	sampler := orw.SamplerConfig{Solver: f.solver, Steps: *f.sampleSteps}
	if err := sampler.Validate(); err != nil {
		return err
	}
	be, err := backend()
	if err != nil {
		return err
	}
	trainSet, set, err := loadData(name, *f.dataDir, datasets.Train)
	if err != nil {
		return err
	}
	if !*f.classes {
		trainSet.Labels = nil
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return err
	}
	numClasses := 0
	if *f.classes {
		numClasses = set.NumClasses
	}
	t0 := time.Now()
	g, err := f.train(ctx, be, trainSet, numClasses, sampler, stateDir)
	if err != nil {
		return err
	}
	g.Meta["coupling"] = string(f.coupling)
	return savePretrained(g, *f.out, name, g.Flow.Config().Kind+" flow", args, t0)
}

// train trains the --model flow on trainSet (labelled with numClasses
// classes, or 0), with the model's defaults for the flags left at 0.
func (f *pretrainFlags) train(ctx context.Context, be compute.Backend, trainSet *pretrain.Dataset, numClasses int, sampler orw.SamplerConfig, stateDir string) (*orw.Generator, error) {
	progress := func(stage string) train.Display { return train.NewTextBar(stage) }
	switch *f.model {
	case "latent":
		r := tasks.DefaultLatentRecipe(trainSet.Shape...)
		orDefault(f.steps, r.FlowSteps)
		orDefault(f.batch, r.FlowBatch)
		orDefault(f.lr, r.FlowOptim.LR)
		r.AE.Latent, r.AESteps = *f.latent, *f.aeSteps
		r.Flow.Shape, r.Flow.Width, r.Flow.NumClasses = []int{*f.latent}, *f.width, numClasses
		r.FlowSteps, r.FlowBatch, r.FlowOptim.LR = *f.steps, *f.batch, *f.lr
		r.Coupling, r.Sampler, r.Seed = f.coupling, sampler, *f.seed
		return tasks.PretrainLatent(ctx, be, trainSet, r, stateDir, progress)
	case "unet", "mlp", "unet-paper":
		limitPixelPretrainMemory()
		d := pixelDefaults[*f.model]
		orDefault(f.steps, d.Steps)
		orDefault(f.batch, d.Batch)
		orDefault(f.lr, d.LR)
		oc := pixelOptim(*f.model)
		oc.LR = *f.lr
		cfg := nets.DefaultConfig(*f.model, trainSet.Shape...)
		cfg.NumClasses = numClasses
		return tasks.PretrainPixel(ctx, be, trainSet, cfg, *f.steps, *f.batch, oc,
			f.coupling, sampler, *f.seed, stateDir, progress("flow"))
	}
	return nil, suggest.Unknown("--model", *f.model, []string{"latent", "latent-cond", "unet", "mlp", "unet-paper"})
}

// savePretrained records in g the data set and the command that made it,
// writes it to out, and says so (what: "latent flow").
func savePretrained(g *orw.Generator, out, data, what string, args []string, t0 time.Time) error {
	g.Meta["data"] = data
	g.Meta["command"] = "orw " + joinArgs(args)
	if err := orw.SaveGenerator(out, g); err != nil {
		return err
	}
	fmt.Printf("pretrain: wrote %s (%s, %d parameters) in %s\n", out, what, g.Params.NumParams(), time.Since(t0).Round(time.Second))
	return nil
}

func joinArgs(args []string) string {
	s := "pretrain"
	for _, a := range args {
		s += " " + a
	}
	return s
}
