package nets

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
)

// TestUNetPaperParamCount derives the parameter count of the paper's CIFAR-10 U-Net
// layer by layer, written out block by block rather than with the network's own loops,
// and checks it against the network's specs and against the 35.7 million parameters that
// Ho et al. (2020, "Denoising Diffusion Probabilistic Models", appendix B) give for the
// same architecture. (Instantiating the reference implementation's CIFAR-10 network
// and summing its parameter sizes gives the same 35,746,307.)
func TestUNetPaperParamCount(t *testing.T) {
	conv := func(k, cin, cout int) int { return k*k*cin*cout + cout }
	lin := func(in, out int) int { return in*out + out }
	gn := func(c int) int { return 2 * c }
	const e = 512 // time embedding: 4 x 128 base channels
	res := func(cin, cout int) int {
		n := gn(cin) + conv(3, cin, cout) + lin(e, cout) + gn(cout) + conv(3, cout, cout)
		if cin != cout {
			n += conv(1, cin, cout) // skip
		}
		return n
	}
	attn := func(c int) int { return gn(c) + lin(c, 3*c) + lin(c, c) }

	want := lin(128, e) + lin(e, e) + conv(3, 3, 128) // time MLP, first convolution
	// Encoder. 32x32: 2 blocks at 128; 16x16: 2 blocks at 256 with attention; 8x8 and
	// 4x4: 2 blocks at 256; a stride-2 convolution between levels.
	want += res(128, 128) + res(128, 128) + conv(3, 128, 128)
	want += res(128, 256) + attn(256) + res(256, 256) + attn(256) + conv(3, 256, 256)
	want += res(256, 256) + res(256, 256) + conv(3, 256, 256)
	want += res(256, 256) + res(256, 256)
	// Middle.
	want += res(256, 256) + attn(256) + res(256, 256)
	// Decoder: 3 blocks per level, each on the concatenation with a skip. The skips, last
	// first: 4x4: 256, 256, 256 (the 8x8 -> 4x4 convolution); 8x8: 256, 256, 256; 16x16:
	// 256, 256, 128 (the 32x32 -> 16x16 convolution); 32x32: 128, 128, 128 (the first
	// convolution). Upsampling convolutions after the 4x4, 8x8 and 16x16 levels.
	want += 3*res(512, 256) + conv(3, 256, 256)
	want += 3*res(512, 256) + conv(3, 256, 256)
	want += res(512, 256) + attn(256) + res(512, 256) + attn(256) + res(384, 256) + attn(256) + conv(3, 256, 256)
	want += res(384, 128) + res(256, 128) + res(256, 128)
	want += gn(128) + conv(3, 128, 3) // output

	v, err := New(UNetPaperConfig(32, 32, 3))
	if err != nil {
		t.Fatal(err)
	}
	got := NumParams(v.Specs())
	if got != want {
		t.Errorf("unet-paper on [32, 32, 3] has %d parameters; the layer-by-layer count is %d", got, want)
	}
	if millions := math.Round(float64(got)/1e5) / 10; millions != 35.7 {
		t.Errorf("unet-paper has %d parameters = %.1f million; the DDPM paper gives 35.7 million for this architecture", got, millions)
	}
	t.Logf("unet-paper: %d parameters", got)

	names := map[string]bool{}
	for _, s := range v.Specs() {
		if names[s.Name] {
			t.Errorf("duplicate parameter name %q", s.Name)
		}
		names[s.Name] = true
	}

	cond := UNetPaperConfig(32, 32, 3)
	cond.NumClasses = 10
	vc, err := New(cond)
	if err != nil {
		t.Fatal(err)
	}
	if got := NumParams(vc.Specs()); got != want+10*e {
		t.Errorf("class-conditional unet-paper has %d parameters, want %d + 10 x %d", got, want, e)
	}
}

