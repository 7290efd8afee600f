package tasks

import (
	"context"
	"fmt"
	"time"

	"github.com/gomlx/compute"

	"github.com/orwcfm/orwcfm/internal/suggest"
	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/ode"
	"github.com/orwcfm/orwcfm/pkg/orw/optim"
	"github.com/orwcfm/orwcfm/pkg/orw/pretrain"
	"github.com/orwcfm/orwcfm/pkg/orw/train"
	"github.com/orwcfm/orwcfm/pkg/tasks/datasets"
)

// DatasetFromSet converts a loaded image set to a flow-space data set: pixels
// scaled to [-1, 1] and labels as int32.
func DatasetFromSet(s *datasets.Set) *pretrain.Dataset {
	im := s.Images
	d := &pretrain.Dataset{X: im.Float32(0, im.N), N: im.N, Shape: []int{im.H, im.W, im.C}}
	if s.Labels != nil {
		d.Labels = make([]int32, len(s.Labels))
		for i, l := range s.Labels {
			d.Labels[i] = int32(l)
		}
	}
	return d
}

// ImagesFromDataset views a pixel-space data set as images.
func ImagesFromDataset(d *pretrain.Dataset) *orw.Images {
	return &orw.Images{N: d.N, H: d.Shape[0], W: d.Shape[1], C: d.Shape[2], Pix: d.X}
}

// LoadData loads a named image data set ("mnist", "fashion", "cifar10") from dir
// ("" = its default location).
func LoadData(name, dir string, split datasets.Split) (*datasets.Set, error) {
	switch name {
	case "mnist":
		return datasets.LoadMNIST(dir, split)
	case "fashion", "fashion-mnist":
		return datasets.LoadFashionMNIST(dir, split)
	case "cifar10":
		if dir == "" {
			return nil, fmt.Errorf("cifar10 cannot be downloaded here: pass --data DIR with data_batch_1.bin ... test_batch.bin")
		}
		return datasets.LoadCIFAR10(dir, split)
	}
	return nil, suggest.Unknown("data set", name, dataSetNames)
}

// LatentRecipe is how a latent generator is pretrained: an autoencoder first,
// then an MLP flow on its normalised codes.
type LatentRecipe struct {
	AE        nets.AutoencoderConfig `json:"autoencoder"`
	AESteps   int64                  `json:"ae_steps"`
	AEBatch   int                    `json:"ae_batch"`
	AEOptim   optim.Config           `json:"ae_optim"`
	Flow      nets.Config            `json:"flow"`
	FlowSteps int64                  `json:"flow_steps"`
	FlowBatch int                    `json:"flow_batch"`
	FlowOptim optim.Config           `json:"flow_optim"`
	Coupling  orw.CouplingName       `json:"coupling"`
	Sampler   orw.SamplerConfig      `json:"sampler"`
	Seed      uint64                 `json:"seed"`
}

// DefaultLatentRecipe is the recipe of `orw pretrain --model latent` for
// images of shape [H, W, C] (H and W multiples of 4): a convolutional
// autoencoder to 16-d codes trained for 1,500 steps of batch 128 at 1e-3, then
// a 3x512 MLP flow on the codes for 8,000 steps of batch 256 at 1e-3 with EMA
// 0.999 and exact minibatch OT pairing, sampled with 20 Euler steps; seed 1.
// The shipped unconditional latent models of MNIST and Fashion-MNIST were
// made with it (5 min for MNIST on 2 CPU cores, docs/models.md). A
// class-conditional flow sets Flow.NumClasses.
func DefaultLatentRecipe(shape ...int) LatentRecipe {
	ae := nets.DefaultAutoencoderConfig(shape...)
	return LatentRecipe{
		AE: ae, AESteps: 1500, AEBatch: 128,
		AEOptim:   optim.Config{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WarmupSteps: 100, ClipNorm: 1},
		Flow:      nets.Config{Kind: "mlp", Shape: []int{ae.Latent}, Width: 512, Depth: 3, TimeDim: 128},
		FlowSteps: 8000, FlowBatch: 256,
		FlowOptim: optim.Config{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WarmupSteps: 200, ClipNorm: 1, EMADecay: 0.999},
		Coupling:  orw.CouplingOT,
		Sampler:   orw.SamplerConfig{Solver: ode.Euler, Steps: 20},
		Seed:      1,
	}
}

