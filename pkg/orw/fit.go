package orw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/optim"
)

// Fit is the one training loop behind pretraining (flows, autoencoders,
// classifiers): it draws batches from a seeded RNG, applies optimiser steps,
// reports progress, writes periodic atomic checkpoints and resumes from one.

// Progress is what a training loop reports.
type Progress struct {
	Step, Steps int64
	// Loss is the mean loss since the previous report.
	Loss    float64
	Elapsed time.Duration
	// Remaining estimates the time left from the speed so far.
	Remaining time.Duration
	Metrics   map[string]float64
}

// ProgressFunc receives progress reports.
type ProgressFunc func(Progress)

// Batcher builds the inputs of one training step from the run's RNG.
type Batcher func(rng *RNG, step int64) ([]*tensors.Tensor, error)

// FitConfig configures Fit.
type FitConfig struct {
	// Steps is the total number of updates (a resumed run continues to Steps).
	Steps int64 `json:"steps"`
	// Seed seeds the RNG of a new run.
	Seed  uint64       `json:"seed"`
	Optim optim.Config `json:"optim"`
	// CheckpointPath, when set, is where the training state is saved every
	// CheckpointEvery steps, at the end and on cancellation; an existing file
	// there is resumed from.
	CheckpointPath  string `json:"-"`
	CheckpointEvery int64  `json:"checkpoint_every"`
	// Progress is called every ProgressEvery steps.
	Progress      ProgressFunc `json:"-"`
	ProgressEvery int64        `json:"-"`
}

// FitResult is the outcome of Fit.
type FitResult struct {
	Params *nets.Params
	// EMA holds the averaged weights when Optim.EMADecay > 0.
	EMA *nets.Params
	// Step is the number of updates done in total; Resumed tells whether Fit
	// continued a checkpoint, from step ResumedFrom.
	Step        int64
	Resumed     bool
	ResumedFrom int64
	// FinalLoss is the mean loss of the last report interval.
	FinalLoss float64
	Wall      time.Duration
}

// KindFit is the checkpoint kind of Fit's training state.
const KindFit = "fit-state"

type fitMeta struct {
	Step  int64        `json:"step"`
	RNG   string       `json:"rng"`
	Seed  uint64       `json:"seed"`
	Optim optim.Config `json:"optim"`
	Wall  float64      `json:"wall_seconds"`
}

// Fit trains params (modified in place) on lossFn with batches from batch.
func Fit(ctx context.Context, backend compute.Backend, params *nets.Params, lossFn optim.LossFn, batch Batcher, cfg FitConfig) (*FitResult, error) {
	if cfg.Steps <= 0 {
		return nil, fmt.Errorf("fit: steps must be positive, got %d", cfg.Steps)
	}
	trainer, err := optim.New(backend, cfg.Optim, params.Len(), lossFn)
	if err != nil {
		return nil, err
	}
	state := optim.NewState(params, cfg.Optim)
	rng := NewRNG(cfg.Seed)
	res := &FitResult{Params: params}
	start := time.Now()
	var wallBefore time.Duration
	if cfg.CheckpointPath != "" {
		if _, statErr := os.Stat(cfg.CheckpointPath); statErr == nil {
			wall, err := loadFitState(cfg.CheckpointPath, params, state, rng, cfg)
			if err != nil {
				return nil, err
			}
			res.Resumed, res.ResumedFrom, wallBefore = true, state.Step, wall
		}
	}
	save := func() error {
		if cfg.CheckpointPath == "" {
			return nil
		}
		return saveFitState(cfg.CheckpointPath, params, state, rng, cfg, wallBefore+time.Since(start))
	}
	every := cfg.ProgressEvery
	if every <= 0 {
		every = 50
	}
	var sum float64
	var count int
	first := state.Step
	for state.Step < cfg.Steps {
		if err := ctx.Err(); err != nil {
			if serr := save(); serr != nil {
				return res, errors.Join(err, serr)
			}
			res.Step = state.Step
			return res, err
		}
		inputs, err := batch(rng, state.Step)
		if err != nil {
			return res, fmt.Errorf("fit: building batch at step %d: %w", state.Step, err)
		}
		r, err := trainer.Step(params, state, inputs...)
		if err != nil {
			if errors.Is(err, optim.ErrNonFinite) {
				return res, fmt.Errorf("fit: step %d: loss %g, gradient norm %g: %w (lower the learning rate)", state.Step, r.Loss, r.GradNorm, err)
			}
			return res, err
		}
		sum += r.Loss
		count++
		if state.Step%every == 0 || state.Step == cfg.Steps {
			el := time.Since(start)
			done := state.Step - first
			var rem time.Duration
			if done > 0 {
				rem = time.Duration(float64(el) / float64(done) * float64(cfg.Steps-state.Step))
			}
			res.FinalLoss = sum / float64(count)
			if cfg.Progress != nil {
				cfg.Progress(Progress{Step: state.Step, Steps: cfg.Steps, Loss: res.FinalLoss, Elapsed: wallBefore + el, Remaining: rem,
					Metrics: map[string]float64{"grad_norm": r.GradNorm}})
			}
			sum, count = 0, 0
		}
		if cfg.CheckpointEvery > 0 && state.Step%cfg.CheckpointEvery == 0 && state.Step < cfg.Steps {
			if err := save(); err != nil {
				return res, err
			}
		}
	}
	if count > 0 {
		res.FinalLoss = sum / float64(count)
	}
	if err := save(); err != nil {
		return res, err
	}
	res.Step = state.Step
	res.EMA = state.EMA
	if res.EMA != nil {
		res.EMA = res.EMA.Sub("ema")
	}
	res.Wall = wallBefore + time.Since(start)
	return res, nil
}

