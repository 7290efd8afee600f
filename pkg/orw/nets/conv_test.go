package nets

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
)

// testBackendOnce is the backend of the tests: GOMLX_BACKEND when set (only the Go
// backend is linked into this package's tests), else the project's default Go setting.
var testBackendOnce = sync.OnceValues(func() (compute.Backend, error) {
	if cfg := os.Getenv(compute.ConfigEnvVar); cfg != "" {
		return compute.NewWithConfig(cfg)
	}
	return gobackend.New("ops_sequential")
})

func backendForTest(tb testing.TB) compute.Backend {
	tb.Helper()
	b, err := testBackendOnce()
	if err != nil {
		tb.Fatalf("backend: %v", err)
	}
	return b
}

// randTensor returns a tensor of the given shape with N(0, scale²) values.
func randTensor(rng *rand.Rand, scale float64, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(rng.NormFloat64() * scale)
	}
	return tensors.FromFlatDataAndDimensions(data, dims...)
}

// assertClose fails unless |got-want| <= tol*(1+|want|) everywhere (NaN fails).
func assertClose(t *testing.T, what string, got, want *tensors.Tensor, tol float64) {
	t.Helper()
	if !got.Shape().Equal(want.Shape()) {
		t.Fatalf("%s: shape %s, want %s", what, got.Shape(), want.Shape())
	}
	g, w := Float32s(got), Float32s(want)
	for i := range g {
		d := math.Abs(float64(g[i])-float64(w[i])) / (1 + math.Abs(float64(w[i])))
		if !(d <= tol) {
			t.Errorf("%s: element %d is %g, want %g (relative error %.2g > %.2g)", what, i, g[i], w[i], d, tol)
			return
		}
	}
}

// convRef is graph.Convolve with "same" padding plus the bias: the reference.
func convRef(x, kernel, bias *Node, stride int) *Node {
	y := Convolve(x, kernel).PadSame().Strides(stride).Done()
	return Add(y, ExpandLeftToRank(bias, 4))
}

// checkAgainstReference compares f and ref(x, kernel, bias) and their gradients (of
// sum(y*r), r random) with respect to x, kernel and bias.
func checkAgainstReference(t *testing.T, name string, x, kernel, bias, r *tensors.Tensor,
	f, ref func(x, kernel, bias *Node) *Node) {
	t.Helper()
	backend := backendForTest(t)
	build := func(fn func(x, kernel, bias *Node) *Node) func(x, kernel, bias, r *Node) []*Node {
		return func(x, kernel, bias, r *Node) []*Node {
			y := fn(x, kernel, bias)
			grads := Gradient(ReduceAllSum(Mul(y, r)), x, kernel, bias)
			return append([]*Node{y}, grads...)
		}
	}
	got, err := MustNewExec(backend, build(f)).Call(x, kernel, bias, r)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	want, err := MustNewExec(backend, build(ref)).Call(x, kernel, bias, r)
	if err != nil {
		t.Fatalf("%s reference: %v", name, err)
	}
	for i, what := range []string{"output", "d/dx", "d/dkernel", "d/dbias"} {
		assertClose(t, name+" "+what, got[i], want[i], 1e-4)
	}
}

func TestConv2DMatchesConvolve(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct{ k, stride, h, w, cin, cout int }{
		{3, 1, 28, 28, 3, 5},
		{3, 2, 28, 28, 3, 5},
		{3, 2, 7, 7, 4, 6},
		{3, 2, 14, 14, 2, 3},
		{3, 2, 7, 10, 2, 3},
		{1, 1, 9, 8, 5, 4},
		{1, 2, 7, 7, 5, 4},
		{5, 1, 6, 7, 2, 3},
		{3, 1, 4, 4, 1, 32},
		// The routes by channel count: few inputs (im2colRows), few outputs
		// (convShiftOutputs), neither (im2col), for 3x3 and 5x5 kernels.
		{3, 1, 8, 9, 6, 4},
		{3, 1, 10, 10, 32, 1},
		{5, 1, 6, 7, 6, 2},
		{5, 1, 6, 7, 2, 7},
		{3, 1, 7, 7, 6, 8},
		{3, 1, 7, 7, 6, 9}, // one output channel more than smallOut: im2col
	}
	for _, c := range cases {
		name := fmt.Sprintf("k%d_s%d_%dx%d_%dto%d", c.k, c.stride, c.h, c.w, c.cin, c.cout)
		t.Run(name, func(t *testing.T) {
			b := 3
			x := randTensor(rng, 1, b, c.h, c.w, c.cin)
			kernel := randTensor(rng, 0.3, c.k, c.k, c.cin, c.cout)
			bias := randTensor(rng, 0.3, c.cout)
			ho, wo := ceilDiv(c.h, c.stride), ceilDiv(c.w, c.stride)
			r := randTensor(rng, 1, b, ho, wo, c.cout)
			checkAgainstReference(t, name, x, kernel, bias, r,
				func(x, kernel, bias *Node) *Node {
					specs := Conv2DSpecs("conv", c.k, c.cin, c.cout)
					w := Bind(specs, []*Node{kernel, bias})
					y := Conv2D(w, "conv", x, c.k, c.stride)
					if u := w.Unused(); len(u) > 0 {
						t.Errorf("unused parameters %v", u)
					}
					return y
				},
				func(x, kernel, bias *Node) *Node { return convRef(x, kernel, bias, c.stride) })
		})
	}
}

