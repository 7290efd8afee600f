package pretrain

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

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/ckpt"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/optim"
	"github.com/orwcfm/orwcfm/pkg/orw/train"
)

// Batcher builds the inputs of one training step from the run's RNG.
type Batcher func(rng *orw.RNG, step int64) ([]*tensors.Tensor, error)

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
	// Progress, when set, shows the loop's progress every ProgressEvery steps
	// (default 50) with the mean loss since the previous update.
	Progress      train.Display `json:"-"`
	ProgressEvery int64         `json:"-"`
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

// StepResult is the record of one pretraining step.
type StepResult struct {
	Loss, GradNorm float64
}

// kindFit is the checkpoint kind of Fit's training state.
const kindFit = "fit-state"

type fitMeta struct {
	Step  int64        `json:"step"`
	RNG   string       `json:"rng"`
	Seed  uint64       `json:"seed"`
	Optim optim.Config `json:"optim"`
	Wall  float64      `json:"wall_seconds"`
}

// fitStepper is one pretraining update per Step: a minibatch from the batcher,
// then an optimiser step on the loss.
type fitStepper struct {
	trainer *optim.Updater
	params  *nets.Params
	state   *optim.State
	rng     *orw.RNG
	batch   Batcher
}

// Step draws a batch and updates the parameters; on error the RNG is rolled
// back and the parameters are unchanged.
func (s *fitStepper) Step() (StepResult, error) {
	rngState := s.rng.State()
	step := s.state.Step
	inputs, err := s.batch(s.rng, step)
	if err != nil {
		_ = s.rng.SetState(rngState)
		return StepResult{}, fmt.Errorf("fit: building batch at step %d: %w", step, err)
	}
	r, err := s.trainer.Step(s.params, s.state, inputs...)
	if err != nil {
		_ = s.rng.SetState(rngState)
		if errors.Is(err, optim.ErrNonFinite) {
			return StepResult{}, fmt.Errorf("fit: step %d: loss %g, gradient norm %g: %w (lower the learning rate)", step, r.Loss, r.GradNorm, err)
		}
		return StepResult{}, err
	}
	return StepResult{Loss: r.Loss, GradNorm: r.GradNorm}, nil
}

// StepCount is the number of updates done.
func (s *fitStepper) StepCount() int64 { return s.state.Step }

// Fit trains params (modified in place) on lossFn with batches from batch,
// through the training loop: a checkpoint every CheckpointEvery steps, at the
// end and on cancellation; progress every ProgressEvery steps.
func Fit(ctx context.Context, backend compute.Backend, params *nets.Params, lossFn optim.LossFn, batch Batcher, cfg FitConfig) (*FitResult, error) {
	if cfg.Steps <= 0 {
		return nil, fmt.Errorf("fit: Steps must be positive, got %d", cfg.Steps)
	}
	trainer, err := optim.New(backend, cfg.Optim, params.Len(), lossFn)
	if err != nil {
		return nil, err
	}
	s := &fitStepper{trainer: trainer, params: params, state: optim.NewState(params, cfg.Optim), rng: orw.NewRNG(cfg.Seed), batch: batch}
	res := &FitResult{Params: params}
	var wallBefore time.Duration
	if cfg.CheckpointPath != "" {
		if _, statErr := os.Stat(cfg.CheckpointPath); statErr == nil {
			wall, err := loadFitState(cfg.CheckpointPath, params, s.state, s.rng, cfg)
			if err != nil {
				return nil, err
			}
			res.Resumed, res.ResumedFrom, wallBefore = true, s.state.Step, wall
		}
	}
	loop := train.New[StepResult](s, cfg.Steps)
	save := func() error {
		if cfg.CheckpointPath == "" {
			return nil
		}
		return saveFitState(cfg.CheckpointPath, params, s.state, s.rng, cfg, wallBefore+loop.Elapsed())
	}
	every := cfg.ProgressEvery
	if every <= 0 {
		every = 50
	}
	// The mean loss over each report interval.
	var sum float64
	var count int
	loop.OnStep("loss", 1, train.PriorityRecord, func(l *train.Loop[StepResult], r StepResult) error {
		sum += r.Loss
		count++
		if l.Step()%every == 0 || l.Step() == cfg.Steps {
			res.FinalLoss, sum, count = sum/float64(count), 0, 0
		}
		return nil
	})
	if cfg.CheckpointEvery > 0 {
		loop.OnStep("checkpoint", cfg.CheckpointEvery, train.PrioritySave, func(l *train.Loop[StepResult], _ StepResult) error {
			if l.Step() >= cfg.Steps {
				return nil // the end hook saves
			}
			return save()
		})
	}
	// The final save, and the save on cancellation; a failed step saves nothing.
	loop.OnEnd("checkpoint", train.PrioritySave, func(_ *train.Loop[StepResult], err error) error {
		if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return save()
		}
		return nil
	})
	if cfg.Progress != nil {
		train.AttachProgress(loop, cfg.Progress, every, func(StepResult) string { return fmt.Sprintf("loss %.4f", res.FinalLoss) })
	}
	err = loop.Run(ctx)
	if count > 0 {
		res.FinalLoss = sum / float64(count)
	}
	res.Step = s.state.Step
	if err != nil {
		return res, unwrapOwnHook(err)
	}
	res.EMA = s.state.EMA
	if res.EMA != nil {
		res.EMA = res.EMA.Sub("ema")
	}
	res.Wall = wallBefore + loop.Elapsed()
	return res, nil
}

// unwrapOwnHook returns the error of Fit's own checkpoint hook as it is, without the hook's name.
func unwrapOwnHook(err error) error {
	var he *train.HookError
	if errors.As(err, &he) && he.Hook == "checkpoint" && err == error(he) {
		return he.Err
	}
	return err
}

func saveFitState(path string, params *nets.Params, state *optim.State, rng *orw.RNG, cfg FitConfig, wall time.Duration) error {
	parts := []*nets.Params{params.Prefixed("params"), state.M, state.V}
	if state.EMA != nil {
		parts = append(parts, state.EMA)
	}
	meta := fitMeta{Step: state.Step, RNG: rng.State(), Seed: cfg.Seed, Optim: cfg.Optim, Wall: wall.Seconds()}
	return ckpt.Write(path, kindFit, meta, nets.Merge(parts...))
}

func loadFitState(path string, params *nets.Params, state *optim.State, rng *orw.RNG, cfg FitConfig) (time.Duration, error) {
	c, err := ckpt.Read(path)
	if err != nil {
		return 0, fmt.Errorf("resuming: %w (delete the file to start over)", err)
	}
	if c.Kind != kindFit {
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
