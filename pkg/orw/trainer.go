package orw

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/optim"
)

// Judge sorts images into classes, for diversity metrics (which digits does the
// model draw?). Tasks provide one; a run works without.
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
	// Sampled tells whether a new batch was drawn for this step; SampleMS and
	// TrainMS are the wall times of drawing it and of the update.
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
	EvalMS      float64 `json:"eval_ms"`
}

// Trainer is a fine-tuning run in memory: the trainee, its optimiser, the policy
// snapshot, the RNG and the current batch. Run wraps it with a directory (for
// notebooks, resumption and crash safety); benchmarks and tests step it directly.
type Trainer struct {
	cfg  Config
	spec MethodSpec
	env  Env

	params   *nets.Params // the trainee v_ft
	snapshot *nets.Params // the policy that draws online samples
	opt      *optim.State
	rng      *RNG
	step     int64

	// The current batch (reused for StepsPerBatch steps).
	x1      *tensors.Tensor
	labels  []int32
	rewards []float64
	weights []float64

	pool *pool

	coupling   Coupling
	update     *optim.Trainer
	w2exec     *Exec
	evalNoise  []float32
	evalLabels []int32
	refEval    *Images
}

// pool is the fixed set of reference samples of the offline methods.
type pool struct {
	x       []float32 // N points of the flow space
	labels  []int32
	rewards []float64
	n       int
}

// newTrainer builds a trainer at step 0 from the base generator.
func NewTrainer(cfg Config, env Env) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if env.Backend == nil || env.Base == nil || env.Reward == nil {
		return nil, fmt.Errorf("fine-tuning needs a backend, a base generator and a reward")
	}
	coupling, err := ParseCoupling(cfg.Coupling)
	if err != nil {
		return nil, err
	}
	tr := &Trainer{cfg: cfg, spec: cfg.Spec(), env: env, coupling: coupling, rng: NewRNG(cfg.Seed)}
	tr.params = env.Base.Params.Clone()
	tr.snapshot = tr.params
	tr.opt = optim.NewState(tr.params, cfg.Optim)
	tr.update, err = optim.New(env.Backend, cfg.Optim, tr.params.Len(), orwLoss(env.Base.Flow, cfg.Alpha))
	if err != nil {
		return nil, err
	}
	return tr, nil
}

// orwLoss is Eq. 10: mean_i(w_i·fm_i + α·w2_i). Its batch is x1, x0, t, w,
// labels (conditional flows only), then the reference weights. The W2 term is
// computed even when α = 0, for the metrics, but only enters the loss when α > 0.
// Aux outputs: fm [B], w2 [B].
func orwLoss(flow nets.Velocity, alpha float64) optim.LossFn {
	specs := flow.Specs()
	cond := flow.Config().NumClasses > 0
	path := Path{}
	return func(p, batch []*Node) (*Node, []*Node) {
		x1, x0, t, w := batch[0], batch[1], batch[2], batch[3]
		k := 4
		var labels *Node
		if cond {
			labels = batch[k]
			k++
		}
		ref := batch[k:]
		xt := path.Xt(x0, x1, t, nil)
		v := flow.Apply(nets.Bind(specs, p), t, xt, labels)
		vRef := StopGradient(flow.Apply(nets.Bind(specs, ref), t, xt, labels))
		fm := CFMTerm(v, path.U(x0, x1))
		w2 := W2Term(v, vRef)
		return ORWLoss(w, fm, w2, alpha), []*Node{fm, w2}
	}
}

// drawLabels draws uniform class labels for a conditional flow (nil otherwise).
func (tr *Trainer) drawLabels(n int) []int32 {
	k := tr.env.Base.NumClasses()
	if k == 0 {
		return nil
	}
	l := make([]int32, n)
	for i := range l {
		l[i] = int32(tr.rng.IntN(k))
	}
	return l
}

// drawBatch draws x1 and its rewards: online from the policy snapshot (keeping
// the best Keep fraction of ceil(Batch/Keep) candidates), or offline from the pool.
func (tr *Trainer) drawBatch() error {
	b := tr.cfg.Batch
	size := tr.env.Base.SampleSize()
	dims := append([]int{b}, tr.env.Base.SampleShape()...)
	if !tr.spec.Online {
		idx := make([]int, b)
		x := make([]float32, b*size)
		var labels []int32
		if tr.pool.labels != nil {
			labels = make([]int32, b)
		}
		r := make([]float64, b)
		for i := range idx {
			j := tr.rng.IntN(tr.pool.n)
			copy(x[i*size:(i+1)*size], tr.pool.x[j*size:(j+1)*size])
			r[i] = tr.pool.rewards[j]
			if labels != nil {
				labels[i] = tr.pool.labels[j]
			}
		}
		tr.x1 = tensors.FromFlatDataAndDimensions(x, dims...)
		tr.labels, tr.rewards = labels, r
		return nil
	}
	c := int(math.Ceil(float64(b) / tr.spec.Keep))
	noise := SampleNoise(tr.rng.Rand, c*size)
	labels := tr.drawLabels(c)
	x1, imgs, err := tr.env.Base.Sample(tr.env.Backend, tr.cfg.Sampler, tr.snapshot, noise, c, labels)
	if err != nil {
		return err
	}
	r, err := tr.env.Reward.Reward(imgs)
	if err != nil {
		return fmt.Errorf("reward: %w", err)
	}
	if err := CheckRewards(r, c); err != nil {
		return err
	}
	if c == b {
		tr.x1, tr.labels, tr.rewards = x1, labels, r
		return nil
	}
	keep := TopIndices(r, b)
	all := nets.Float32s(x1)
	x := make([]float32, b*size)
	rk := make([]float64, b)
	var lk []int32
	if labels != nil {
		lk = make([]int32, b)
	}
	for i, j := range keep {
		copy(x[i*size:(i+1)*size], all[j*size:(j+1)*size])
		rk[i] = r[j]
		if lk != nil {
			lk[i] = labels[j]
		}
	}
	tr.x1 = tensors.FromFlatDataAndDimensions(x, dims...)
	tr.labels, tr.rewards = lk, rk
	return nil
}

