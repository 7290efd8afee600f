package nets

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph ops read like math.
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/nn"
)

// Convolutions on the Go backend.
//
// The backend's own ConvGeneral is many times slower than the same convolution written
// as one matrix product, so every convolution here is an explicit im2col followed by a
// fused dense kernel:
//
//  1. the input is zero-padded once ("same" padding, (k-1)/2 before and k/2 after);
//  2. one GatherSlices op copies, for every output pixel, its k x k x cin window out of
//     the padded input (each window row of k*cin values is one contiguous copy), giving the
//     patch matrix [B*Ho*Wo, k*k*cin]; a stride is just a coarser set of window origins;
//  3. nn.Dense multiplies the patches by the kernel, with the kernel passed transposed
//     ([cout, k*k*cin], compute.DenseLayoutOutputsInput): the backend's fused dense
//     gradient transposes one matrix, with a plain element loop, to get the kernel's
//     gradient, and this layout makes it the output gradient [N, cout] rather than the
//     patches [N, k*k*cin] (a faster forward+backward).
//
// Two cases take other routes, for stride 1: few input channels (im2colRows, which
// copies whole image rows per tap instead of 3-value window rows) and few output
// channels (convShiftOutputs, which multiplies the input by all the taps at once and
// adds the shifted results, without a patch matrix). conv2D is the one place that
// chooses how a convolution is computed, so a backend with a fast native convolution
// can be given its own route there.
//
// The gradient of the gather is a ScatterSum of window rows, again contiguous chunks.
// BenchmarkConv3x3_32to32_28x28_B64 times it; this im2col is the fastest of the
// variants tried (graph.Convolve, an im2col built from k*k Slices and a Concatenate,
// the kernel in the InputOutputs layout), and the measured times are in
// docs/measurements.md ("Convolutions").

// Conv2DSpecs declares a k x k convolution from cin to cout channels named prefix: the
// kernel prefix+"/w" shaped [k, k, cin, cout] (the channels-last layout of
// graph.Convolve, initialised with fan-in k*k*cin) and the bias prefix+"/b" shaped [cout].
func Conv2DSpecs(prefix string, k, cin, cout int) []ParamSpec {
	return []ParamSpec{
		{Name: prefix + "/w", Shape: []int{k, k, cin, cout}, Init: InitFanIn, Scale: 1},
		{Name: prefix + "/b", Shape: []int{cout}, Init: InitZeros},
	}
}

// Conv2D applies the convolution named prefix (see Conv2DSpecs) to x [B, H, W, cin] with
// "same" zero padding ((k-1)/2 before, k/2 after, as graph.Convolve's PadSame) and the
// given stride (1 or more): the output is [B, ceil(H/stride), ceil(W/stride), cout].
// On the Go backend it is one matrix product (the notes above); on others, graph.Convolve
// (conv_xla.go).
func Conv2D(w *Weights, prefix string, x *Node, k, stride int) *Node {
	return conv2D(x, w.Get(prefix+"/w"), w.Get(prefix+"/b"), k, stride, activation.TypeNone)
}

// convMatMul is conv2D in the matrix-product form, followed by act (fused into the
// dense kernel where the backend can); conv_xla.go chooses between the two forms.
func convMatMul(x, kernel, bias *Node, k, stride int, act activation.Type) *Node {
	checkImage("Conv2D", x)
	if stride < 1 {
		panic(fmt.Sprintf("nets.Conv2D: stride must be >= 1, got %d", stride))
	}
	kd := kernel.Shape().Dimensions
	d := x.Shape().Dimensions
	b, h, wd, cin := d[0], d[1], d[2], d[3]
	if len(kd) != 4 || kd[0] != k || kd[1] != k || kd[2] != cin {
		panic(fmt.Sprintf("nets.Conv2D: kernel shape %v does not fit a %dx%d convolution of %d input channels", kd, k, k, cin))
	}
	cout := kd[3]
	ho, wo := ceilDiv(h, stride), ceilDiv(wd, stride)
	if k > 1 && stride == 1 && cout <= smallOut {
		return applyAct(convShiftOutputs(x, kernel, bias, k), act)
	}
	var patches *Node
	switch {
	case k == 1:
		patches = x
		if stride > 1 {
			patches = Slice(x, AxisRange(), AxisRange().Stride(stride), AxisRange().Stride(stride), AxisRange())
		}
	case stride == 1 && cin <= smallIn:
		patches = im2colRows(x, k)
	default:
		patches = im2col(x, k, stride)
	}
	patches = Reshape(patches, b*ho*wo, k*k*cin)
	y := denseT(patches, Reshape(kernel, k*k*cin, cout), bias, act)
	return Reshape(y, b, ho, wo, cout)
}