func TestUNetPaperConfig(t *testing.T) {
	c := UNetPaperConfig(32, 32, 3)
	if c.Kind != "unet-paper" || !slices.Equal(c.Channels, []int{128, 256, 256, 256}) || c.EmbedDim != 512 || c.TimeDim != 128 || c.Groups != 32 {
		t.Errorf("UNetPaperConfig = %+v, want 128 x (1, 2, 2, 2) channels, 512-dim embedding, 128-dim sinusoid, 32 groups", c)
	}
	if !slices.Contains(Kinds, "unet-paper") {
		t.Errorf("Kinds = %v lacks unet-paper", Kinds)
	}
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Shape = []int{36, 32, 3} }, "divisible by 8"},
		{func(c *Config) { c.Shape = []int{3072} }, "[H, W, C]"},
		{func(c *Config) { c.Channels = []int{128, 250, 256, 256} }, "divisible by Groups"},
		{func(c *Config) { c.Channels = []int{128, 160, 160, 256} }, "attends at level 1"},
		{func(c *Config) { c.Channels = []int{128, 256, 256, 96} }, "middle block"},
		{func(c *Config) { c.EmbedDim = -1 }, "EmbedDim"},
	} {
		cfg := UNetPaperConfig(32, 32, 3)
		tc.mod(&cfg)
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %+v: error %v, want one mentioning %q", cfg, err, tc.want)
		}
	}
}

// smallPaperConfig is unet-paper scaled down for tests on a CPU: 32x32x3 images, two
// levels (64 and 128 channels), attention at 16x16 in 2 heads.
func smallPaperConfig(numClasses int) Config {
	c := UNetPaperConfig(32, 32, 3)
	c.Channels = []int{64, 128}
	c.EmbedDim = 64
	c.TimeDim = 32
	c.NumClasses = numClasses
	return c
}

// TestUNetPaperStartsAtZero checks the initialisation: the output convolution (and every
// block's last layer) starts at zero, so the initial velocity is exactly 0, as in the
// reference.
func TestUNetPaperStartsAtZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	v, err := New(smallPaperConfig(3))
	if err != nil {
		t.Fatal(err)
	}
	specs := v.Specs()
	var zero []string
	for _, s := range specs {
		if s.Init == InitZeros && strings.HasSuffix(s.Name, "/w") {
			zero = append(zero, s.Name)
		}
	}
	// Per residual block its conv2, per attention block its proj, and the output conv.
	plan := v.(*unetPaper).plan()
	blocks := 0
	for _, b := range plan {
		if b.kind == "res" || b.kind == "attn" {
			blocks++
		}
	}
	if len(zero) != blocks+1 {
		t.Errorf("%d zero-initialised weight matrices %v, want %d (one per block and the output)", len(zero), zero, blocks+1)
	}
	params := Init(specs, rng)
	tt, x, labels := unetBatch(rng, 2, v.Shape(), 3)
	n := len(specs)
	out, err := MustNewExec(backendForTest(t), func(in []*Node) *Node {
		return v.Apply(Bind(specs, in[:n]), in[n], in[n+1], in[n+2])
	}).Call(append(anySlice(params.Tensors), tt, x, labels)...)
	if err != nil {
		t.Fatal(err)
	}
	for i, y := range Float32s(out[0]) {
		if y != 0 {
			t.Fatalf("initial velocity element %d is %g, want 0", i, y)
		}
	}
}

// randomised returns fresh values for specs in which the zero-initialised weights are
// random too, so that every layer's gradient is non-zero.
func randomised(specs []ParamSpec, rng *rand.Rand) *Params {
	s := slices.Clone(specs)
	for i := range s {
		if s[i].Init == InitZeros && !strings.HasSuffix(s[i].Name, "/offset") {
			s[i].Init, s[i].Scale = InitFanIn, 0.5
		}
	}
	return Init(s, rng)
}

func TestUNetPaperShapesAndGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	v, err := New(smallPaperConfig(10))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v.Shape(), []int{32, 32, 3}) || v.Config().Kind != "unet-paper" {
		t.Errorf("Shape() = %v, Config() = %+v", v.Shape(), v.Config())
	}
	specs := v.Specs()
	tt, x, labels := unetBatch(rng, 2, v.Shape(), 10)
	target := randTensor(rng, 1, 2, 32, 32, 3)
	// Every parameter is used and gets a gradient; the output has the shape of x (the
	// loss would not build otherwise).
	checkGradientsFlow(t, specs, randomised(specs, rng), velocityLoss(v), tt, x, labels, target)
}

// attentionHost is the attention block computed directly in float64 on the host, for x
// [B, HW, C] (a flattened image) with the parameters of attention's specs.
func attentionHost(x []float32, b, hw, c, groups, heads int, p map[string][]float32) []float64 {
	hn := groupNormHost(x, b, hw, 1, c, groups, p["norm/scale"], p["norm/offset"])
	d := c / heads
	dense := func(in []float32, wname, bname string, rows, cin, cout int) []float64 {
		out := make([]float64, rows*cout)
		for r := range rows {
			for o := range cout {
				s := float64(p[bname][o])
				for i := range cin {
					s += float64(in[r*cin+i]) * float64(p[wname][i*cout+o])
				}
				out[r*cout+o] = s
			}
		}
		return out
	}
	qkv := dense(hn, "qkv/w", "qkv/b", b*hw, c, 3*c) // [B*HW, 3, heads, d]
	at := func(bi, t, part, h, j int) float64 { return qkv[(bi*hw+t)*3*c+part*c+h*d+j] }
	a := make([]float32, b*hw*c)
	for bi := range b {
		for h := range heads {
			for t := range hw {
				scores := make([]float64, hw)
				maxS := math.Inf(-1)
				for s := range hw {
					for j := range d {
						scores[s] += at(bi, t, 0, h, j) * at(bi, s, 1, h, j)
					}
					scores[s] /= math.Sqrt(float64(d))
					maxS = math.Max(maxS, scores[s])
				}
				var z float64
				for s := range scores {
					scores[s] = math.Exp(scores[s] - maxS)
					z += scores[s]
				}
				for j := range d {
					var sum float64
					for s := range hw {
						sum += scores[s] / z * at(bi, s, 2, h, j)
					}
					a[(bi*hw+t)*c+h*d+j] = float32(sum)
				}
			}
		}
	}
	proj := dense(a, "proj/w", "proj/b", b*hw, c, c)
	for i := range proj {
		proj[i] += float64(x[i])
	}
	return proj
}

func TestAttentionMatchesHost(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	const b, h, w, c, groups, heads = 2, 3, 2, 8, 2, 2
	specs := append(GroupNormSpecs("a/norm", c), DenseSpecs("a/qkv", c, 3*c)...)
	specs = append(specs, DenseSpecs("a/proj", c, c)...)
	params := randomised(specs, rng)
	// Non-trivial norm scales and offsets too.
	for i, n := range params.Names {
		if strings.HasPrefix(n, "a/norm/") {
			params.Tensors[i] = randTensor(rng, 1, c)
		}
	}
	x := randTensor(rng, 1, b, h, w, c)
	n := len(specs)
	out, err := MustNewExec(backendForTest(t), func(in []*Node) *Node {
		return attention(Bind(specs, in[:n]), "a", in[n], groups, heads)
	}).Call(append(anySlice(params.Tensors), x)...)
	if err != nil {
		t.Fatal(err)
	}
	p := map[string][]float32{}
	for i, name := range params.Names {
		p[strings.TrimPrefix(name, "a/")] = Float32s(params.Tensors[i])
	}
	want := attentionHost(Float32s(x), b, h*w, c, groups, heads, p)
	wantT := make([]float32, len(want))
	for i, v := range want {
		wantT[i] = float32(v)
	}
	assertClose(t, "attention", out[0], tensors.FromFlatDataAndDimensions(wantT, b, h, w, c), 1e-4)
}
