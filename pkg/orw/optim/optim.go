// Package optim is the optimiser of every training loop in orwcfm: Adam with a
// linear learning-rate warm-up, global gradient-norm clipping and an optional
// exponential moving average (EMA) of the weights, compiled once into one graph
// per loss.
//
// Parameters are explicit tensors (nets.Params), not hidden variables: a training
// step takes the parameters and optimiser state in and gives the new ones out, so
// that snapshots, checkpoints and exact resumption are plain copies.
package optim

import (
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/orwcfm/orwcfm/pkg/orw/nets"
)

// Config holds the optimiser's hyperparameters. DefaultConfig returns the
// values of the paper's reference script.
type Config struct {
	// LR is Adam's learning rate after warm-up.
	LR float64 `json:"lr"`
	// Beta1, Beta2 and Eps are Adam's moment decays and denominator offset.
	Beta1 float64 `json:"beta1"`
	Beta2 float64 `json:"beta2"`
	Eps   float64 `json:"eps"`
	// WarmupSteps ramps the learning rate linearly from LR/WarmupSteps to LR.
	WarmupSteps int `json:"warmup_steps"`
	// ClipNorm rescales the gradient so that its global L2 norm is at most ClipNorm (0: off).
	ClipNorm float64 `json:"clip_norm"`
	// DecaySteps > 0 decays the learning rate along a half cosine from LR (after
	// warm-up) to 0 at step DecaySteps (0: constant after warm-up).
	DecaySteps int64 `json:"decay_steps,omitempty"`
	// EMADecay > 0 keeps an exponential moving average of the weights (e.g. 0.999).
	EMADecay float64 `json:"ema_decay,omitempty"`
}

// DefaultConfig is Adam with lr 2e-4, betas (0.9, 0.999), eps 1e-8, clipping at
// norm 1 and no warm-up, as in the paper's reference script (whose warm-up is
// 5,000 steps; set WarmupSteps for that). Fine-tuning takes it through
// orw.DefaultConfig.
func DefaultConfig() Config {
	return Config{LR: 2e-4, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, ClipNorm: 1}
}

// Validate reports hyperparameters that cannot work.
func (c Config) Validate() error {
	switch {
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("optim: learning rate must be positive and finite, got %g", c.LR)
	case c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1:
		return fmt.Errorf("optim: Adam betas must be in [0, 1), got %g and %g", c.Beta1, c.Beta2)
	case !(c.Eps > 0):
		return fmt.Errorf("optim: Adam eps must be positive, got %g", c.Eps)
	case c.WarmupSteps < 0:
		return fmt.Errorf("optim: warm-up steps must be >= 0, got %d", c.WarmupSteps)
	case c.ClipNorm < 0 || math.IsNaN(c.ClipNorm):
		return fmt.Errorf("optim: clip norm must be >= 0 (0 turns clipping off), got %g", c.ClipNorm)
	case c.DecaySteps < 0:
		return fmt.Errorf("optim: decay steps must be >= 0 (0 turns decay off), got %d", c.DecaySteps)
	case c.EMADecay < 0 || c.EMADecay >= 1:
		return fmt.Errorf("optim: EMA decay must be in [0, 1) (0 turns it off), got %g", c.EMADecay)
	}
	return nil
}

// State is the optimiser's state next to the parameters.
type State struct {
	// Step counts the updates applied so far.
	Step int64
	// M and V are Adam's first and second moments, shaped like the parameters.
	M, V *nets.Params
	// EMA is the moving average of the weights (nil when Config.EMADecay is 0).
	EMA *nets.Params
}

// NewState returns a zero state for params.
func NewState(params *nets.Params, cfg Config) *State {
	s := &State{M: params.Zeros().Prefixed("adam_m"), V: params.Zeros().Prefixed("adam_v")}
	if cfg.EMADecay > 0 {
		s.EMA = params.Clone().Prefixed("ema")
	}
	return s
}

// LossFn builds a scalar loss from the trainable parameters and the batch
// (and any frozen tensors passed with it). aux are extra outputs returned by
// Step, for metrics.
type LossFn func(params []*Node, batch []*Node) (loss *Node, aux []*Node)

// Updater applies compiled update steps of one loss: the loss, its gradient,
// clipping and Adam in one graph call.
type Updater struct {
	cfg  Config
	exec *Exec
	n    int // number of parameter tensors
}

// ErrNonFinite is returned by Step when the loss or the gradient is NaN or infinite;
// the update is skipped and parameters and state are left unchanged.
var ErrNonFinite = errors.New("optim: the loss or its gradient is not finite")

// New compiles (lazily, on the first Step) a training step of lossFn for
// numParams parameter tensors.
func New(backend compute.Backend, cfg Config, numParams int, lossFn LossFn) (*Updater, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t := &Updater{cfg: cfg, n: numParams}
	ema := cfg.EMADecay > 0
	exec, err := NewExec(backend, func(in []*Node) []*Node {
		n := numParams
		p, m, v := in[:n], in[n:2*n], in[2*n:3*n]
		k := 3 * n
		var e []*Node
		if ema {
			e = in[k : k+n]
			k += n
		}
		step := in[k]
		batch := in[k+1:]
		loss, aux := lossFn(p, batch)
		grads := Gradient(loss, p...)
		return append(update(cfg, p, m, v, e, step, loss, grads), aux...)
	})
	if err != nil {
		return nil, err
	}
	t.exec = exec.WithName("optim.Step")
	return t, nil
}

