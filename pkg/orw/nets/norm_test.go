package nets

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
)

// groupNormHost is GroupNorm computed directly, in float64, on the host.
func groupNormHost(x []float32, b, h, w, c, groups int, scale, offset []float32) []float32 {
	y := make([]float32, len(x))
	cg := c / groups
	for i := range b {
		for g := range groups {
			var sum, sumSq float64
			n := 0
			each := func(fn func(idx int)) {
				for p := range h * w {
					for ch := g * cg; ch < (g+1)*cg; ch++ {
						fn((i*h*w+p)*c + ch)
					}
				}
			}
			each(func(idx int) { sum += float64(x[idx]); n++ })
			mean := sum / float64(n)
			each(func(idx int) { d := float64(x[idx]) - mean; sumSq += d * d })
			rstd := 1 / math.Sqrt(sumSq/float64(n)+1e-5)
			each(func(idx int) {
				ch := idx % c
				y[idx] = float32((float64(x[idx])-mean)*rstd*float64(scale[ch]) + float64(offset[ch]))
			})
		}
	}
	return y
}

func TestGroupNormMatchesHost(t *testing.T) {
	backend := backendForTest(t)
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct{ b, h, w, ch, groups int }{{3, 5, 4, 16, 8}, {2, 7, 7, 64, 8}, {2, 3, 3, 6, 1}, {1, 2, 2, 4, 4}} {
		// Per-group offsets and spreads, so that means are far from 0 and variances differ.
		x := randTensor(rng, 1, c.b, c.h, c.w, c.ch)
		xs := Float32s(x)
		for i := range xs {
			ch := i % c.ch
			xs[i] = xs[i]*float32(1+ch%3) + float32(ch%5) - 2
		}
		x = tensors.FromFlatDataAndDimensions(xs, c.b, c.h, c.w, c.ch)
		scale := randTensor(rng, 1, c.ch)
		offset := randTensor(rng, 1, c.ch)
		got, err := MustNewExec(backend, func(x, scale, offset *Node) *Node {
			w := Bind(GroupNormSpecs("gn", c.ch), []*Node{scale, offset})
			return GroupNorm(w, "gn", x, c.groups)
		}).Call(x, scale, offset)
		if err != nil {
			t.Fatal(err)
		}
		want := groupNormHost(xs, c.b, c.h, c.w, c.ch, c.groups, Float32s(scale), Float32s(offset))
		assertClose(t, "GroupNorm", got[0], tensors.FromFlatDataAndDimensions(want, c.b, c.h, c.w, c.ch), 1e-4)
	}
}

func TestGroupNormSpecsAndGradient(t *testing.T) {
	specs := GroupNormSpecs("gn", 8)
	if len(specs) != 2 || specs[0].Init != InitOnes || specs[1].Init != InitZeros || specs[0].Shape[0] != 8 {
		t.Fatalf("GroupNormSpecs = %+v", specs)
	}
	// The gradient of a GroupNorm output's sum of squares, with unit scale and zero offset,
	// with respect to x, is zero on average per group; its gradient wrt the offset is 2*sum(y).
	backend := backendForTest(t)
	rng := rand.New(rand.NewPCG(13, 14))
	x := randTensor(rng, 2, 2, 4, 4, 8)
	p := Init(specs, rng)
	out, err := MustNewExec(backend, func(x, scale, offset *Node) []*Node {
		w := Bind(specs, []*Node{scale, offset})
		y := GroupNorm(w, "gn", x, 4)
		loss := ReduceAllSum(Mul(y, y))
		grads := Gradient(loss, x, scale, offset)
		return append([]*Node{loss}, grads...)
	}).Call(x, p.Tensors[0], p.Tensors[1])
	if err != nil {
		t.Fatal(err)
	}
	// sum(y²) = B*H*W*C*var/(var+eps) ≈ 2*4*4*8 = 256; its gradient wrt x is ~0 (scale-invariant).
	if loss := tensors.ToScalar[float32](out[0]); math.Abs(float64(loss)-256) > 0.1 {
		t.Errorf("sum of squares of the normalised output = %g, want ~256", loss)
	}
	for i, g := range Float32s(out[1]) {
		if math.Abs(float64(g)) > 1e-3 {
			t.Fatalf("d/dx[%d] = %g, want ~0 (the loss is invariant to the scale of x)", i, g)
		}
	}
	for i, g := range Float32s(out[2]) { // d/dscale = 2*sum(xhat²) per channel
		if g < 1 {
			t.Errorf("d/dscale[%d] = %g, want positive", i, g)
		}
	}
}

// groupNormTextbook is the two-pass GroupNorm written directly with graph ops.
func groupNormTextbook(x, scale, offset *Node, groups int) *Node {
	d := x.Shape().Dimensions
	b, h, w, c := d[0], d[1], d[2], d[3]
	x5 := Reshape(x, b, h*w, groups, c/groups)
	mean := ReduceAndKeep(x5, ReduceMean, 1, 3)
	xc := Sub(x5, mean)
	variance := ReduceAndKeep(Square(xc), ReduceMean, 1, 3)
	y := Reshape(Div(xc, Sqrt(AddScalar(variance, 1e-5))), b, h, w, c)
	return Add(Mul(y, Reshape(scale, 1, 1, 1, c)), Reshape(offset, 1, 1, 1, c))
}

func TestGroupNormGradientsMatchTextbook(t *testing.T) {
	backend := backendForTest(t)
	rng := rand.New(rand.NewPCG(15, 16))
	b, h, w, c, groups := 3, 5, 6, 16, 4
	x := randTensor(rng, 2, b, h, w, c)
	scale := randTensor(rng, 1, c)
	offset := randTensor(rng, 1, c)
	add := randTensor(rng, 3, b, c)
	r := randTensor(rng, 1, b, h, w, c)
	run := func(f func(x, scale, offset, add *Node) *Node) []*tensors.Tensor {
		out, err := MustNewExec(backend, func(x, scale, offset, add, r *Node) []*Node {
			y := f(x, scale, offset, add)
			return append([]*Node{y}, Gradient(ReduceAllSum(Mul(y, r)), x, scale, offset, add)...)
		}).Call(x, scale, offset, add, r)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	got := run(func(x, scale, offset, add *Node) *Node {
		wts := Bind(GroupNormSpecs("gn", c), []*Node{scale, offset})
		return groupNorm(wts, "gn", x, add, groups)
	})
	want := run(func(x, scale, offset, add *Node) *Node {
		return groupNormTextbook(Add(x, Reshape(add, b, 1, 1, c)), scale, offset, groups)
	})
	for i, what := range []string{"output", "d/dx", "d/dscale", "d/doffset", "d/dadd"} {
		assertClose(t, "GroupNorm(x+add) "+what, got[i], want[i], 2e-4)
	}
	// addPerSample is the plain broadcast add.
	out, err := MustNewExec(backend, func(x, add *Node) []*Node {
		return []*Node{addPerSample(x, add), Add(x, Reshape(add, b, 1, 1, c))}
	}).Call(x, add)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "addPerSample", out[0], out[1], 1e-6)
}
