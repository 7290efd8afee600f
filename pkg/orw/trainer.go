package orw

import (
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"slices"
	"time"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive

	"github.com/orwcfm/orwcfm/pkg/orw/metrics"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/optim"
)

// Judge sorts images into classes, for diversity metrics (which digits does the
// model draw?). Tasks provide one; a run works without. A judge that also has
// a method Frechet(*Images) (float64, error) gets the Fréchet distance of the
// evaluation images to real data reported at every evaluation (NaN: none); one
// with a method Assess(*Images) (*EvaluatorRecord, error), an independent
// evaluator, gets its record in EvalRecord.Evaluator, with the hacking gap
// filled in by the evaluation.
type Judge interface {
	ClassNames() []string
	Classify(images *Images) ([]int, error)
}

// Env is what a fine-tuning run needs besides its Config: the backend, the
// pretrained base generator (the frozen reference and the starting point), the
// reward and optionally a judge.
type Env struct {
	Backend compute.Backend
	Base    *Generator
	Reward  Reward
	Judge   Judge
}

// StepRecord is the history entry of one gradient step.
type StepRecord struct {
	Kind string `json:"kind"` // "train"
	// Step counts the updates done, this one included.
	Step       int64   `json:"step"`
	RewardMean float64 `json:"reward_mean"`
	RewardStd  float64 `json:"reward_std"`
	RewardMin  float64 `json:"reward_min"`
	RewardMax  float64 `json:"reward_max"`
	// FM is mean_i fm_i, WeightedFM mean_i w_i·fm_i, W2 mean_i ‖v − v_ref‖² (per pixel).
	FM         float64 `json:"fm"`
	WeightedFM float64 `json:"weighted_fm"`
	W2         float64 `json:"w2"`
	Loss       float64 `json:"loss"`
	// WeightMaxMean is max(w)/mean(w); ESS the effective sample size (Σw)²/Σw².
	WeightMaxMean float64 `json:"weight_max_mean"`
	ESS           float64 `json:"ess"`
	GradNorm      float64 `json:"grad_norm"`
	LR            float64 `json:"lr"`
	// Sampled tells whether a new batch was drawn for this step; SampleMS is
	// the wall time of drawing, decoding and scoring it, TrainMS that of the
	// update (the pairing of noise with the batch, loss, gradient, clipping and
	// Adam).
	Sampled  bool    `json:"sampled"`
	SampleMS float64 `json:"sample_ms"`
	TrainMS  float64 `json:"train_ms"`
}

// EvalRecord is the history entry of an evaluation on the fixed noise batch.
type EvalRecord struct {
	Kind string `json:"kind"` // "eval"
	Step int64  `json:"step"`
	// Reward is the mean reward of the evaluation samples, RewardStd its spread.
	Reward    float64 `json:"reward"`
	RewardStd float64 `json:"reward_std"`
	// ClassCounts are the judge's class counts (nil without a judge) and
	// ClassEntropy their normalised entropy in [0, 1].
	ClassCounts  []int   `json:"class_counts,omitempty"`
	ClassEntropy float64 `json:"class_entropy"`
	// MeanPairwise is the mean Euclidean distance between evaluation images (per pixel RMS).
	MeanPairwise float64 `json:"mean_pairwise"`
	// W2Velocity estimates E_t E ‖v_ft − v_ref‖² (per value) on the evaluation samples' paths.
	W2Velocity float64 `json:"w2_velocity"`
	// EmpiricalW2 is the exact W2 distance between the fine-tuned and the reference
	// evaluation images (per-pixel RMS units).
	EmpiricalW2 float64 `json:"empirical_w2"`
	// Frechet is the Fréchet distance between the evaluation images and real
	// data in a classifier's feature space (absent when the judge has none).
	Frechet float64 `json:"frechet,omitempty"`
	EvalMS  float64 `json:"eval_ms"`
	// Evaluator is what the judge's independent evaluator says (absent when the judge has none).
	Evaluator *EvaluatorRecord `json:"evaluator,omitempty"`
}