// update is Adam with warm-up, clipping, EMA and a skip on non-finite values.
// Outputs: p', m', v', [ema'], loss, gradient norm (before clipping), finite flag.
func update(cfg Config, p, m, v, e []*Node, step, loss *Node, grads []*Node) []*Node {
	g := loss.Graph()
	dt := dtypes.Float32
	var sq *Node
	for _, gr := range grads {
		s := ReduceAllSum(Square(gr))
		if sq == nil {
			sq = s
		} else {
			sq = Add(sq, s)
		}
	}
	norm := Sqrt(sq)
	finite := LogicalAnd(IsFinite(norm), IsFinite(loss))
	scale := ScalarOne(g, dt)
	if cfg.ClipNorm > 0 {
		scale = MinScalar(Div(Scalar(g, dt, cfg.ClipNorm), AddScalar(norm, 1e-12)), 1)
	}
	t := AddScalar(step, 1) // 1-based step of this update
	lr := Scalar(g, dt, cfg.LR)
	if cfg.WarmupSteps > 0 {
		lr = Mul(lr, MinScalar(DivScalar(t, float64(cfg.WarmupSteps)), 1))
	}
	if cfg.DecaySteps > 0 {
		frac := MinScalar(DivScalar(t, float64(cfg.DecaySteps)), 1)
		lr = Mul(lr, MulScalar(OnePlus(Cos(MulScalar(frac, math.Pi))), 0.5))
	}
	bc1 := OneMinus(Pow(Scalar(g, dt, cfg.Beta1), t))
	bc2 := OneMinus(Pow(Scalar(g, dt, cfg.Beta2), t))
	n := len(p)
	out := make([]*Node, 0, 4*n+3)
	newP, newM, newV := make([]*Node, n), make([]*Node, n), make([]*Node, n)
	for i := range p {
		gr := Mul(grads[i], scale)
		mi := Add(MulScalar(m[i], cfg.Beta1), MulScalar(gr, 1-cfg.Beta1))
		vi := Add(MulScalar(v[i], cfg.Beta2), MulScalar(Square(gr), 1-cfg.Beta2))
		upd := Div(Div(mi, bc1), AddScalar(Sqrt(Div(vi, bc2)), cfg.Eps))
		pi := Sub(p[i], Mul(lr, upd))
		newP[i] = Where(finite, pi, p[i])
		newM[i] = Where(finite, mi, m[i])
		newV[i] = Where(finite, vi, v[i])
	}
	out = append(out, newP...)
	out = append(out, newM...)
	out = append(out, newV...)
	for i := range e {
		ei := Add(MulScalar(e[i], cfg.EMADecay), MulScalar(newP[i], 1-cfg.EMADecay))
		out = append(out, Where(finite, ei, e[i]))
	}
	return append(out, loss, norm, finite)
}

// Result is what one step reports.
type Result struct {
	Loss     float64
	GradNorm float64
	// Aux are the extra outputs of the LossFn.
	Aux []*tensors.Tensor
}

// Step applies one update to params and state (their tensors are replaced by new
// ones) with the given batch tensors. On a non-finite loss or gradient it leaves
// both unchanged and returns ErrNonFinite together with the result.
func (t *Updater) Step(params *nets.Params, state *State, batch ...*tensors.Tensor) (Result, error) {
	n := t.n
	if params.Len() != n || state.M.Len() != n || state.V.Len() != n {
		return Result{}, fmt.Errorf("optim: updater built for %d parameter tensors, got %d (moments %d, %d)",
			n, params.Len(), state.M.Len(), state.V.Len())
	}
	ema := t.cfg.EMADecay > 0
	if ema && (state.EMA == nil || state.EMA.Len() != n) {
		return Result{}, fmt.Errorf("optim: EMA is on but the state has no EMA weights")
	}
	args := make([]any, 0, 4*n+1+len(batch))
	for _, x := range params.Tensors {
		args = append(args, x)
	}
	for _, x := range state.M.Tensors {
		args = append(args, x)
	}
	for _, x := range state.V.Tensors {
		args = append(args, x)
	}
	if ema {
		for _, x := range state.EMA.Tensors {
			args = append(args, x)
		}
	}
	args = append(args, tensors.FromScalar(float32(state.Step)))
	for _, b := range batch {
		args = append(args, b)
	}
	outs, err := t.exec.Call(args...)
	if err != nil {
		return Result{}, fmt.Errorf("optim: training step failed: %w", err)
	}
	k := 3 * n
	if ema {
		k += n
	}
	res := Result{
		Loss:     float64(tensors.ToScalar[float32](outs[k])),
		GradNorm: float64(tensors.ToScalar[float32](outs[k+1])),
		Aux:      outs[k+3:],
	}
	if !tensors.ToScalar[bool](outs[k+2]) {
		return res, ErrNonFinite
	}
	copy(params.Tensors, outs[:n])
	copy(state.M.Tensors, outs[n:2*n])
	copy(state.V.Tensors, outs[2*n:3*n])
	if ema {
		copy(state.EMA.Tensors, outs[3*n:4*n])
	}
	state.Step++
	return res, nil
}

// LearningRate is the schedule (warm-up, cosine decay) at a 0-based step, as the graph computes it.
func (c Config) LearningRate(step int64) float64 {
	lr := c.LR
	t := float64(step + 1)
	if c.WarmupSteps > 0 {
		lr *= math.Min(1, t/float64(c.WarmupSteps))
	}
	if c.DecaySteps > 0 {
		lr *= 0.5 * (1 + math.Cos(math.Pi*math.Min(t/float64(c.DecaySteps), 1)))
	}
	return lr
}
