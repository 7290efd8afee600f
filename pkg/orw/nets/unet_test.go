package nets

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
)

func TestUNetParamCount(t *testing.T) {
	v, err := New(DefaultConfig("unet", 28, 28, 1))
	if err != nil {
		t.Fatal(err)
	}
	if got := NumParams(v.Specs()); got != 484577 {
		t.Errorf("benchmark U-Net (docs/benchmarks.md) has %d parameters, want 484,577", got)
	}
	names := map[string]bool{}
	for _, s := range v.Specs() {
		if names[s.Name] {
			t.Errorf("duplicate parameter name %q", s.Name)
		}
		names[s.Name] = true
	}
	cond := DefaultConfig("unet", 28, 28, 1)
	cond.NumClasses = 10
	vc, err := New(cond)
	if err != nil {
		t.Fatal(err)
	}
	if got := NumParams(vc.Specs()); got != 484577+10*128 {
		t.Errorf("class-conditional U-Net has %d parameters, want %d", got, 484577+10*128)
	}
}

func TestUNetConfigErrors(t *testing.T) {
	for _, c := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Shape = []int{30, 28, 1} }, "divisible by 4"},
		{func(c *Config) { c.Shape = []int{784} }, "[H, W, C]"},
		{func(c *Config) { c.Channels = []int{32, 60, 64} }, "divisible by Groups"},
		{func(c *Config) { c.Groups = -1 }, "Groups"},
		{func(c *Config) { c.EmbedDim = -4 }, "EmbedDim"},
	} {
		cfg := DefaultConfig("unet", 28, 28, 1)
		c.mod(&cfg)
		_, err := New(cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("config %+v: error %v, want one mentioning %q", cfg, err, c.want)
		}
	}
	// Two levels only need H, W divisible by 2; one level by 1.
	for _, chans := range [][]int{{16, 32}, {16}} {
		cfg := DefaultConfig("unet", 6, 10, 2)
		cfg.Channels = chans
		if _, err := New(cfg); err != nil {
			t.Errorf("channels %v on 6x10: %v", chans, err)
		}
	}
}

// unetBatch returns random t [B], x [B, shape...] and labels [B] tensors.
func unetBatch(rng *rand.Rand, b int, shape []int, numClasses int) (tt, x, labels *tensors.Tensor) {
	ts := make([]float32, b)
	ls := make([]int32, b)
	for i := range ts {
		ts[i] = rng.Float32()
		ls[i] = int32(rng.IntN(max(numClasses, 1)))
	}
	return tensors.FromFlatDataAndDimensions(ts, b), randTensor(rng, 1, append([]int{b}, shape...)...),
		tensors.FromFlatDataAndDimensions(ls, b)
}

func TestUNetShapes(t *testing.T) {
	backend := backendForTest(t)
	rng := rand.New(rand.NewPCG(21, 22))
	for _, c := range []struct {
		shape      []int
		numClasses int
		channels   []int
	}{
		{[]int{28, 28, 1}, 0, nil},
		{[]int{32, 32, 3}, 10, nil},
		{[]int{16, 8, 3}, 3, []int{8, 16, 16, 32}},
	} {
		cfg := DefaultConfig("unet", c.shape...)
		cfg.NumClasses = c.numClasses
		if c.channels != nil {
			cfg.Channels = c.channels
			cfg.Groups = 4
		}
		v, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(v.Shape(), c.shape) || v.Config().Kind != "unet" {
			t.Errorf("Shape() = %v, Config() = %+v", v.Shape(), v.Config())
		}
		specs := v.Specs()
		params := Init(specs, rng)
		tt, x, labels := unetBatch(rng, 2, c.shape, c.numClasses)
		var unused []string
		out, err := MustNewExec(backend, func(in []*Node) *Node {
			n := len(specs)
			w := Bind(specs, in[:n])
			var lab *Node
			if c.numClasses > 0 {
				lab = in[n+2]
			}
			y := v.Apply(w, in[n], in[n+1], lab)
			unused = w.Unused()
			return y
		}).Call(append(anySlice(params.Tensors), tt, x, labels)...)
		if err != nil {
			t.Fatal(err)
		}
		if len(unused) > 0 {
			t.Errorf("%v: parameters never used: %v", c.shape, unused)
		}
		if got, want := out[0].Shape().Dimensions, x.Shape().Dimensions; !slices.Equal(got, want) {
			t.Errorf("%v: output shape %v, want %v", c.shape, got, want)
		}
	}
}