func TestUpsampleConv2DMatchesConvolve(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct{ k, h, w, cin, cout int }{{3, 7, 7, 4, 5}, {3, 14, 9, 3, 2}, {1, 5, 6, 3, 4}, {5, 4, 4, 2, 3}} {
		name := fmt.Sprintf("k%d_%dx%d_%dto%d", c.k, c.h, c.w, c.cin, c.cout)
		t.Run(name, func(t *testing.T) {
			b := 2
			x := randTensor(rng, 1, b, c.h, c.w, c.cin)
			kernel := randTensor(rng, 0.3, c.k, c.k, c.cin, c.cout)
			bias := randTensor(rng, 0.3, c.cout)
			r := randTensor(rng, 1, b, 2*c.h, 2*c.w, c.cout)
			checkAgainstReference(t, name, x, kernel, bias, r,
				func(x, kernel, bias *Node) *Node {
					w := Bind(Conv2DSpecs("up", c.k, c.cin, c.cout), []*Node{kernel, bias})
					return UpsampleConv2D(w, "up", x, c.k)
				},
				func(x, kernel, bias *Node) *Node { return convRef(Upsample2x(x), kernel, bias, 1) })
		})
	}
}

func TestUpsample2xAndDepthToSpace(t *testing.T) {
	backend := backendForTest(t)
	rng := rand.New(rand.NewPCG(5, 6))
	b, h, w, c := 2, 3, 4, 8
	x := randTensor(rng, 1, b, h, w, c)
	out, err := MustNewExec(backend, func(x *Node) []*Node {
		return []*Node{Upsample2x(x), DepthToSpace(x, 2)}
	}).Call(x)
	if err != nil {
		t.Fatal(err)
	}
	xs, up, ds := Float32s(x), Float32s(out[0]), Float32s(out[1])
	if got := out[0].Shape().Dimensions; fmt.Sprint(got) != fmt.Sprint([]int{b, 2 * h, 2 * w, c}) {
		t.Fatalf("Upsample2x shape %v", got)
	}
	at := func(i, y, xx, ch, hh, ww, cc int) int { return ((i*hh+y)*ww+xx)*cc + ch }
	for i := range b {
		for y := range 2 * h {
			for xx := range 2 * w {
				for ch := range c {
					if got, want := up[at(i, y, xx, ch, 2*h, 2*w, c)], xs[at(i, y/2, xx/2, ch, h, w, c)]; got != want {
						t.Fatalf("Upsample2x[%d,%d,%d,%d] = %g, want %g", i, y, xx, ch, got, want)
					}
				}
			}
		}
	}
	c4 := c / 4
	if got := out[1].Shape().Dimensions; fmt.Sprint(got) != fmt.Sprint([]int{b, 2 * h, 2 * w, c4}) {
		t.Fatalf("DepthToSpace shape %v", got)
	}
	for i := range b {
		for y := range 2 * h {
			for xx := range 2 * w {
				for ch := range c4 {
					src := at(i, y/2, xx/2, ((y%2)*2+xx%2)*c4+ch, h, w, c)
					if got, want := ds[at(i, y, xx, ch, 2*h, 2*w, c4)], xs[src]; got != want {
						t.Fatalf("DepthToSpace[%d,%d,%d,%d] = %g, want %g", i, y, xx, ch, got, want)
					}
				}
			}
		}
	}
}

