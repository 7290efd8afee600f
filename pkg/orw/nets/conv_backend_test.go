package nets

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
)

// The two forms of a convolution (conv_xla.go): the matrix-product form the Go backend
// uses and graph.Convolve, which the other backends use. These tests run both on the
// backend of the tests (the Go backend unless GOMLX_BACKEND says otherwise) and compare
// values and gradients.

// agreeWithin fails unless f and g, applied to the same inputs, give the same output
// and the same gradients of sum(y*r) with respect to every input, within tol relative to
// 1 + the largest magnitude of the reference (float32 sums in different orders).
func agreeWithin(t *testing.T, name string, tol float64, f, g func(in []*Node) *Node, r *tensors.Tensor, inputs ...*tensors.Tensor) {
	t.Helper()
	build := func(fn func(in []*Node) *Node) func(in []*Node) []*Node {
		return func(in []*Node) []*Node {
			y := fn(in[:len(in)-1])
			return append([]*Node{y}, Gradient(ReduceAllSum(Mul(y, in[len(in)-1])), in[:len(in)-1]...)...)
		}
	}
	args := append(anySlice(inputs), r)
	got, err := MustNewExec(backendForTest(t), build(f)).Call(args...)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	want, err := MustNewExec(backendForTest(t), build(g)).Call(args...)
	if err != nil {
		t.Fatalf("%s (graph.Convolve): %v", name, err)
	}
	for i := range got {
		what := "output"
		if i > 0 {
			what = fmt.Sprintf("gradient wrt input %d", i-1)
		}
		if !got[i].Shape().Equal(want[i].Shape()) {
			t.Fatalf("%s %s: shape %s, want %s", name, what, got[i].Shape(), want[i].Shape())
		}
		a, b := Float32s(got[i]), Float32s(want[i])
		scale := 0.0
		for _, v := range b {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		for j := range a {
			if d := math.Abs(float64(a[j]) - float64(b[j])); !(d <= tol*(1+scale)) {
				t.Errorf("%s %s: element %d is %g, graph.Convolve gives %g (|diff| %.2g > %.2g)", name, what, j, a[j], b[j], d, tol*(1+scale))
				break
			}
		}
	}
}

func TestConvFormsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	for _, c := range []struct {
		k, stride, h, w, cin, cout int
		act                        activation.Type
	}{
		{3, 1, 28, 28, 1, 32, activation.TypeNone},  // the first convolution of the U-Net
		{3, 1, 14, 14, 64, 64, activation.TypeNone}, // a residual block's
		{3, 2, 28, 28, 32, 32, activation.TypeNone}, // downsampling
		{3, 2, 7, 7, 8, 16, activation.TypeRelu},    // odd size, stride 2, the classifier's ReLU
		{1, 1, 9, 8, 12, 5, activation.TypeNone},    // a skip
		{5, 1, 6, 7, 3, 4, activation.TypeSilu},
	} {
		name := fmt.Sprintf("k%d_s%d_%dx%d_%dto%d_%s", c.k, c.stride, c.h, c.w, c.cin, c.cout, c.act)
		x := randTensor(rng, 1, 2, c.h, c.w, c.cin)
		kernel := randTensor(rng, 1/math.Sqrt(float64(c.k*c.k*c.cin)), c.k, c.k, c.cin, c.cout)
		bias := randTensor(rng, 0.3, c.cout)
		r := randTensor(rng, 1, 2, ceilDiv(c.h, c.stride), ceilDiv(c.w, c.stride), c.cout)
		agreeWithin(t, name, 1e-5,
			func(in []*Node) *Node { return convMatMul(in[0], in[1], in[2], c.k, c.stride, c.act) },
			func(in []*Node) *Node { return convolve(in[0], in[1], in[2], c.k, c.stride, c.act) },
			r, x, kernel, bias)
	}
	// The upsampling convolution: four 2x2 phase products against Convolve of the
	// nearest-upsampled image.
	x := randTensor(rng, 1, 2, 7, 7, 64)
	kernel := randTensor(rng, 1/math.Sqrt(9*64), 3, 3, 64, 32)
	bias := randTensor(rng, 0.3, 32)
	r := randTensor(rng, 1, 2, 14, 14, 32)
	agreeWithin(t, "upsample_7x7_64to32", 1e-5,
		func(in []*Node) *Node { return upsampleConv3x3(in[0], in[1], in[2]) },
		func(in []*Node) *Node { return convolve(Upsample2x(in[0]), in[1], in[2], 3, 1, activation.TypeNone) },
		r, x, kernel, bias)
}

