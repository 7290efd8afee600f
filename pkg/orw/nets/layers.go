package nets

import (
	"math"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph ops read like math.
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/nn"
)

// DenseSpecs declares the weight [in, out] and bias [out] of a linear layer named prefix.
func DenseSpecs(prefix string, in, out int) []ParamSpec {
	return []ParamSpec{
		{Name: prefix + "/w", Shape: []int{in, out}, Init: InitFanIn, Scale: 1},
		{Name: prefix + "/b", Shape: []int{out}, Init: InitZeros},
	}
}

// Dense applies the linear layer named prefix to the last axis of x, followed by act.
// It uses the backend's fused dense kernel where there is one.
func Dense(w *Weights, prefix string, x *Node, act activation.Type) *Node {
	return nn.Dense(x, w.Get(prefix+"/w"), w.Get(prefix+"/b"), compute.DenseLayoutInputOutputs, act)
}

// Sinusoidal is the time embedding of the benchmark networks
// (docs/benchmarks.md, "What one round is"):
// concat(sin(1000 t f_i), cos(1000 t f_i)) with f_i = exp(-ln(10000) i/(dim/2)), i = 0..dim/2-1.
// t has shape [B]; the result has shape [B, dim].
func Sinusoidal(t *Node, dim int) *Node {
	g := t.Graph()
	half := dim / 2
	freqs := make([]float32, half)
	for i := range freqs {
		freqs[i] = float32(math.Exp(-math.Log(10000) * float64(i) / float64(half)))
	}
	f := Const(g, freqs)
	arg := Mul(MulScalar(ExpandAxes(t, -1), 1000), ExpandAxes(f, 0))
	return Concatenate([]*Node{Sin(arg), Cos(arg)}, -1)
}

// SiLU is x*sigmoid(x).
func SiLU(x *Node) *Node { return activation.Swish(x) }

// ClassEmbeddingSpecs declares a learned embedding table [numClasses, dim].
func ClassEmbeddingSpecs(prefix string, numClasses, dim int) []ParamSpec {
	return []ParamSpec{{Name: prefix + "/table", Shape: []int{numClasses, dim}, Init: InitNormal, Scale: 1}}
}

// ClassEmbedding looks up labels (int32 [B]) in the table named prefix: [B, dim].
func ClassEmbedding(w *Weights, prefix string, labels *Node) *Node {
	return Gather(w.Get(prefix+"/table"), ExpandAxes(labels, -1))
}
