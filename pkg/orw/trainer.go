package orw

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/orwcfm/orwcfm/pkg/orw/metrics"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/optim"
)

// Judge sorts images into classes, for diversity metrics (which digits does the
// model draw?). Tasks provide one; a run works without. A judge that also has
// a method Frechet(*Images) (float64, error) gets the Fréchet distance of the
// evaluation images to real data reported at every evaluation (NaN: none).
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
	update   *optim.Updater

	params   *nets.Params // the trainee v_ft
	snapshot *nets.Params // the policy that draws online samples
	opt      *optim.State
	rng      *RNG
	step     int64
	batch    *Samples  // the current x1 batch (reused for StepsPerBatch steps)
	weights  []float64 // its weights w
	pool     *Samples  // the offline methods' fixed pool

	block  *onlineBlock // online draws made ahead from the current snapshot
	scored *Exec        // sampling, decoding and scoring in one graph (GraphReward only)

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
	tr := &Trainer{cfg: cfg, spec: cfg.Spec(), env: env, coupling: cfg.Coupling.Coupling(), rng: NewRNG(cfg.Seed)}
	tr.params = env.Base.Params.Clone()
	tr.snapshot = tr.params
	tr.opt = optim.NewState(tr.params, cfg.Optim)
	var err error
	tr.update, err = optim.New(env.Backend, cfg.Optim, tr.params.Len(), orwLoss(env.Base.Flow, cfg.Alpha))
	if err != nil {
		return nil, err
	}
	return tr, nil
}

// orwLoss is Eq. 10 as an optimiser loss: mean_i(w_i·fm_i + α·w2_i). Its batch
// is x1, x0, t, w, labels (conditional flows only), then the reference weights.
// The W2 term is computed even when α = 0, for the metrics, but only enters the
// loss when α > 0. Aux outputs: fm [B], w2 [B].
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
		xt := path.Xt(x0, x1, t)
		v := flow.Apply(nets.Bind(specs, p), t, xt, labels)
		vRef := StopGradient(flow.Apply(nets.Bind(specs, ref), t, xt, labels))
		fm := CFMTerm(v, path.U(x0, x1))
		w2 := W2Term(v, vRef)
		return ORWLoss(w, fm, w2, alpha), []*Node{fm, w2}
	}
}