// TestConv2DDispatch checks that Conv2D and UpsampleConv2D take the form the backend of
// the tests calls for (graph.Convolve unless GOMLX_BACKEND names the Go backend or is
// unset).
func TestConv2DDispatch(t *testing.T) {
	backend := backendForTest(t)
	cfg := os.Getenv(compute.ConfigEnvVar)
	conv := cfg != "" && !strings.HasPrefix(cfg, gobackend.BackendName)
	if got := isGoBackend(backend); got == conv {
		t.Fatalf("isGoBackend(backend %q, Name %q) = %v with GOMLX_BACKEND=%q; want %v", backend.String(), backend.Name(), got, cfg, !conv)
	}
	rng := rand.New(rand.NewPCG(53, 54))
	x := randTensor(rng, 1, 2, 8, 8, 4)
	kernel := randTensor(rng, 0.3, 3, 3, 4, 6)
	bias := randTensor(rng, 0.3, 6)
	specs := Conv2DSpecs("c", 3, 4, 6)
	out, err := MustNewExec(backend, func(x, kernel, bias *Node) []*Node {
		if useConvolve(x.Graph()) != conv {
			t.Errorf("useConvolve on the %q backend = %v, want %v", backend.Name(), !conv, conv)
		}
		w := Bind(specs, []*Node{kernel, bias})
		want, wantUp := convMatMul(x, kernel, bias, 3, 2, activation.TypeNone), upsampleConv3x3(x, kernel, bias)
		if conv {
			want = convolve(x, kernel, bias, 3, 2, activation.TypeNone)
			wantUp = convolve(Upsample2x(x), kernel, bias, 3, 1, activation.TypeNone)
		}
		return []*Node{Conv2D(w, "c", x, 3, 2), want, UpsampleConv2D(w, "c", x, 3), wantUp}
	}).Call(x, kernel, bias)
	if err != nil {
		t.Fatal(err)
	}
	// On the Go backend the same ops give the same bits, and the two forms differ in the
	// last bits (other summation orders), so equality shows which form ran. XLA may
	// compile two copies of one convolution differently (autotuned cuDNN algorithms): there
	// useConvolve's answer above is the check, and the values only need to be close.
	tol := 0.0
	if !isGoBackend(backend) {
		tol = 1e-5
	}
	for i, what := range []string{"Conv2D", "UpsampleConv2D"} {
		a, b := Float32s(out[2*i]), Float32s(out[2*i+1])
		for j := range a {
			if d := math.Abs(float64(a[j]) - float64(b[j])); d > tol*(1+math.Abs(float64(b[j]))) {
				t.Fatalf("%s on the %q backend differs from the form it should take (graph.Convolve: %v) at %d: %g vs %g", what, backend.Name(), conv, j, a[j], b[j])
			}
		}
	}
}

// TestUNetSameBothWays runs whole networks with the same parameters in both forms (the
// graph.Convolve one forced on the Go backend): the parameters, and so the checkpoints,
// mean the same network on every backend.
func TestUNetSameBothWays(t *testing.T) {
	rng := rand.New(rand.NewPCG(55, 56))
	small := DefaultConfig("unet", 12, 12, 1)
	small.Channels, small.Groups = []int{8, 16, 16}, 4
	paper := UNetPaperConfig(16, 16, 3) // attention at 16x16: the first level, and the middle
	paper.Channels, paper.EmbedDim, paper.TimeDim = []int{64, 64}, 32, 16
	for _, cfg := range []Config{small, paper} {
		v, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		specs := v.Specs()
		params := randomised(specs, rng)
		tt, x, _ := unetBatch(rng, 2, v.Shape(), 0)
		r := randTensor(rng, 1, append([]int{2}, v.Shape()...)...)
		n := len(specs)
		apply := func(force bool) func(in []*Node) *Node {
			return func(in []*Node) *Node {
				old := forceConvolve
				forceConvolve = force
				defer func() { forceConvolve = old }()
				return v.Apply(Bind(specs, in[:n]), in[n], in[n+1], nil)
			}
		}
		agreeWithin(t, cfg.Kind, 2e-4, apply(false), apply(true), r, append(params.Tensors, tt, x)...)
	}
}