// errStep wraps errors of a step that was rolled back.
type errStep struct {
	step int64
	err  error
}

func (e *errStep) Error() string { return fmt.Sprintf("step %d: %v", e.step+1, e.err) }
func (e *errStep) Unwrap() error { return e.err }

// Step performs one gradient step. On error nothing changes (the RNG is rolled
// back), so the step can be retried or the trainer saved as it was.
func (tr *Trainer) Step() (StepRecord, error) {
	if !tr.spec.Online && tr.pool == nil {
		if err := tr.buildPool(); err != nil {
			return StepRecord{}, err
		}
	}
	rngState := tr.rng.State()
	rollback := func(err error) (StepRecord, error) {
		_ = tr.rng.SetState(rngState)
		return StepRecord{}, &errStep{step: tr.step, err: err}
	}
	rec := StepRecord{Kind: "train", Step: tr.step + 1, LR: tr.cfg.Optim.LearningRate(tr.step)}
	snapshot := tr.snapshot
	if tr.step%int64(tr.cfg.RefreshEvery) == 0 {
		// Parameters are replaced, never mutated, by an update, so sharing the tensors is a copy.
		tr.snapshot = &nets.Params{Names: tr.params.Names, Tensors: slices.Clone(tr.params.Tensors)}
	}
	old := struct {
		x1      *tensors.Tensor
		labels  []int32
		rewards []float64
		weights []float64
	}{tr.x1, tr.labels, tr.rewards, tr.weights}
	restore := func() {
		tr.snapshot = snapshot
		tr.x1, tr.labels, tr.rewards, tr.weights = old.x1, old.labels, old.rewards, old.weights
	}
	t0 := time.Now()
	if tr.x1 == nil || tr.step%int64(tr.cfg.StepsPerBatch) == 0 {
		if err := tr.drawBatch(); err != nil {
			restore()
			return rollback(err)
		}
		w, err := tr.spec.Weighting.Weights(tr.rewards)
		if err != nil {
			restore()
			return rollback(err)
		}
		tr.weights = w
		rec.Sampled = true
	}
	rec.SampleMS = msSince(t0)
	b := tr.cfg.Batch
	size := tr.env.Base.SampleSize()
	dims := append([]int{b}, tr.env.Base.SampleShape()...)
	x0 := SampleNoise(tr.rng.Rand, b*size)
	if _, ok := tr.coupling.(Independent); !ok {
		perm, err := tr.coupling.Pair(x0, nets.Float32s(tr.x1), b)
		if err != nil {
			restore()
			return rollback(err)
		}
		x0 = Permute(x0, b, perm)
	}
	t := SampleTimes(tr.rng.Rand, b)
	w32 := make([]float32, b)
	for i, w := range tr.weights {
		w32[i] = float32(w)
	}
	batch := []*tensors.Tensor{tr.x1, tensors.FromFlatDataAndDimensions(x0, dims...), tensors.FromFlatDataAndDimensions(t, b), tensors.FromFlatDataAndDimensions(w32, b)}
	if tr.labels != nil {
		batch = append(batch, tensors.FromFlatDataAndDimensions(tr.labels, b))
	}
	batch = append(batch, tr.env.Base.Params.Tensors...)
	t1 := time.Now()
	res, err := tr.update.Step(tr.params, tr.opt, batch...)
	if err != nil {
		restore()
		if errors.Is(err, optim.ErrNonFinite) {
			err = fmt.Errorf("the loss is %g (gradient norm %g): %w; lower tau or the learning rate, or use --normalize-weights", res.Loss, res.GradNorm, err)
		}
		return rollback(err)
	}
	rec.TrainMS = msSince(t1)
	tr.step++
	fm, w2 := nets.Float32s(res.Aux[0]), nets.Float32s(res.Aux[1])
	for i := range fm {
		rec.FM += float64(fm[i]) / float64(b)
		rec.WeightedFM += tr.weights[i] * float64(fm[i]) / float64(b)
		rec.W2 += float64(w2[i]) / float64(b)
	}
	rec.Loss, rec.GradNorm = res.Loss, res.GradNorm
	rec.RewardMean, rec.RewardStd, rec.RewardMin, rec.RewardMax = stats(tr.rewards)
	rec.WeightMaxMean, rec.ESS = WeightStats(tr.weights)
	return rec, nil
}

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
