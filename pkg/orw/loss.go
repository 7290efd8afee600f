package orw

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/optim"
)

// eq10Batch is the batch of one step of Eq. 10: the samples x1, the noise x0
// paired with them, the times t, the weights w, the W2 coefficient alpha (a
// scalar, or one per sample: ADRPO), the class labels (for a
// class-conditional flow only) and the frozen reference's weights. α is an
// input of the graph, not a constant in it, so that a W2 budget can change
// it from step to step without building the graph again. T is a
// host tensor when the trainer builds it and a graph node when the loss
// unpacks it; list and eq10BatchOf are the one place that sets its order.
type eq10Batch[T any] struct {
	x1, x0, t, w T
	alpha        T // [] or [B]
	labels       T // unset when cond is false
	cond         bool
	ref          []T
}

// list is the batch in the order the optimiser passes it: x1, x0, t, w,
// alpha, labels (conditional flows only), then the reference's weights.
func (b eq10Batch[T]) list() []T {
	l := []T{b.x1, b.x0, b.t, b.w, b.alpha}
	if b.cond {
		l = append(l, b.labels)
	}
	return append(l, b.ref...)
}

// eq10BatchOf unpacks a list made by eq10Batch.list.
func eq10BatchOf[T any](l []T, cond bool) eq10Batch[T] {
	b := eq10Batch[T]{x1: l[0], x0: l[1], t: l[2], w: l[3], alpha: l[4], cond: cond}
	k := 5
	if cond {
		b.labels = l[k]
		k++
	}
	b.ref = l[k:]
	return b
}

// eq10Inputs packs a batch of n = len(t) points of the given shape (x1 and x0
// flattened, labels nil for an unconditional flow) as tensors; alpha is one
// value (a scalar tensor) or n (one per sample).
func eq10Inputs(shape []int, x1, x0, t, w, alpha []float32, labels []int32, ref *nets.Params) eq10Batch[*tensors.Tensor] {
	n := len(t)
	dims := append([]int{n}, shape...)
	b := eq10Batch[*tensors.Tensor]{
		x1:  tensors.FromFlatDataAndDimensions(x1, dims...),
		x0:  tensors.FromFlatDataAndDimensions(x0, dims...),
		t:   tensors.FromFlatDataAndDimensions(t, n),
		w:   tensors.FromFlatDataAndDimensions(w, n),
		ref: ref.Tensors,
	}
	if len(alpha) == 1 {
		b.alpha = tensors.FromScalar(alpha[0])
	} else {
		b.alpha = tensors.FromFlatDataAndDimensions(alpha, n)
	}
	if labels != nil {
		b.labels, b.cond = tensors.FromFlatDataAndDimensions(labels, n), true
	}
	return b
}

// eq10Terms are the quantities of Eq. 10 on a batch.
type eq10Terms struct {
	xt, u   *Node // the path points x_t and the targets u = x1 − x0
	v, vRef *Node // the velocities v_θ(t, x_t) and v_ref(t, x_t) (no gradient)
	fm, w2  *Node // the per-sample terms fm_i and w2_i, [B]
	loss    *Node // mean_i(w_i·fm_i + α_i·w2_i)
}

// eq10 builds the paper's Eq. 10 on a batch, for the trainee's weights theta
// of flow against the frozen reference (docs/method.md, "3 The W2
// regulariser"):
//
//	L(θ) = mean_i( w_i·‖v_θ(t_i, x_t,i) − u_i‖² + α_i·‖v_θ(t_i, x_t,i) − v_ref(t_i, x_t,i)‖² ),
//
// α_i = b.alpha: one α for all samples (a scalar) or ADRPO's per-sample
// coefficients. The W2 term is computed even without regularisation, for the
// metrics, but only enters the loss when w2On (α > 0, a budget or ADRPO).
// The trainer's loss (eq10Loss) and LossTerms both build it here.
func eq10(flow nets.Velocity, w2On bool, theta []*Node, b eq10Batch[*Node]) eq10Terms {
	specs := flow.Specs()
	path := Path{}
	xt := path.Xt(b.x0, b.x1, b.t)
	v := flow.Apply(nets.Bind(specs, theta), b.t, xt, b.labels)
	vRef := StopGradient(flow.Apply(nets.Bind(specs, b.ref), b.t, xt, b.labels))
	u := path.U(b.x0, b.x1)
	fm := CFMTerm(v, u)
	w2 := W2Term(v, vRef)
	var alpha *Node
	if w2On {
		alpha = b.alpha
	}
	return eq10Terms{xt: xt, u: u, v: v, vRef: vRef, fm: fm, w2: w2, loss: orwLoss(b.w, fm, w2, alpha)}
}

// eq10Loss is Eq. 10 as the trainer's optimiser loss, on a batch packed by
// eq10Batch.list. Aux outputs: fm [B], w2 [B].
func eq10Loss(flow nets.Velocity, w2On bool) optim.LossFn {
	cond := flow.Config().NumClasses > 0
	return func(theta, batch []*Node) (*Node, []*Node) {
		terms := eq10(flow, w2On, theta, eq10BatchOf(batch, cond))
		return terms.loss, []*Node{terms.fm, terms.w2}
	}
}