// PretrainLatent trains a latent generator on data (pixel-space, labelled or not).
// Checkpoints of each stage go to stateDir so that an interrupted run resumes.
func PretrainLatent(ctx context.Context, backend compute.Backend, data *pretrain.Dataset, r LatentRecipe, stateDir string, progress func(stage string) train.Display) (*orw.Generator, error) {
	ae, err := nets.NewAutoencoder(r.AE)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	aeParams := nets.Init(append(ae.EncoderSpecs(), ae.DecoderSpecs()...), orw.NewRNG(r.Seed^0xae).Rand)
	aeRes, err := pretrain.Fit(ctx, backend, aeParams, pretrain.AutoencoderLoss(ae), pretrain.ImageBatcher(data, r.AEBatch, false), pretrain.FitConfig{
		Steps: r.AESteps, Seed: r.Seed, Optim: r.AEOptim, CheckpointPath: stateFile(stateDir, "autoencoder.state"),
		CheckpointEvery: 500, Progress: progress("autoencoder"),
	})
	if err != nil {
		return nil, fmt.Errorf("autoencoder: %w", err)
	}
	codes, err := pretrain.EncodeDataset(backend, ae, aeParams, data, 1000)
	if err != nil {
		return nil, err
	}
	mean, std, norm := pretrain.Standardize(codes)
	flow, err := nets.New(r.Flow)
	if err != nil {
		return nil, err
	}
	if err := r.Coupling.Validate(); err != nil {
		return nil, err
	}
	coupling := r.Coupling.Coupling()
	fcfg := r.FlowOptim
	flowParams := nets.Init(flow.Specs(), orw.NewRNG(r.Seed^0xf1).Rand)
	flowRes, err := pretrain.TrainFlow(ctx, backend, flow, flowParams, norm, r.FlowBatch, coupling, pretrain.FitConfig{
		Steps: r.FlowSteps, Seed: r.Seed + 1, Optim: fcfg, CheckpointPath: stateFile(stateDir, "flow.state"),
		CheckpointEvery: 1000, Progress: progress("latent flow"),
	})
	if err != nil {
		return nil, fmt.Errorf("latent flow: %w", err)
	}
	final := flowParams
	if flowRes.EMA != nil {
		final = flowRes.EMA
	}
	g, err := orw.NewLatentGenerator(ae, aeParams, mean, std, flow, final, r.Sampler)
	if err != nil {
		return nil, err
	}
	g.Meta = map[string]any{
		"recipe":                    r,
		"ae_final_loss":             aeRes.FinalLoss,
		"flow_final_loss":           flowRes.FinalLoss,
		"ae_wall_seconds":           aeRes.Wall.Seconds(),
		"flow_wall_seconds":         flowRes.Wall.Seconds(),
		"wall_seconds_this_process": time.Since(start).Seconds(),
	}
	return g, nil
}

func stateFile(dir, name string) string {
	if dir == "" {
		return ""
	}
	return dir + "/" + name
}

// PretrainPixel trains a flow directly on images (the "unet" or "mlp" networks).
func PretrainPixel(ctx context.Context, backend compute.Backend, data *pretrain.Dataset, cfg nets.Config, steps int64, batch int, oc optim.Config, coupling orw.CouplingName, sampler orw.SamplerConfig, seed uint64, stateDir string, progress train.Display) (*orw.Generator, error) {
	flow, err := nets.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := coupling.Validate(); err != nil {
		return nil, err
	}
	c := coupling.Coupling()
	params := nets.Init(flow.Specs(), orw.NewRNG(seed^0xf1).Rand)
	res, err := pretrain.TrainFlow(ctx, backend, flow, params, data, batch, c, pretrain.FitConfig{
		Steps: steps, Seed: seed, Optim: oc, CheckpointPath: stateFile(stateDir, "flow.state"),
		CheckpointEvery: 250, Progress: progress, ProgressEvery: 10,
	})
	if err != nil {
		return nil, err
	}
	final := params
	if res.EMA != nil {
		final = res.EMA
	}
	g := &orw.Generator{Flow: flow, Params: final, Sampler: sampler, Meta: map[string]any{
		"flow_steps": steps, "batch": batch, "optim": oc, "coupling": coupling, "seed": seed,
		"flow_final_loss": res.FinalLoss, "flow_wall_seconds": res.Wall.Seconds(),
	}}
	return g, nil
}
