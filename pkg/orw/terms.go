package orw

import (
	"fmt"
	"math"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive

	"github.com/orwcfm/orwcfm/pkg/orw/nets"
)

// LossTerms is the paper's Eq. 10 taken apart on one batch, for teaching and
// for checking by hand: every quantity of the loss, computed by the very
// graph of the trainer's loss (Path.Xt, Path.U, CFMTerm, W2Term, ORWLoss:
// the same loss, bit for bit, on the same batch), and the size of the gradient that each of its two parts sends to
// the parameters.
//
// The values of the two parts are not what moves the model: the
// flow-matching term has a large floor that no parameter can lower (the
// spread of the targets x1 − x0 around their mean at a given x_t), which
// contributes no gradient, while the W2 term is zero at the reference and
// grows as the model leaves it. GradFM and GradW2 compare what the
// optimiser sees.
type LossTerms struct {
	// Xt, U, V and VRef are the path points x_t = t·x1 + (1−t)·x0, the
	// targets u = x1 − x0, and the velocities v_θ(t, x_t) and
	// v_ref(t, x_t): B·D values each, sample after sample.
	Xt, U, V, VRef []float32
	// FM and W2 are the per-sample terms fm_i = mean ‖v_θ − u‖² and
	// w2_i = mean ‖v_θ − v_ref‖² (B values each).
	FM, W2 []float32
	// Loss is mean_i(w_i·fm_i + α·w2_i), as ORWLoss computes it.
	Loss float64
	// GradFM, GradW2 and Grad are the Euclidean norms of the gradients with
	// respect to θ of the weighted flow-matching part mean_i(w_i·fm_i), of
	// the W2 part α·mean_i(w2_i), and of the whole loss (their sum).
	GradFM, GradW2, Grad float64
}

// Compute fills t for a batch of n samples: noise x0 and samples x1 (n·D
// values each, D the size of one point of the flow's space), times ts and
// weights w (n values each), the trainee's parameters theta and the
// reference's ref (both of flow), and the W2 weight alpha. The flow must be
// unconditional.
func (t *LossTerms) Compute(backend compute.Backend, flow nets.Velocity, theta, ref *nets.Params, x0, x1, ts, w []float32, n int, alpha float64) error {
	shape := flow.Shape()
	d := 1
	for _, s := range shape {
		d *= s
	}
	switch {
	case flow.Config().NumClasses > 0:
		return fmt.Errorf("orw: LossTerms: the flow is class-conditional; use an unconditional one")
	case n <= 0 || len(x0) != n*d || len(x1) != n*d:
		return fmt.Errorf("orw: LossTerms: %d and %d values of x0 and x1 for %d samples of %d values", len(x0), len(x1), n, d)
	case len(ts) != n || len(w) != n:
		return fmt.Errorf("orw: LossTerms: %d times and %d weights for %d samples", len(ts), len(w), n)
	}
	k := len(flow.Specs())
	exec, err := NewExec(backend, func(in []*Node) []*Node {
		p := in[:k]
		b := eq10BatchOf(in[k:], false)
		terms := eq10(flow, alpha != 0, p, b)
		partFM := ORWLoss(b.w, terms.fm, nil, 0)
		partW2 := MulScalar(ReduceAllMean(terms.w2), alpha)
		out := []*Node{terms.xt, terms.u, terms.v, terms.vRef, terms.fm, terms.w2, terms.loss}
		for _, part := range []*Node{partFM, partW2, terms.loss} {
			var sq *Node
			for _, g := range Gradient(part, p...) {
				s := ReduceAllSum(Square(g))
				if sq == nil {
					sq = s
				} else {
					sq = Add(sq, s)
				}
			}
			out = append(out, Sqrt(sq))
		}
		return out
	})
	if err != nil {
		return err
	}
	args := make([]any, 0, 2*k+5)
	for _, x := range theta.Tensors {
		args = append(args, x)
	}
	for _, x := range eq10Inputs(shape, x1, x0, ts, w, []float32{float32(alpha)}, nil, ref).list() {
		args = append(args, x)
	}
	outs, err := exec.Call(args...)
	if err != nil {
		return fmt.Errorf("orw: LossTerms: %w", err)
	}
	vals := make([][]float32, len(outs))
	for i, o := range outs {
		vals[i] = nets.Float32s(o)
	}
	t.Xt, t.U, t.V, t.VRef, t.FM, t.W2 = vals[0], vals[1], vals[2], vals[3], vals[4], vals[5]
	scalar := func(x []float32) float64 { return float64(x[0]) }
	t.Loss, t.GradFM, t.GradW2, t.Grad = scalar(vals[6]), scalar(vals[7]), scalar(vals[8]), scalar(vals[9])
	if math.IsNaN(t.Loss) {
		return fmt.Errorf("orw: LossTerms: the loss is NaN")
	}
	return nil
}