// anySlice converts tensors to Exec arguments.
func anySlice(ts []*tensors.Tensor) []any {
	a := make([]any, len(ts))
	for i, t := range ts {
		a[i] = t
	}
	return a
}

// velocityLoss is the mean squared error between v.Apply and a target, batch = t, x, labels, target.
func velocityLoss(v Velocity) func(w *Weights, batch []*Node) *Node {
	return func(w *Weights, batch []*Node) *Node {
		var labels *Node
		if v.Config().NumClasses > 0 {
			labels = batch[2]
		}
		return ReduceAllMean(Square(Sub(v.Apply(w, batch[0], batch[1], labels), batch[3])))
	}
}

func TestUNetGradientsFlow(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	cfg := DefaultConfig("unet", 28, 28, 1)
	cfg.NumClasses = 10
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	specs := v.Specs()
	tt, x, labels := unetBatch(rng, 4, v.Shape(), 10)
	target := randTensor(rng, 1, 4, 28, 28, 1)
	checkGradientsFlow(t, specs, Init(specs, rng), velocityLoss(v), tt, x, labels, target)
}

func TestUNetOverfits(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	cfg := DefaultConfig("unet", 16, 16, 1)
	cfg.Channels = []int{16, 32, 32}
	cfg.NumClasses = 4
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	specs := v.Specs()
	tt, x, labels := unetBatch(rng, 8, v.Shape(), 4)
	// A smooth target that depends on x, t and the label: learnable by a small U-Net.
	xs, ts, ls := Float32s(x), Float32s(tt), tensors.MustCopyFlatData[int32](labels)
	target := make([]float32, len(xs))
	per := 16 * 16
	for i := range target {
		b := i / per
		target[i] = 0.5*xs[i] - ts[b] + 0.25*float32(ls[b])
	}
	tgt := tensors.FromFlatDataAndDimensions(target, 8, 16, 16, 1)
	first, last := trainForTest(t, specs, Init(specs, rng), 40, 3e-3, velocityLoss(v), tt, x, labels, tgt)
	t.Logf("U-Net overfit: loss %.4f -> %.4f", first, last)
	if !(last < 0.2*first) {
		t.Errorf("40 Adam steps on a fixed batch took the loss from %.4f to %.4f; want below 20%%", first, last)
	}
}

// BenchmarkUNet times the benchmark U-Net of docs/benchmarks.md ([28, 28, 1],
// batch 64): a forward pass (one velocity evaluation while sampling) and a
// forward pass plus the gradient of an MSE loss with respect to all the
// parameters (one training step without the optimiser update).
func BenchmarkUNet(b *testing.B) {
	backend := backendForTest(b)
	rng := rand.New(rand.NewPCG(27, 28))
	v, err := New(DefaultConfig("unet", 28, 28, 1))
	if err != nil {
		b.Fatal(err)
	}
	specs := v.Specs()
	params := Init(specs, rng)
	tt, x, _ := unetBatch(rng, 64, v.Shape(), 0)
	target := randTensor(rng, 1, 64, 28, 28, 1)
	n := len(specs)
	args := append(anySlice(params.Tensors), tt, x, target)
	b.Run("fwd_B64", func(b *testing.B) {
		exec := MustNewExec(backend, func(in []*Node) *Node {
			return v.Apply(Bind(specs, in[:n]), in[n], in[n+1], nil)
		})
		benchExec(b, exec, args...)
	})
	b.Run("fwdbwd_B64", func(b *testing.B) {
		exec := MustNewExec(backend, func(in []*Node) []*Node {
			w := Bind(specs, in[:n])
			loss := ReduceAllMean(Square(Sub(v.Apply(w, in[n], in[n+1], nil), in[n+2])))
			return Gradient(loss, in[:n]...)
		})
		benchExec(b, exec, args...)
	})
}