// smallIn and smallOut are the channel counts up to which a stride-1
// convolution takes the im2colRows and convShiftOutputs routes. With few
// input channels a window row of im2col is a copy of k*cin values (3 for a gray
// image), too short for the gather to be anything but overhead; with few output
// channels the product [N, k*k*cin] x [k*k*cin, cout] packs the whole patch
// matrix for a handful of columns (docs/performance.md, "Convolutions with few
// channels").
const (
	smallIn  = 4
	smallOut = 8
)

// applyAct applies an activation that conv2D would otherwise fuse into the product.
func applyAct(x *Node, act activation.Type) *Node {
	if act == activation.TypeNone {
		return x
	}
	return activation.Apply(act, x)
}

// im2colRows is im2col for stride 1 built from whole image rows: for every tap
// (dy, dx) it gathers, per image row, the W*C values of the padded input that
// the row's windows read at that tap (one copy per row instead of one per
// output pixel), giving [k*k, B*H*W, C], and transposes that to the patch
// matrix [B*H*W, k, k, C] (the tap axis moves past the pixels: one fast
// transpose).
func im2colRows(x *Node, k int) *Node {
	d := x.Shape().Dimensions
	b, h, wd, c := d[0], d[1], d[2], d[3]
	lo, hi := (k-1)/2, k/2
	hp, wp := h+lo+hi, wd+lo+hi
	xp := Reshape(padHW(x, lo, hi), b*hp, wp*c)
	starts := make([]int32, 0, 2*k*k*b*h)
	for dy := range k {
		for dx := range k {
			for bi := range b {
				for i := range h {
					starts = append(starts, int32(bi*hp+i+dy), int32(dx*c))
				}
			}
		}
	}
	idx := Reshape(Const(x.Graph(), starts), k*k*b*h, 2)
	rows := GatherSlices(xp, []int{0, 1}, idx, []int{1, wd * c}, true) // [k*k*B*H, 1, W*C]
	if c == 1 {
		// A plain matrix transpose, which the backend does blockwise.
		return Reshape(Transpose(Reshape(rows, k*k, b*h*wd), 0, 1), b*h*wd, k, k, c)
	}
	return Reshape(Transpose(Reshape(rows, k*k, b*h*wd, c), 0, 1), b*h*wd, k, k, c)
}

// convShiftOutputs is a stride-1 convolution for few output channels, written as
// one product of the (padded) input itself with all the taps, z = x_p · [W_t]_t
// ([N_p, cin] x [cin, k*k*cout]), followed by the sum over the taps t of z's
// columns for t shifted by t's offset: y(q) = Σ_t z_t(q + off_t). No patch
// matrix is built (the product packs N_p*cin values instead of N*k*k*cin), and
// the shifts are long contiguous copies once z is laid out tap-major. Only the
// input is kept for the backward pass.
func convShiftOutputs(x, kernel, bias *Node, k int) *Node {
	d := x.Shape().Dimensions
	b, h, wd, cin := d[0], d[1], d[2], d[3]
	cout := kernel.Shape().Dimensions[3]
	lo, hi := (k-1)/2, k/2
	hp, wp := h+lo+hi, wd+lo+hi
	n := b * hp * wp
	xp := Reshape(padHW(x, lo, hi), n, cin)
	taps := Reshape(Transpose(Reshape(kernel, k*k, cin, cout), 0, 1), cin, k*k*cout)
	// z = (x_p · taps)ᵀ, [k*k*cout, N_p]: tap-major rows, laid out so by the
	// product itself (taps contracted on their first axis, x_p on its second)
	// rather than by a transpose of [N_p, k*k*cout] after it, which cost more
	// than the product.
	z := DotGeneral(taps, []int{0}, nil, xp, []int{1}, nil)
	// Outputs for the positions first..first+m-1 of the padded grid, which hold
	// every pixel of the image (and the padding between them, dropped below).
	first := lo*wp + lo
	m := n - (k-1)*wp - (k - 1)
	starts := make([]int32, 0, 2*k*k)
	for dy := range k {
		for dx := range k {
			starts = append(starts, int32(dy*k+dx), int32(first+(dy-lo)*wp+(dx-lo)))
		}
	}
	idx := Reshape(Const(x.Graph(), starts), k*k, 2)
	shifted := GatherSlices(Reshape(z, k*k, cout, n), []int{0, 2}, idx, []int{1, m}, true) // [k*k, 1, cout, m]
	y := ReduceSum(Reshape(shifted, k*k, cout, m), 0)                                      // [cout, m]
	y = Pad(y, ScalarZero(x.Graph(), x.DType()), compute.PadAxis{}, compute.PadAxis{Start: first, End: n - m - first})
	y = Slice(Reshape(y, cout, b, hp, wp), AxisRange(), AxisRange(), AxisRange(lo, lo+h), AxisRange(lo, lo+wd))
	if cout > 1 {
		y = TransposeAllAxes(y, 1, 2, 3, 0)
	}
	return Add(Reshape(y, b, h, wd, cout), Reshape(bias, 1, 1, 1, cout))
}