// EvaluatorRecord is what a task's independent evaluator (a classifier the reward never saw) and the image probes say about the evaluation samples.
type EvaluatorRecord struct {
	// Reward is the task's reward recomputed with the evaluator's classifier (nil when the reward is not classifier-based); HackingGap is EvalRecord.Reward − *Reward.
	Reward     *float64 `json:"reward,omitempty"`
	HackingGap *float64 `json:"hacking_gap,omitempty"`
	// ClassCounts are the evaluator's class counts of the samples.
	ClassCounts []int `json:"class_counts,omitempty"`
	// Precision, Recall, Density and Coverage compare the samples with the real test images of the task's target in the evaluator's features (k = Neighbours); Vendi is the samples' Vendi score there.
	Precision  float64 `json:"precision"`
	Recall     float64 `json:"recall"`
	Density    float64 `json:"density"`
	Coverage   float64 `json:"coverage"`
	Vendi      float64 `json:"vendi"`
	Neighbours int     `json:"k"`
	// Image holds cheap statistics of the samples' pixels.
	Image metrics.ImageStats `json:"image"`
}

// Trainer is a fine-tuning run in memory: the trainee, its optimiser, the policy
// snapshot, the RNG and the current batch. Its Step is one iteration of the
// paper's Algorithm 1. Package rundir wraps it with a directory (checkpoints,
// history, resumption); benchmarks and tests step it directly.
type Trainer struct {
	cfg      Config
	spec     MethodSpec
	env      Env
	coupling Coupling
	source   sampleSource   // where x1 comes from (the spec's choice: snapshot or pool)
	update   *optim.Updater // one Adam step on Eq. 10 (eq10Loss)

	params   *nets.Params // the trainee v_ft
	snapshot *nets.Params // the policy that draws online samples
	opt      *optim.State
	rng      *RNG
	step     int64
	batch    *Samples  // the current x1 batch (reused for StepsPerBatch steps)
	weights  []float64 // its weights w

	scored *Exec // sampling, decoding and scoring in one graph (GraphReward only)

	eval evalCache
}

// NewTrainer builds a trainer at step 0 from the base generator.
func NewTrainer(cfg Config, env Env) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if env.Backend == nil || env.Base == nil || env.Reward == nil {
		return nil, fmt.Errorf("fine-tuning needs an Env with a Backend, a Base generator and a Reward")
	}
	spec := cfg.Spec()
	tr := &Trainer{cfg: cfg, spec: spec, env: env, coupling: cfg.Coupling.Coupling(), source: spec.source(), rng: NewRNG(cfg.Seed)}
	tr.params = env.Base.Params.Clone()
	tr.snapshot = tr.params
	tr.opt = optim.NewState(tr.params, cfg.Optim)
	var err error
	tr.update, err = optim.New(env.Backend, cfg.Optim, tr.params.Len(), eq10Loss(env.Base.Flow, cfg.Alpha))
	if err != nil {
		return nil, err
	}
	return tr, nil
}

// Step performs one gradient step: one iteration of Algorithm 1 (see
// algorithm1). When it fails, or the reward panics, nothing changes: the
// trainer is as it was before the call (the RNG included), so the step can be
// retried or the run saved as it was.
func (tr *Trainer) Step() (rec StepRecord, err error) {
	if err := tr.source.prepare(tr); err != nil {
		return StepRecord{}, err
	}
	before := tr.State()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
		if err != nil {
			tr.restore(before)
			rec, err = StepRecord{}, &errStep{step: before.Step, err: err}
		}
	}()
	return tr.algorithm1()
}

