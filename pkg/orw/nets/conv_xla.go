package nets

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph ops read like math.
	"github.com/gomlx/gomlx/ml/layers/activation"
)

// Convolutions on other backends (XLA on a CPU or a GPU).
//
// The matrix-product form of conv.go suits the Go backend, whose own convolution is slow.
// XLA instead lowers graph.Convolve to its convolution kernels (cuDNN's, autotuned, on a
// GPU), which the gathered patches and the scattered upsampling phases would bypass. So
// Conv2D and UpsampleConv2D take graph.Convolve on every backend but the Go one. Both
// forms read the same kernel [k, k, cin, cout] and bias [cout] with the same "same"
// padding, so the parameters and checkpoints are the same on every backend;
// conv_backend_test.go checks that the two forms give the same values and gradients.

// conv2D is Conv2D on explicit kernel [k, k, cin, cout] and bias [cout] nodes, followed
// by act: graph.Convolve where useConvolve says so, else the matrix-product form
// (convMatMul, conv.go).
func conv2D(x, kernel, bias *Node, k, stride int, act activation.Type) *Node {
	if useConvolve(x.Graph()) {
		return convolve(x, kernel, bias, k, stride, act)
	}
	return convMatMul(x, kernel, bias, k, stride, act)
}

// forceConvolve makes useConvolve true on every backend (for the tests that run whole
// networks both ways on the Go backend).
var forceConvolve = false

// useConvolve reports whether g's backend should convolve with graph.Convolve rather
// than with the matrix-product form: every backend but the pure-Go one.
func useConvolve(g *Graph) bool {
	return forceConvolve || !isGoBackend(g.Backend())
}

// isGoBackend reports whether b is the pure-Go backend. (Its String is "go", the name
// GOMLX_BACKEND uses, while its Name is "Go Backend"; XLA's are both "xla".)
func isGoBackend(b compute.Backend) bool {
	return b.String() == gobackend.BackendName || b.Name() == gobackend.BackendName
}

// convolve is conv2D with graph.Convolve: act(Convolve(x, kernel) + bias) for x
// [B, H, W, cin], kernel [k, k, cin, cout] and bias [cout], with "same" padding ((k-1)/2
// before, k/2 after) and the given stride.
func convolve(x, kernel, bias *Node, k, stride int, act activation.Type) *Node {
	checkImage("Conv2D", x)
	if stride < 1 {
		panic(fmt.Sprintf("nets.Conv2D: stride must be >= 1, got %d", stride))
	}
	kd := kernel.Shape().Dimensions
	if len(kd) != 4 || kd[0] != k || kd[1] != k || kd[2] != x.Shape().Dimensions[3] {
		panic(fmt.Sprintf("nets.Conv2D: kernel shape %v does not fit a %dx%d convolution of %d input channels", kd, k, k, x.Shape().Dimensions[3]))
	}
	y := Convolve(x, kernel).PadSame().Strides(stride).Done()
	y = Add(y, Reshape(bias, 1, 1, 1, kd[3]))
	return activation.Apply(act, y)
}