// denseT is act(x [N, K] @ m [K, M] + bias) by the fused dense kernel, with the weight
// layout for which its gradient transposes the smaller matrix: [N, M] (m passed
// transposed, DenseLayoutOutputsInput) when M <= K, as for every 3x3 convolution here,
// else x [N, K] (DenseLayoutInputOutputs).
func denseT(x, m, bias *Node, act activation.Type) *Node {
	kd := m.Shape().Dimensions
	if kd[1] > kd[0] {
		return nn.Dense(x, m, bias, compute.DenseLayoutInputOutputs, act)
	}
	return nn.Dense(x, Transpose(m, 0, 1), bias, compute.DenseLayoutOutputsInput, act)
}

// im2col returns the k x k windows of x [B, H, W, C] ("same" padding, the given stride)
// as [B*Ho*Wo, k, k, C], in row-major output-pixel order.
func im2col(x *Node, k, stride int) *Node {
	d := x.Shape().Dimensions
	b, h, wd, c := d[0], d[1], d[2], d[3]
	lo, hi := (k-1)/2, k/2
	hp, wp := h+lo+hi, wd+lo+hi
	ho, wo := ceilDiv(h, stride), ceilDiv(wd, stride)
	xp := Reshape(padHW(x, lo, hi), b*hp, wp, c)
	starts := make([]int32, 0, 2*b*ho*wo)
	for bi := 0; bi < b; bi++ {
		for i := 0; i < ho; i++ {
			for j := 0; j < wo; j++ {
				starts = append(starts, int32(bi*hp+i*stride), int32(j*stride))
			}
		}
	}
	idx := Reshape(Const(x.Graph(), starts), b*ho*wo, 2)
	return GatherSlices(xp, []int{0, 1}, idx, []int{k, k}, true)
}

// padHW zero-pads the two spatial axes of x [B, H, W, C] by lo before and hi after.
// (graph.Pad needs a PadAxis for every axis, or its gradient comes out mis-shaped.)
func padHW(x *Node, lo, hi int) *Node {
	hw := compute.PadAxis{Start: lo, End: hi}
	return Pad(x, ScalarZero(x.Graph(), x.DType()), compute.PadAxis{}, hw, hw, compute.PadAxis{})
}

// Upsample2x is the nearest-neighbour 2x upsampling of x [B, H, W, C] to [B, 2H, 2W, C].
func Upsample2x(x *Node) *Node {
	checkImage("Upsample2x", x)
	d := x.Shape().Dimensions
	b, h, w, c := d[0], d[1], d[2], d[3]
	y := BroadcastToDims(Reshape(x, b, h, 1, w, 1, c), b, h, 2, w, 2, c)
	return Reshape(y, b, 2*h, 2*w, c)
}

// UpsampleConv2D is Conv2D(w, prefix, Upsample2x(x), k, 1), computed without building
// the upsampled image when k is 3: each of the four output phases (row and column
// parity) of a 3x3 convolution of a nearest-upsampled image is a 2x2 convolution of the
// low-resolution image with summed kernel taps, which takes 4/9 of the multiplications
// and a gather four times smaller (about half the time of Conv2D of Upsample2x, forward +
// backward: docs/measurements.md, "Convolutions"). Other kernel sizes take the
// direct route.
func UpsampleConv2D(w *Weights, prefix string, x *Node, k int) *Node {
	kernel := w.Get(prefix + "/w")
	bias := w.Get(prefix + "/b")
	if k != 3 || useConvolve(x.Graph()) { // graph.Convolve of the upsampled image (conv_xla.go)
		return conv2D(Upsample2x(x), kernel, bias, k, 1, activation.TypeNone)
	}
	return upsampleConv3x3(x, kernel, bias)
}