// BenchmarkConv3x3_32to32_28x28_B64 times one 3x3 convolution, 32 to 32 channels on
// 28x28 images, batch 64: forward, and forward plus the gradient with respect to the
// input and the kernel. The "convolve" variants are graph.Convolve, for comparison.
func BenchmarkConv3x3_32to32_28x28_B64(b *testing.B) {
	backend := backendForTest(b)
	rng := rand.New(rand.NewPCG(7, 8))
	x := randTensor(rng, 1, 64, 28, 28, 32)
	kernel := randTensor(rng, 0.1, 3, 3, 32, 32)
	bias := randTensor(rng, 0.1, 32)
	mine := func(x, kernel, bias *Node, stride int) *Node {
		return conv2D(x, kernel, bias, 3, stride, activation.TypeNone)
	}
	for _, v := range []struct {
		name string
		f    func(x, kernel, bias *Node, stride int) *Node
	}{{"matmul", mine}, {"convolve", convRef}} {
		for _, stride := range []int{1, 2} {
			prefix := v.name
			if stride == 2 {
				prefix += "_stride2"
			}
			b.Run(prefix+"/fwd", func(b *testing.B) {
				exec := MustNewExec(backend, func(x, kernel, bias *Node) *Node { return v.f(x, kernel, bias, stride) })
				benchExec(b, exec, x, kernel, bias)
			})
			b.Run(prefix+"/fwdbwd", func(b *testing.B) {
				exec := MustNewExec(backend, func(x, kernel, bias *Node) []*Node {
					y := v.f(x, kernel, bias, stride)
					return Gradient(ReduceAllSum(Square(y)), x, kernel, bias)
				})
				benchExec(b, exec, x, kernel, bias)
			})
		}
	}
	b.Run("upsample_conv_14to28/fwdbwd", func(b *testing.B) {
		xs := randTensor(rng, 1, 64, 14, 14, 32)
		exec := MustNewExec(backend, func(x, kernel, bias *Node) []*Node {
			y := upsampleConv3x3(x, kernel, bias)
			return Gradient(ReduceAllSum(Square(y)), x, kernel, bias)
		})
		benchExec(b, exec, xs, kernel, bias)
	})
	b.Run("upsample_then_conv_14to28/fwdbwd", func(b *testing.B) {
		xs := randTensor(rng, 1, 64, 14, 14, 32)
		exec := MustNewExec(backend, func(x, kernel, bias *Node) []*Node {
			y := conv2D(Upsample2x(x), kernel, bias, 3, 1, activation.TypeNone)
			return Gradient(ReduceAllSum(Square(y)), x, kernel, bias)
		})
		benchExec(b, exec, xs, kernel, bias)
	})
}

// BenchmarkConvFewOutputs times the stride-1 3x3 convolutions with few output
// channels, 32 input channels, batch 64, at 14x14 and 28x28: conv2D's own route
// (the shifted-output product up to smallOut channels) against the patch
// matrix (im2col and one product), forward and forward plus gradients. The
// decoder's last convolution is 32->4 at 14x14, the U-Nets' 32->1 at 28x28
// (docs/performance.md, "The few-output convolution").
func BenchmarkConvFewOutputs(b *testing.B) {
	backend := backendForTest(b)
	rng := rand.New(rand.NewPCG(9, 10))
	for _, hw := range []int{14, 28} {
		for _, cout := range []int{1, 4, 8, 16} {
			x := randTensor(rng, 1, 64, hw, hw, 32)
			kernel := randTensor(rng, 0.1, 3, 3, 32, cout)
			bias := randTensor(rng, 0.1, cout)
			for _, route := range []struct {
				name string
				f    func(x, kernel, bias *Node) *Node
			}{
				{"conv2D", func(x, kernel, bias *Node) *Node { return conv2D(x, kernel, bias, 3, 1, activation.TypeNone) }},
				{"patches", func(x, kernel, bias *Node) *Node {
					patches := Reshape(im2col(x, 3, 1), 64*hw*hw, 9*32)
					return Reshape(denseT(patches, Reshape(kernel, 9*32, cout), bias, activation.TypeNone), 64, hw, hw, cout)
				}},
			} {
				f := route.f
				name := fmt.Sprintf("%dx%d_32to%d/%s", hw, hw, cout, route.name)
				b.Run(name+"/fwd", func(b *testing.B) {
					benchExec(b, MustNewExec(backend, f), x, kernel, bias)
				})
				b.Run(name+"/fwdbwd", func(b *testing.B) {
					exec := MustNewExec(backend, func(x, kernel, bias *Node) []*Node {
						return Gradient(ReduceAllSum(Square(f(x, kernel, bias))), x, kernel, bias)
					})
					benchExec(b, exec, x, kernel, bias)
				})
			}
		}
	}
}

