package orw

import (
	"fmt"
	"math"
	"math/rand/v2"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/optim"
	"github.com/orwcfm/orwcfm/pkg/orw/ot"
)

// This file holds the conditional flow-matching pieces, one small function per
// equation (docs/method.md, "1 Conditional flow matching"):
//
//	x_t = t·x1 + (1−t)·x0               the probability path (rectified flow)
//	u   = x1 − x0                       its conditional velocity, the regression target
//	fm  = mean_pixels ‖v(t, x_t) − u‖²  the per-sample CFM term
//
// The host draws t and x0 from the run's seeded random number generator, so
// that a run is repeatable and resumable; the graph only does arithmetic.

// Path is the conditional probability path between noise x0 and data x1: the
// straight line of rectified flow (I-CFM with σ = 0, as in the paper).
type Path struct{}

// Xt is the point x_t = t·x1 + (1−t)·x0 of the path at time t (t has shape
// [B]; x0 and x1 [B, ...]).
func (Path) Xt(x0, x1, t *Node) *Node {
	tb := broadcastTime(t, x1)
	return Add(Mul(tb, x1), Mul(OneMinus(tb), x0))
}

// U is the conditional velocity u = x1 − x0 of the path, the target of the
// regression.
func (Path) U(x0, x1 *Node) *Node { return Sub(x1, x0) }

// broadcastTime reshapes t [B] to [B, 1, ..., 1] to broadcast against x.
func broadcastTime(t, x *Node) *Node {
	dims := make([]int, x.Rank())
	for i := range dims {
		dims[i] = 1
	}
	dims[0] = x.Shape().Dimensions[0]
	return Reshape(t, dims...)
}

// perSampleMean averages x over all axes but the batch axis: [B, ...] → [B].
func perSampleMean(x *Node) *Node {
	axes := make([]int, 0, x.Rank()-1)
	for i := 1; i < x.Rank(); i++ {
		axes = append(axes, i)
	}
	if len(axes) == 0 {
		return x
	}
	return ReduceMean(x, axes...)
}

// CFMTerm is the per-sample flow-matching error mean_pixels ‖v − u‖², shape [B].
func CFMTerm(v, u *Node) *Node { return perSampleMean(Square(Sub(v, u))) }

// W2Term is the per-sample velocity discrepancy mean_pixels ‖v_ft − v_ref‖², shape [B]:
// its expectation over t and x_t bounds the squared W2 distance between the
// fine-tuned and the reference output distributions (docs/method.md, "3 The W2
// regulariser").
func W2Term(v, vRef *Node) *Node { return perSampleMean(Square(Sub(v, vRef))) }

// ORWLoss is the paper's Eq. 10 on a batch: mean_i( w_i·fm_i + α·w2_i ).
// The W2 term is not multiplied by the weights. w2 may be nil when alpha is 0.
func ORWLoss(w, fm, w2 *Node, alpha float64) *Node {
	if alpha == 0 || w2 == nil {
		return orwLoss(w, fm, nil, nil)
	}
	return orwLoss(w, fm, w2, Scalar(w2.Graph(), w2.DType(), alpha))
}

// orwLoss is ORWLoss with α a node: a scalar, or one coefficient per sample
// ([B], ADRPO). A nil alpha drops the W2 term. The trainer's loss is built
// here, with α an input of the graph.
func orwLoss(w, fm, w2, alpha *Node) *Node {
	per := Mul(w, fm)
	if alpha != nil && w2 != nil {
		per = Add(per, Mul(w2, alpha))
	}
	return ReduceAllMean(per)
}

// SampleTimes draws n times uniformly from [0, 1).
func SampleTimes(rng *rand.Rand, n int) []float32 {
	t := make([]float32, n)
	for i := range t {
		t[i] = float32(rng.Float64())
	}
	return t
}

// SampleNoise draws n standard normal values.
func SampleNoise(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// Coupling pairs noise with data in a minibatch. Pair returns a permutation perm
// of the noise rows so that x0[perm[i]] goes with x1[i]: x1 keeps its order, so
// weights computed for x1 stay attached to their samples (docs/method.md, "6 Where
// we deviate from the paper").
type Coupling interface {
	Pair(x0, x1 []float32, n int) ([]int, error)
	Name() string
}

// Independent is the I-CFM coupling: x0 and x1 are paired as drawn.
type Independent struct{}

// Pair returns the identity permutation.
func (Independent) Pair(_, _ []float32, n int) ([]int, error) {
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	return perm, nil
}

// Name is "independent".
func (Independent) Name() string { return "independent" }

// ExactOT is the OT-CFM coupling: an exact optimal-transport assignment between
// the noise and the data rows of a minibatch under the squared Euclidean cost.
type ExactOT struct{}

// Name is "ot".
func (ExactOT) Name() string { return "ot" }

// Pair solves the assignment problem min_π Σ_i ‖x1_i − x0_π(i)‖².
func (ExactOT) Pair(x0, x1 []float32, n int) ([]int, error) {
	if n == 0 {
		return nil, nil
	}
	if len(x0) != len(x1) || len(x1)%n != 0 {
		return nil, fmt.Errorf("ot coupling: x0 has %d values and x1 %d for %d samples", len(x0), len(x1), n)
	}
	d := len(x1) / n
	cost := make([][]float64, n)
	for i := range cost {
		cost[i] = make([]float64, n)
		a := x1[i*d : (i+1)*d]
		for j := range n {
			b := x0[j*d : (j+1)*d]
			var s float64
			for k := range a {
				diff := float64(a[k] - b[k])
				s += diff * diff
			}
			cost[i][j] = s
		}
	}
	perm, _, err := ot.Assign(cost)
	return perm, err
}

// Permute returns rows of x (n rows) in the order perm.
func Permute(x []float32, n int, perm []int) []float32 {
	d := len(x) / n
	out := make([]float32, len(x))
	for i, j := range perm {
		copy(out[i*d:(i+1)*d], x[j*d:(j+1)*d])
	}
	return out
}

// isFinite reports whether f is neither NaN nor infinite.
func isFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// CFMLoss is the plain conditional flow-matching loss mean_i fm_i for pretraining
// (the paper's CFM objective; docs/method.md, "1 Conditional flow matching").
// Its batch inputs are x1, x0 (already paired by a coupling), t, and, for a
// class-conditional flow, labels.
func CFMLoss(flow nets.Velocity) optim.LossFn {
	specs := flow.Specs()
	cond := flow.Config().NumClasses > 0
	return func(p, batch []*Node) (*Node, []*Node) {
		w := nets.Bind(specs, p)
		x1, x0, t := batch[0], batch[1], batch[2]
		var labels *Node
		if cond {
			labels = batch[3]
		}
		path := Path{}
		xt := path.Xt(x0, x1, t)
		v := flow.Apply(w, t, xt, labels)
		return ReduceAllMean(CFMTerm(v, path.U(x0, x1))), nil
	}
}