// phaseTaps[p][o][d] is 1 when, for output phase p of a nearest 2x upsampling, the 3x3
// kernel tap d falls on the low-resolution pixel at offset o-1+p (o = 0, 1).
var phaseTaps = [2][2][3]float32{
	{{1, 0, 0}, {0, 1, 1}}, // even output row: taps on rows a-1 | a, a
	{{1, 1, 0}, {0, 0, 1}}, // odd output row: taps on rows a, a | a+1
}

// upsampleConv3x3 implements UpsampleConv2D for k = 3. Each output phase (pi, pj) gets
// its own 2x2 im2col gather of the padded low-resolution input and its own dense product;
// the four results are scattered into their pixels of the output. (A scatter, whose
// gradient is a gather, is faster here than a Concatenate + Transpose, whose gradient
// goes through the backend's element-by-element Slice.)
func upsampleConv3x3(x, kernel, bias *Node) *Node {
	checkImage("UpsampleConv2D", x)
	g := x.Graph()
	d := x.Shape().Dimensions
	b, h, wd, cin := d[0], d[1], d[2], d[3]
	kd := kernel.Shape().Dimensions
	if len(kd) != 4 || kd[0] != 3 || kd[1] != 3 || kd[2] != cin {
		panic(fmt.Sprintf("nets.UpsampleConv2D: kernel shape %v does not fit a 3x3 convolution of %d input channels", kd, cin))
	}
	cout := kd[3]
	hp, wp := h+2, wd+2
	xp := Reshape(padHW(x, 1, 1), b*hp, wp, cin)
	n := b * h * wd

	// Phase kernels [4, 2*2*cin, cout]: the sum of the 3x3 taps each 2x2 position collects,
	// as a constant [16, 9] matrix ((pi, pj, oy, ox), (dy, dx)) applied to the kernel.
	taps := make([]float32, 0, 16*9)
	for pi := range 2 {
		for pj := range 2 {
			for oy := range 2 {
				for ox := range 2 {
					for dy := range 3 {
						for dx := range 3 {
							taps = append(taps, phaseTaps[pi][oy][dy]*phaseTaps[pj][ox][dx])
						}
					}
				}
			}
		}
	}
	phaseKernels := Reshape(MatMul(Reshape(Const(g, taps), 16, 9), Reshape(kernel, 9, cin*cout)), 4, 4*cin, cout)

	var y *Node
	for p := range 4 {
		pi, pj := p/2, p%2
		starts := make([]int32, 0, 2*n) // window origins in the padded input
		dst := make([]int32, 0, n)      // output pixels of this phase
		for bi := 0; bi < b; bi++ {
			for i := 0; i < h; i++ {
				for j := 0; j < wd; j++ {
					starts = append(starts, int32(bi*hp+i+pi), int32(j+pj))
					dst = append(dst, int32((bi*2*h+2*i+pi)*2*wd+2*j+pj))
				}
			}
		}
		patches := GatherSlices(xp, []int{0, 1}, Reshape(Const(g, starts), n, 2), []int{2, 2}, true)
		pk := Reshape(Slice(phaseKernels, AxisElem(p), AxisRange(), AxisRange()), 4*cin, cout)
		yp := denseT(Reshape(patches, n, 4*cin), pk, bias, activation.TypeNone)
		at := Reshape(Const(g, dst), n, 1)
		if y == nil {
			y = Scatter(at, yp, shapes.Make(x.DType(), 4*n, cout), true, true)
		} else {
			y = ScatterSum(y, at, yp, true, true)
		}
	}
	return Reshape(y, b, 2*h, 2*wd, cout)
}

// DepthToSpace rearranges x [B, H, W, r*r*C] into [B, r*H, r*W, C] (the "pixel shuffle"):
// the channel block (dy, dx) of pixel (i, j) becomes pixel (r*i+dy, r*j+dx).
func DepthToSpace(x *Node, r int) *Node {
	checkImage("DepthToSpace", x)
	d := x.Shape().Dimensions
	b, h, w, c := d[0], d[1], d[2], d[3]
	if c%(r*r) != 0 {
		panic(fmt.Sprintf("nets.DepthToSpace: %d channels are not divisible by %d*%d", c, r, r))
	}
	c /= r * r
	y := Reshape(x, b, h, w, r, r, c)
	y = TransposeAllAxes(y, 0, 1, 3, 2, 4, 5)
	return Reshape(y, b, r*h, r*w, c)
}

// checkImage panics unless x is a [B, H, W, C] tensor.
func checkImage(op string, x *Node) {
	if x.Rank() != 4 {
		panic(fmt.Sprintf("nets.%s: want an image batch [B, H, W, C], got shape %s", op, x.Shape()))
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