// algorithm1 is one iteration of Algorithm 1 (docs/method.md, "Algorithm 1"):
//
//  1. every K steps, refresh the policy snapshot from the trainee;
//  2. draw x1 from the method's sample source (the snapshot or the pool), score r(x1);
//  3. weight the samples, w = exp(τ·r(x1));
//  4. draw noise x0, pair it with x1 (the coupling) and draw t ~ U(0, 1);
//  5. take a gradient step on Eq. 10, mean_i(w_i·fm_i + α·w2_i).
func (tr *Trainer) algorithm1() (StepRecord, error) {
	rec := StepRecord{Kind: "train", Step: tr.step + 1, LR: tr.cfg.Optim.LearningRate(tr.step)}
	// 1. Refresh the policy snapshot. Parameters are replaced, never mutated,
	// by an update, so sharing the tensors is a copy.
	if tr.step%int64(tr.cfg.RefreshEvery) == 0 {
		tr.snapshot = shareTensors(tr.params)
	}
	t0 := time.Now()
	if tr.batch == nil || tr.step%int64(tr.cfg.StepsPerBatch) == 0 {
		// 2. Draw and score x1.
		batch, err := tr.source.draw(tr)
		if err != nil {
			return rec, err
		}
		// 3. Weight the samples.
		w, err := tr.spec.Weighting.Weights(batch.Rewards)
		if err != nil {
			return rec, err
		}
		tr.batch, tr.weights = batch, w
		rec.Sampled = true
	}
	rec.SampleMS = msSince(t0)
	// 4. Pair noise with the samples and draw the times.
	t1 := time.Now()
	x0, t, err := tr.pathInputs()
	if err != nil {
		return rec, err
	}
	// 5. One optimiser step on Eq. 10 against the frozen reference.
	w := make([]float32, len(tr.weights))
	for i, wi := range tr.weights {
		w[i] = float32(wi)
	}
	in := eq10Inputs(tr.batch.Shape, tr.batch.X, x0, t, w, tr.batch.Labels, tr.env.Base.Params)
	res, err := tr.update.Step(tr.params, tr.opt, in.list()...)
	if err != nil {
		if errors.Is(err, optim.ErrNonFinite) {
			err = &Remedy{Err: fmt.Errorf("the loss is %g (gradient norm %g): %w", res.Loss, res.GradNorm, err),
				Advice: "; lower %s or the learning rate, or set %s", Fields: []string{"Tau", "NormalizeWeights"}}
		}
		return rec, err
	}
	rec.TrainMS = msSince(t1)
	tr.step++
	tr.record(&rec, res)
	return rec, nil
}

// pathInputs draws the noise x0 (paired with the batch by the coupling) and the
// times t of the conditional paths.
func (tr *Trainer) pathInputs() (x0, t []float32, err error) {
	b := tr.cfg.Batch
	x0 = SampleNoise(tr.rng.Rand, b*tr.env.Base.SampleSize())
	if _, ok := tr.coupling.(Independent); !ok {
		perm, err := tr.coupling.Pair(x0, tr.batch.X, b)
		if err != nil {
			return nil, nil, err
		}
		x0 = Permute(x0, b, perm)
	}
	return x0, SampleTimes(tr.rng.Rand, b), nil
}

// record fills the step's metrics from the optimiser's result.
func (tr *Trainer) record(rec *StepRecord, res optim.Result) {
	b := float64(tr.cfg.Batch)
	fm, w2 := nets.Float32s(res.Aux[0]), nets.Float32s(res.Aux[1])
	for i := range fm {
		rec.FM += float64(fm[i]) / b
		rec.WeightedFM += tr.weights[i] * float64(fm[i]) / b
		rec.W2 += float64(w2[i]) / b
	}
	rec.Loss, rec.GradNorm = res.Loss, res.GradNorm
	rec.RewardMean, rec.RewardStd, rec.RewardMin, rec.RewardMax = stats(tr.batch.Rewards)
	rec.WeightMaxMean, rec.ESS = metrics.WeightStats(tr.weights)
}

// errStep wraps errors of a step that was rolled back.
type errStep struct {
	step int64
	err  error
}

func (e *errStep) Error() string { return fmt.Sprintf("step %d: %v", e.step+1, e.err) }
func (e *errStep) Unwrap() error { return e.err }

// TrainerState is everything a checkpoint holds to resume a Trainer exactly.
type TrainerState struct {
	// Step is the number of gradient steps done.
	Step int64
	// Params is the trainee, Snapshot the policy that draws online samples.
	Params, Snapshot *nets.Params
	// Optim is the optimiser's state (moments, step).
	Optim *optim.State
	// RNG is the random generator's state (RNG.State).
	RNG string
	// Batch and Weights are the current batch and its weights (nil before the first step).
	Batch   *Samples
	Weights []float64
}

// State returns the trainer's state. Tensors are shared, not copied: the
// trainer replaces them, never mutates them. The lists that hold them are
// the state's own, so a later Step (whose update writes its new tensors into
// the trainer's lists) leaves a state taken before it as it was.
func (tr *Trainer) State() TrainerState {
	opt := *tr.opt
	opt.M, opt.V = shareTensors(opt.M), shareTensors(opt.V)
	if opt.EMA != nil {
		opt.EMA = shareTensors(opt.EMA)
	}
	return TrainerState{Step: tr.step, Params: shareTensors(tr.params), Snapshot: tr.snapshot, Optim: &opt, RNG: tr.rng.State(), Batch: tr.batch, Weights: tr.weights}
}