func saveFitState(path string, params *nets.Params, state *optim.State, rng *RNG, cfg FitConfig, wall time.Duration) error {
	parts := []*nets.Params{params.Prefixed("params"), state.M, state.V}
	if state.EMA != nil {
		parts = append(parts, state.EMA)
	}
	meta := fitMeta{Step: state.Step, RNG: rng.State(), Seed: cfg.Seed, Optim: cfg.Optim, Wall: wall.Seconds()}
	return WriteCheckpoint(path, KindFit, meta, nets.Merge(parts...))
}

func loadFitState(path string, params *nets.Params, state *optim.State, rng *RNG, cfg FitConfig) (time.Duration, error) {
	c, err := ReadCheckpoint(path)
	if err != nil {
		return 0, fmt.Errorf("resuming: %w (delete the file to start over)", err)
	}
	if c.Kind != KindFit {
		return 0, fmt.Errorf("resuming: %s holds a %q, not a training state", path, c.Kind)
	}
	var meta fitMeta
	if err := json.Unmarshal(c.Meta, &meta); err != nil {
		return 0, fmt.Errorf("resuming %s: metadata: %w", path, err)
	}
	if meta.Seed != cfg.Seed {
		return 0, fmt.Errorf("resuming %s: it was started with seed %d, not %d (use the same seed, or delete the file to start over)", path, meta.Seed, cfg.Seed)
	}
	specs := paramsSpecs(params)
	load := func(prefix string, dst *nets.Params) error {
		src := c.Params.Sub(prefix)
		if err := src.Match(specs); err != nil {
			return fmt.Errorf("resuming %s: %s: %w", path, prefix, err)
		}
		copy(dst.Tensors, src.Tensors)
		return nil
	}
	if err := load("params", params); err != nil {
		return 0, err
	}
	if err := load("adam_m", state.M); err != nil {
		return 0, err
	}
	if err := load("adam_v", state.V); err != nil {
		return 0, err
	}
	if state.EMA != nil {
		if err := load("ema", state.EMA); err != nil {
			return 0, err
		}
	}
	if err := rng.SetState(meta.RNG); err != nil {
		return 0, fmt.Errorf("resuming %s: %w", path, err)
	}
	state.Step = meta.Step
	if math.IsNaN(meta.Wall) {
		meta.Wall = 0
	}
	return time.Duration(meta.Wall * float64(time.Second)), nil
}

// paramsSpecs describes existing parameters as specs (names and shapes).
func paramsSpecs(p *nets.Params) []nets.ParamSpec {
	specs := make([]nets.ParamSpec, p.Len())
	for i, t := range p.Tensors {
		specs[i] = nets.ParamSpec{Name: p.Names[i], Shape: t.Shape().Dimensions}
	}
	return specs
}
