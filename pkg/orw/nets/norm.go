package nets

import (
	"fmt"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph ops read like math.
)

// groupNormEpsilon is added to the variance of GroupNorm.
const groupNormEpsilon = 1e-5

// GroupNormSpecs declares the learned per-channel scale prefix+"/scale" (ones) and
// offset prefix+"/offset" (zeros) of a GroupNorm over the given number of channels.
func GroupNormSpecs(prefix string, channels int) []ParamSpec {
	return []ParamSpec{
		{Name: prefix + "/scale", Shape: []int{channels}, Init: InitOnes},
		{Name: prefix + "/offset", Shape: []int{channels}, Init: InitZeros},
	}
}

// GroupNorm normalises x [B, H, W, C] per sample and per group of C/groups consecutive
// channels (mean and variance over H, W and the group's channels, epsilon 1e-5), then
// applies the per-channel scale and offset named prefix (see GroupNormSpecs).
//
// How (for the Go backend): the statistics come from per-sample, per-channel sums of x
// and x² (the variance as E[x²]-E[x]², clamped at 0, in float32), and the normalisation
// is folded into one per-sample, per-channel affine map y = x*a + c. The per-sample sums
// are a ScatterSum of the pixel rows and the per-sample a and c are spread over the pixels
// with a Gather (each the other's gradient): the backend runs both as contiguous row
// copies, where ReduceSum's gradient and the implicit broadcasting of a [B, 1, 1, C]
// operand go through a slow element-by-element iterator.
func GroupNorm(w *Weights, prefix string, x *Node, groups int) *Node {
	return groupNorm(w, prefix, x, nil, groups)
}

// groupNorm is GroupNorm(x + add), add [B, C] being a per-sample, per-channel term
// broadcast over the pixels (nil for none), without materialising x + add: the sums of
// x + add follow from those of x, and add folds into the affine map's offset.
func groupNorm(w *Weights, prefix string, x, add *Node, groups int) *Node {
	checkImage("GroupNorm", x)
	d := x.Shape().Dimensions
	b, h, wd, c := d[0], d[1], d[2], d[3]
	if groups <= 0 || c%groups != 0 {
		panic(fmt.Sprintf("nets.GroupNorm %q: %d channels are not divisible into %d groups", prefix, c, groups))
	}
	scale, offset := w.Get(prefix+"/scale"), w.Get(prefix+"/offset")
	hw := h * wd
	rows := Reshape(x, b*hw, c)
	sample := sampleIndex(x.Graph(), b, hw)
	sumShape := shapes.Make(x.DType(), b, c)
	s1 := Scatter(sample, rows, sumShape, true, false)         // [B, C]: sum of x over the pixels
	s2 := Scatter(sample, Square(rows), sumShape, true, false) // [B, C]: sum of x²
	if add != nil {
		// sum (x+a)² = sum x² + 2 a sum x + hw a²; sum (x+a) = sum x + hw a.
		s2 = Add(s2, Add(MulScalar(Mul(add, s1), 2), MulScalar(Square(add), float64(hw))))
		s1 = Add(s1, MulScalar(add, float64(hw)))
	}
	cg := c / groups
	n := float64(hw * cg)
	mean := DivScalar(ReduceSum(Reshape(s1, b, groups, cg), 2), n)   // [B, G]
	meanSq := DivScalar(ReduceSum(Reshape(s2, b, groups, cg), 2), n) // [B, G]
	variance := MaxScalar(Sub(meanSq, Square(mean)), 0)
	rstd := Reciprocal(Sqrt(AddScalar(variance, groupNormEpsilon))) // Rsqrt has no gradient in GoMLX
	perChannel := func(v *Node) *Node {                             // [B, G] -> [B, C]
		return Reshape(BroadcastToDims(Reshape(v, b, groups, 1), b, groups, cg), b, c)
	}
	a := Mul(perChannel(rstd), Reshape(scale, 1, c))              // [B, C]
	shift := Sub(Reshape(offset, 1, c), Mul(perChannel(mean), a)) // [B, C]
	if add != nil {
		shift = Add(shift, Mul(add, a))
	}
	y := Add(Mul(rows, Gather(a, sample)), Gather(shift, sample))
	return Reshape(y, b, h, wd, c)
}

// sampleIndex is the int32 constant [b*hw, 1] holding the sample of each pixel row.
func sampleIndex(g *Graph, b, hw int) *Node {
	idx := make([]int32, b*hw)
	for i := range idx {
		idx[i] = int32(i / hw)
	}
	return Reshape(Const(g, idx), b*hw, 1)
}

// addPerSample is x [B, H, W, C] + v [B, C] broadcast over the pixels (with a Gather; see
// GroupNorm for why).
func addPerSample(x, v *Node) *Node {
	d := x.Shape().Dimensions
	b, hw, c := d[0], d[1]*d[2], d[3]
	y := Add(Reshape(x, b*hw, c), Gather(v, sampleIndex(x.Graph(), b, hw)))
	return Reshape(y, d...)
}