// shareTensors is a copy of p that shares p's tensors in a list of its own.
func shareTensors(p *nets.Params) *nets.Params {
	return &nets.Params{Names: p.Names, Tensors: slices.Clone(p.Tensors)}
}

// SetState restores a state returned by State (from a checkpoint).
func (tr *Trainer) SetState(s TrainerState) error {
	specs := tr.env.Base.Flow.Specs()
	for _, p := range []struct {
		name string
		p    *nets.Params
	}{{"trainee", s.Params}, {"snapshot", s.Snapshot}, {"adam_m", s.Optim.M.Sub("adam_m")}, {"adam_v", s.Optim.V.Sub("adam_v")}} {
		if err := p.p.Match(specs); err != nil {
			return fmt.Errorf("%s does not fit the base model (was the run made with another one?): %w", p.name, err)
		}
	}
	if s.Batch != nil {
		if err := s.Batch.Validate(); err != nil {
			return err
		}
		if s.Batch.Len() != tr.cfg.Batch || len(s.Weights) != tr.cfg.Batch || !slices.Equal(s.Batch.Shape, tr.env.Base.SampleShape()) {
			return fmt.Errorf("the saved batch has %d points of shape %v and %d weights, want %d of shape %v", s.Batch.Len(), s.Batch.Shape, len(s.Weights), tr.cfg.Batch, tr.env.Base.SampleShape())
		}
	}
	rng := NewRNG(0)
	if err := rng.SetState(s.RNG); err != nil {
		return err
	}
	tr.restore(s)
	if o, ok := tr.source.(*onlineSnapshot); ok {
		o.block = nil // drawn ahead for another state: free it
	}
	return nil
}

// restore sets the state without checking it.
func (tr *Trainer) restore(s TrainerState) {
	tr.step, tr.params, tr.snapshot = s.Step, shareTensors(s.Params), s.Snapshot
	opt := *s.Optim
	opt.M, opt.V = shareTensors(opt.M), shareTensors(opt.V)
	if opt.EMA != nil {
		opt.EMA = shareTensors(opt.EMA)
	}
	tr.opt = &opt
	_ = tr.rng.SetState(s.RNG)
	tr.batch, tr.weights = s.Batch, s.Weights
}

// BuildPool draws the offline methods' fixed pool of reference samples and
// their rewards (ReFT keeps only the best KeepFraction); the online methods
// have none. Step calls it when needed.
func (tr *Trainer) BuildPool() error { return tr.source.prepare(tr) }

// Pool is the offline methods' fixed pool of reference samples (nil for the
// online methods, or before BuildPool).
func (tr *Trainer) Pool() *Samples {
	if p, ok := tr.source.(*offlinePool); ok {
		return p.samples
	}
	return nil
}

// SetPool sets the pool (read back from a run directory) of an offline method.
func (tr *Trainer) SetPool(p *Samples) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if !slices.Equal(p.Shape, tr.env.Base.SampleShape()) {
		return fmt.Errorf("a pool of points of shape %v does not fit the base model's %v", p.Shape, tr.env.Base.SampleShape())
	}
	pool, ok := tr.source.(*offlinePool)
	if !ok {
		return fmt.Errorf("method %s draws online: it has no pool", tr.cfg.Method)
	}
	pool.samples = p
	return nil
}

// Online reports whether the method draws its samples from the policy (true)
// or from a fixed pool (false).
func (tr *Trainer) Online() bool { return tr.spec.Online }

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

// stats returns the mean, standard deviation, minimum and maximum.
func stats(x []float64) (mean, std, lo, hi float64) {
	if len(x) == 0 {
		return
	}
	lo, hi = x[0], x[0]
	for _, v := range x {
		mean += v
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	mean /= float64(len(x))
	for _, v := range x {
		std += (v - mean) * (v - mean)
	}
	std = math.Sqrt(std / float64(len(x)))
	return
}

// StepCount is the number of gradient steps done.
func (tr *Trainer) StepCount() int64 { return tr.step }

// Params are the trainee's current weights (replaced, not mutated, by Step).
func (tr *Trainer) Params() *nets.Params { return tr.params }

// Config is the trainer's configuration.
func (tr *Trainer) Config() Config { return tr.cfg }

// Env is the trainer's environment (backend, base generator, reward, judge).
func (tr *Trainer) Env() Env { return tr.env }