// Step performs one gradient step: one iteration of Algorithm 1 (see step).
// When it fails, or the reward panics, nothing changes: the trainer is as it
// was before the call (the RNG included), so the step can be retried or the
// run saved as it was.
func (tr *Trainer) Step() (rec StepRecord, err error) {
	if !tr.spec.Online && tr.pool == nil {
		if err := tr.BuildPool(); err != nil {
			return StepRecord{}, err
		}
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
	return tr.step1()
}

// step1 is one iteration of Algorithm 1 (docs/method.md, "Algorithm 1"):
//
//  1. every K steps, refresh the policy snapshot from the trainee;
//  2. draw x1 from the snapshot (online) or the pool (offline), score r(x1);
//  3. weight the samples, w = exp(τ·r(x1));
//  4. draw noise x0, pair it with x1 (the coupling) and draw t ~ U(0, 1);
//  5. take a gradient step on Eq. 10, mean_i(w_i·fm_i + α·w2_i).
func (tr *Trainer) step1() (StepRecord, error) {
	rec := StepRecord{Kind: "train", Step: tr.step + 1, LR: tr.cfg.Optim.LearningRate(tr.step)}
	// 1. Refresh the policy snapshot. Parameters are replaced, never mutated,
	// by an update, so sharing the tensors is a copy.
	if tr.step%int64(tr.cfg.RefreshEvery) == 0 {
		tr.snapshot = &nets.Params{Names: tr.params.Names, Tensors: slices.Clone(tr.params.Tensors)}
	}
	t0 := time.Now()
	if tr.batch == nil || tr.step%int64(tr.cfg.StepsPerBatch) == 0 {
		// 2. Draw and score x1.
		batch, err := tr.drawBatch()
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
	b := tr.cfg.Batch
	w32 := make([]float32, b)
	for i, w := range tr.weights {
		w32[i] = float32(w)
	}
	inputs := []*tensors.Tensor{tr.batch.Tensor(), x0, tensors.FromFlatDataAndDimensions(t, b), tensors.FromFlatDataAndDimensions(w32, b)}
	if tr.batch.Labels != nil {
		inputs = append(inputs, tensors.FromFlatDataAndDimensions(tr.batch.Labels, b))
	}
	inputs = append(inputs, tr.env.Base.Params.Tensors...)
	res, err := tr.update.Step(tr.params, tr.opt, inputs...)
	if err != nil {
		if errors.Is(err, optim.ErrNonFinite) {
			err = fmt.Errorf("the loss is %g (gradient norm %g): %w; lower Tau or the learning rate, or set NormalizeWeights", res.Loss, res.GradNorm, err)
		}
		return rec, err
	}
	rec.TrainMS = msSince(t1)
	tr.step++
	tr.record(&rec, res)
	return rec, nil
}

// drawBatch draws x1 and its rewards: online from the policy snapshot (keeping
// the best Keep fraction of ceil(Batch/Keep) candidates), or offline from the pool.
//
// Online draws come from the snapshot, which stays fixed for the K steps of a
// refresh period, so the trainer makes them ahead: at the first draw of a
// block it draws and scores the candidates of every draw of the block (all the
// draws of the period, unless they would hold more than maxBlockValues
// values), and the following draws take their share. That is the same
// distribution as drawing at each step, in larger and fewer calls that run
// side by side (see scoreInChunks). Each block has its own random stream,
// derived from the seed and the step of its first draw (blockRNG), so a block
// is a function of the seed, the snapshot and the step alone: a resumed run
// draws it again, identically. Only the candidates are kept, not their images.
func (tr *Trainer) drawBatch() (*Samples, error) {
	b := tr.cfg.Batch
	if !tr.spec.Online {
		idx := make([]int, b)
		for i := range idx {
			idx[i] = tr.rng.IntN(tr.pool.Len())
		}
		return tr.pool.Gather(idx), nil
	}
	c := int(math.Ceil(float64(b) / tr.spec.Keep))
	first, draws, i := tr.drawSchedule(tr.step, c)
	if blk := tr.block; blk == nil || blk.first != first || !slices.Equal(blk.snapshot, tr.snapshot.Tensors) {
		tr.block = nil // free it before drawing the next
		blk, err := tr.drawBlock(first, draws, c)
		if err != nil {
			return nil, err
		}
		tr.block = blk
	}
	cand := tr.block.cand.Slice(i*c, (i+1)*c)
	if c == b {
		return cand, nil
	}
	return cand.Best(b), nil
}

// maxBlockValues bounds the values of x1 an online block holds (64 MB of
// float32): the mnist-even job's period of 100 draws of 128 latent codes holds
// 204,800, 100 draws of 64 MNIST images 5 million.
const maxBlockValues = 1 << 24

// onlineBlock holds the scored candidates of consecutive online draws from one
// policy snapshot (see drawBatch).
type onlineBlock struct {
	first    int64             // the step of its first draw
	snapshot []*tensors.Tensor // the snapshot's weights that drew it
	cand     *Samples          // the candidates of every draw, in draw order
}

// drawSchedule places the online draw of step s: the step of the first draw of
// its block, the number of draws in that block and s's index among them. The
// draws of a refresh period are its steps that are multiples of StepsPerBatch;
// they form blocks of at most maxBlockValues/(c × sample size) draws of c
// candidates each.
func (tr *Trainer) drawSchedule(s int64, c int) (first int64, draws, index int) {
	k, p := int64(tr.cfg.RefreshEvery), int64(tr.cfg.StepsPerBatch)
	if s%p != 0 {
		// A state without a batch at a step that reuses one (only a hand-made
		// TrainerState has that): draw for this step alone.
		return s, 1, 0
	}
	s0 := s - s%k              // the period's first step
	d0 := (s0 + p - 1) / p * p // its first draw (s is a draw, so d0 <= s)
	total := int((s0+k-1-d0)/p) + 1
	i := int((s - d0) / p)
	per := max(1, maxBlockValues/(c*tr.env.Base.SampleSize()))
	blk := i / per
	return d0 + int64(blk*per)*p, min(per, total-blk*per), i - blk*per
}

// blockStream separates the streams of the online blocks from the run's own.
const blockStream = 0x0b10c5

// blockRNG is the random stream of the online block whose first draw is at
// step first: a function of the seed and that step only.
func (tr *Trainer) blockRNG(first int64) *RNG {
	src := rand.NewPCG(tr.cfg.Seed, splitmix64(blockStream^uint64(first)))
	return &RNG{Rand: rand.New(src), src: src}
}

// splitmix64 scrambles x (the SplitMix64 finaliser), so that neighbouring
// steps give unrelated generator states.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// drawBlock draws and scores the candidates of draws online draws of c points
// each from the snapshot, with the block's own stream: per draw, the noise and
// then the labels (conditional flows).
func (tr *Trainer) drawBlock(first int64, draws, c int) (*onlineBlock, error) {
	rng := tr.blockRNG(first)
	base := tr.env.Base
	size, k := base.SampleSize(), base.NumClasses()
	n := draws * c
	noise := make([]float32, 0, n*size)
	var labels []int32
	for range draws {
		noise = append(noise, SampleNoise(rng.Rand, c*size)...)
		labels = append(labels, drawLabels(rng, k, c)...)
	}
	cand, err := tr.scoreInChunks(tr.snapshot, noise, labels, n)
	if err != nil {
		return nil, err
	}
	return &onlineBlock{first: first, snapshot: slices.Clone(tr.snapshot.Tensors), cand: cand}, nil
}

// scoreChunk is the number of points sampled, decoded and scored per graph
// call: small enough that two calls run side by side on two cores (forChunks),
// large enough for efficient matrix products.
const scoreChunk = 64

// scoreInChunks samples n points from the generator with weights params (nil:
// the base model) from the given noise and labels, and scores them, scoreChunk
// points per call and several calls at once. A GraphReward is computed inside
// the sampling graph; any other reward is called on each chunk's images, one
// call at a time. Each point's value depends only on its own noise and chunk,
// never on the number of calls running at once.
func (tr *Trainer) scoreInChunks(params *nets.Params, noise []float32, labels []int32, n int) (*Samples, error) {
	base := tr.env.Base
	if params == nil {
		params = base.Params
	}
	size := base.SampleSize()
	gr, fused := tr.env.Reward.(GraphReward)
	if fused && tr.scored == nil {
		e, err := base.scoredSamplerExec(tr.env.Backend, tr.cfg.Sampler, gr)
		if err != nil {
			return nil, err
		}
		tr.scored = e
	}
	var rewardParams []*tensors.Tensor
	if fused {
		rewardParams = gr.RewardParams()
	}
	if err := toDevice(tr.env.Backend, params.Tensors, base.decoderTensors(), rewardParams); err != nil {
		return nil, err
	}
	x1 := make([]float32, n*size)
	r := make([]float64, n)
	var rewardMu sync.Mutex
	chunks := (n + scoreChunk - 1) / scoreChunk
	err := forChunks(chunks, func(ch int) error {
		i0, i1 := ch*scoreChunk, min((ch+1)*scoreChunk, n)
		var l []int32
		if labels != nil {
			l = labels[i0:i1]
		}
		if fused {
			args := base.graphArgs(params, len(gr.RewardParams())+2)
			for _, t := range gr.RewardParams() {
				args = append(args, t)
			}
			args, err := base.appendInputs(args, noise[i0*size:i1*size], i1-i0, l)
			if err != nil {
				return err
			}
			outs, err := tr.scored.Call(args...)
			if err != nil {
				return fmt.Errorf("sample and score: %w", err)
			}
			copy(x1[i0*size:], nets.Float32s(outs[0]))
			for i, v := range nets.Float32s(outs[1]) {
				r[i0+i] = float64(v)
			}
			return nil
		}
		x, imgs, err := base.Sample(tr.env.Backend, tr.cfg.Sampler, params, noise[i0*size:i1*size], i1-i0, l)
		if err != nil {
			return err
		}
		copy(x1[i0*size:], nets.Float32s(x))
		rewardMu.Lock()
		defer rewardMu.Unlock()
		part, err := tr.env.Reward.Reward(imgs)
		if err != nil {
			return fmt.Errorf("reward: %w", err)
		}
		if len(part) != i1-i0 {
			return CheckRewards(part, i1-i0)
		}
		copy(r[i0:], part)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := CheckRewards(r, n); err != nil {
		return nil, err
	}
	return &Samples{X: x1, Shape: base.SampleShape(), Labels: labels, Rewards: r}, nil
}

// drawLabels draws uniform class labels for a flow with k classes (nil when k is 0).
func drawLabels(rng *RNG, k, n int) []int32 {
	if k == 0 {
		return nil
	}
	l := make([]int32, n)
	for i := range l {
		l[i] = int32(rng.IntN(k))
	}
	return l
}

// pathInputs draws the noise x0 (paired with the batch by the coupling) and the
// times t of the conditional paths.
func (tr *Trainer) pathInputs() (*tensors.Tensor, []float32, error) {
	b := tr.cfg.Batch
	x0 := SampleNoise(tr.rng.Rand, b*tr.env.Base.SampleSize())
	if _, ok := tr.coupling.(Independent); !ok {
		perm, err := tr.coupling.Pair(x0, tr.batch.X, b)
		if err != nil {
			return nil, nil, err
		}
		x0 = Permute(x0, b, perm)
	}
	t := SampleTimes(tr.rng.Rand, b)
	return tensors.FromFlatDataAndDimensions(x0, append([]int{b}, tr.env.Base.SampleShape()...)...), t, nil
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
// trainer replaces them, never mutates them.
func (tr *Trainer) State() TrainerState {
	opt := *tr.opt
	return TrainerState{Step: tr.step, Params: tr.params, Snapshot: tr.snapshot, Optim: &opt, RNG: tr.rng.State(), Batch: tr.batch, Weights: tr.weights}
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
	tr.block = nil
	return nil
}

// restore sets the state without checking it.
func (tr *Trainer) restore(s TrainerState) {
	tr.step, tr.params, tr.snapshot = s.Step, s.Params, s.Snapshot
	opt := *s.Optim
	tr.opt = &opt
	_ = tr.rng.SetState(s.RNG)
	tr.batch, tr.weights = s.Batch, s.Weights
}

// Pool is the offline methods' fixed pool of reference samples (nil for the
// online methods, or before BuildPool).
func (tr *Trainer) Pool() *Samples { return tr.pool }

// SetPool sets the pool (read back from a run directory).
func (tr *Trainer) SetPool(p *Samples) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if !slices.Equal(p.Shape, tr.env.Base.SampleShape()) {
		return fmt.Errorf("a pool of points of shape %v does not fit the base model's %v", p.Shape, tr.env.Base.SampleShape())
	}
	tr.pool = p
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