// BenchmarkMatMul times plain matrix products on the backend, [m, k] x [k, n],
// and reports GFLOP/s: the shapes of the latent flow's layers at the chunk
// sizes of the online draws (64 and 128 rows of 512) and a large square one,
// the backend's best case (docs/performance.md, "The machine's ceiling").
func BenchmarkMatMul(b *testing.B) {
	backend := backendForTest(b)
	rng := rand.New(rand.NewPCG(11, 12))
	for _, s := range [][3]int{{64, 512, 512}, {128, 512, 512}, {2048, 2048, 2048}} {
		x := randTensor(rng, 1, s[0], s[1])
		w := randTensor(rng, 1, s[1], s[2])
		b.Run(fmt.Sprintf("%dx%dx%d", s[0], s[1], s[2]), func(b *testing.B) {
			benchExec(b, MustNewExec(backend, func(x, w *Node) *Node { return MatMul(x, w) }), x, w)
			flop := 2 * float64(s[0]) * float64(s[1]) * float64(s[2]) * float64(b.N)
			b.ReportMetric(flop/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// benchExec runs exec once to compile it, then b.N timed times.
func benchExec(b *testing.B, exec *Exec, args ...any) {
	b.Helper()
	if _, err := exec.Call(args...); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		outs, err := exec.Call(args...)
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range outs {
			o.FinalizeAll()
		}
	}
}

// trainForTest runs steps of Adam (lr, betas 0.9/0.999) on loss(weights, batch...) from
// params, with the batch tensors fixed, and returns the first and the last loss.
func trainForTest(t *testing.T, specs []ParamSpec, params *Params, steps int, lr float64,
	loss func(w *Weights, batch []*Node) *Node, batch ...*tensors.Tensor) (first, last float64) {
	t.Helper()
	n := len(specs)
	exec := MustNewExec(backendForTest(t), func(in []*Node) []*Node {
		p, m, v, step, data := in[:n], in[n:2*n], in[2*n:3*n], in[3*n], in[3*n+1:]
		w := Bind(specs, p)
		l := loss(w, data)
		if u := w.Unused(); len(u) > 0 {
			t.Errorf("parameters not used by the loss: %v", u)
		}
		grads := Gradient(l, p...)
		tt := AddScalar(step, 1)
		bc1 := OneMinus(Pow(ConstAs(step, 0.9), tt))
		bc2 := OneMinus(Pow(ConstAs(step, 0.999), tt))
		out := make([]*Node, 3*n+1)
		for i := range p {
			mi := Add(MulScalar(m[i], 0.9), MulScalar(grads[i], 0.1))
			vi := Add(MulScalar(v[i], 0.999), MulScalar(Square(grads[i]), 0.001))
			upd := Div(Div(mi, bc1), AddScalar(Sqrt(Div(vi, bc2)), 1e-8))
			out[i], out[n+i], out[2*n+i] = Sub(p[i], MulScalar(upd, lr)), mi, vi
		}
		out[3*n] = l
		return out
	})
	zeros := params.Zeros()
	state := make([]*tensors.Tensor, 3*n)
	copy(state, params.Tensors)
	copy(state[n:], zeros.Tensors)
	copy(state[2*n:], params.Zeros().Tensors)
	for s := range steps {
		args := make([]any, 0, 3*n+1+len(batch))
		for _, x := range state {
			args = append(args, x)
		}
		args = append(args, tensors.FromScalar(float32(s)))
		for _, b := range batch {
			args = append(args, b)
		}
		outs, err := exec.Call(args...)
		if err != nil {
			t.Fatalf("training step %d: %v", s, err)
		}
		l := float64(tensors.ToScalar[float32](outs[3*n]))
		if s == 0 {
			first = l
		}
		last = l
		copy(state, outs[:3*n])
	}
	return first, last
}

// checkGradientsFlow fails unless every parameter of specs gets a non-zero gradient from
// loss on the given batch.
func checkGradientsFlow(t *testing.T, specs []ParamSpec, params *Params,
	loss func(w *Weights, batch []*Node) *Node, batch ...*tensors.Tensor) {
	t.Helper()
	n := len(specs)
	exec := MustNewExec(backendForTest(t), func(in []*Node) []*Node {
		w := Bind(specs, in[:n])
		grads := Gradient(loss(w, in[n:]), in[:n]...)
		if u := w.Unused(); len(u) > 0 {
			t.Errorf("parameters not used: %v", u)
		}
		norms := make([]*Node, n)
		for i, g := range grads {
			norms[i] = ReduceAllMax(Abs(g))
		}
		return norms
	})
	args := make([]any, 0, n+len(batch))
	for _, x := range params.Tensors {
		args = append(args, x)
	}
	for _, b := range batch {
		args = append(args, b)
	}
	outs, err := exec.Call(args...)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range outs {
		if g := tensors.ToScalar[float32](o); !(g > 0) || math.IsInf(float64(g), 0) {
			t.Errorf("parameter %q gets gradient max|g| = %g, want finite and > 0", specs[i].Name, g)
		}
	}
}
