package nets

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
)

// blobImages returns n images [n, h, w, c] in [-1, 1]: a dark background with two or
// three random Gaussian blobs, a compressible stand-in for digits.
func blobImages(rng *rand.Rand, n, h, w, c int) *tensors.Tensor {
	data := make([]float32, n*h*w*c)
	for i := range n {
		type blob struct{ y, x, s, amp float64 }
		blobs := make([]blob, 2+rng.IntN(2))
		for k := range blobs {
			blobs[k] = blob{rng.Float64() * float64(h), rng.Float64() * float64(w), 1.5 + 3*rng.Float64(), 0.6 + 0.4*rng.Float64()}
		}
		for y := range h {
			for x := range w {
				for ch := range c {
					v := 0.0
					for k, bl := range blobs {
						if c > 1 && (k+ch)%c == 0 {
							continue // colour: not every blob in every channel
						}
						d2 := (float64(y)-bl.y)*(float64(y)-bl.y) + (float64(x)-bl.x)*(float64(x)-bl.x)
						v += bl.amp * math.Exp(-d2/(2*bl.s*bl.s))
					}
					data[((i*h+y)*w+x)*c+ch] = float32(2*math.Min(v, 1) - 1)
				}
			}
		}
	}
	return tensors.FromFlatDataAndDimensions(data, n, h, w, c)
}

func TestAutoencoderConfig(t *testing.T) {
	cfg := DefaultAutoencoderConfig(28, 28, 1)
	if cfg.Latent != 16 || !slices.Equal(cfg.Channels, []int{32, 64}) || !slices.Equal(cfg.Shape, []int{28, 28, 1}) {
		t.Errorf("DefaultAutoencoderConfig = %+v", cfg)
	}
	js, err := json.Marshal(cfg)
	if err != nil || string(js) != `{"shape":[28,28,1],"latent":16,"channels":[32,64]}` {
		t.Errorf("JSON %s, %v", js, err)
	}
	for _, c := range []struct {
		mod  func(*AutoencoderConfig)
		want string
	}{
		{func(c *AutoencoderConfig) { c.Shape = []int{30, 28, 1} }, "divisible by 4"},
		{func(c *AutoencoderConfig) { c.Shape = []int{28, 28} }, "[H, W, C]"},
		{func(c *AutoencoderConfig) { c.Latent = 0 }, "Latent"},
		{func(c *AutoencoderConfig) { c.Channels = nil }, "Channels"},
		{func(c *AutoencoderConfig) { c.Channels = []int{32, 0} }, "positive"},
	} {
		cfg := DefaultAutoencoderConfig(28, 28, 1)
		c.mod(&cfg)
		if _, err := NewAutoencoder(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("config %+v: error %v, want one mentioning %q", cfg, err, c.want)
		}
	}
}

func TestAutoencoderShapesAndSpecs(t *testing.T) {
	backend := backendForTest(t)
	rng := rand.New(rand.NewPCG(31, 32))
	for _, shape := range [][]int{{28, 28, 1}, {32, 32, 3}} {
		ae, err := NewAutoencoder(DefaultAutoencoderConfig(shape...))
		if err != nil {
			t.Fatal(err)
		}
		enc, dec := ae.EncoderSpecs(), ae.DecoderSpecs()
		for _, s := range enc {
			if !strings.HasPrefix(s.Name, "enc/") {
				t.Errorf("encoder parameter %q lacks the enc/ prefix", s.Name)
			}
		}
		for _, s := range dec {
			if !strings.HasPrefix(s.Name, "dec/") {
				t.Errorf("decoder parameter %q lacks the dec/ prefix", s.Name)
			}
		}
		t.Logf("autoencoder %v: encoder %d parameters, decoder %d", shape, NumParams(enc), NumParams(dec))
		pe, pd := Init(enc, rng), Init(dec, rng)
		x := blobImages(rng, 3, shape[0], shape[1], shape[2])
		var unusedEnc, unusedDec []string
		out, err := MustNewExec(backend, func(in []*Node) []*Node {
			ne, nd := len(enc), len(dec)
			we, wd := Bind(enc, in[:ne]), Bind(dec, in[ne:ne+nd])
			z := ae.Encode(we, in[ne+nd])
			y := ae.Decode(wd, z)
			unusedEnc, unusedDec = we.Unused(), wd.Unused()
			return []*Node{z, y}
		}).Call(append(append(anySlice(pe.Tensors), anySlice(pd.Tensors)...), x)...)
		if err != nil {
			t.Fatal(err)
		}
		if len(unusedEnc) > 0 || len(unusedDec) > 0 {
			t.Errorf("unused parameters: %v %v", unusedEnc, unusedDec)
		}
		if got := out[0].Shape().Dimensions; !slices.Equal(got, []int{3, 16}) {
			t.Errorf("code shape %v, want [3 16]", got)
		}
		if got := out[1].Shape().Dimensions; !slices.Equal(got, []int{3, shape[0], shape[1], shape[2]}) {
			t.Errorf("decoded shape %v", got)
		}
		for _, v := range Float32s(out[1]) {
			if !(v >= -1 && v <= 1) {
				t.Fatalf("decoded value %g outside [-1, 1]", v)
			}
		}
	}
}

// aeLoss is the reconstruction MSE with the encoder and decoder specs concatenated.
func aeLoss(ae *Autoencoder) func(w *Weights, batch []*Node) *Node {
	return func(w *Weights, batch []*Node) *Node {
		return ReduceAllMean(Square(Sub(ae.Decode(w, ae.Encode(w, batch[0])), batch[0])))
	}
}

func TestAutoencoderGradientsFlowAndOverfits(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	ae, err := NewAutoencoder(DefaultAutoencoderConfig(28, 28, 1))
	if err != nil {
		t.Fatal(err)
	}
	specs := append(ae.EncoderSpecs(), ae.DecoderSpecs()...)
	params := Init(specs, rng)
	x := blobImages(rng, 64, 28, 28, 1)
	checkGradientsFlow(t, specs, params, aeLoss(ae), x)
	first, last := trainForTest(t, specs, params, 100, 1e-3, aeLoss(ae), x)
	t.Logf("autoencoder overfit on 64 images: reconstruction MSE %.4f -> %.4f", first, last)
	if !(last < 0.1*first) {
		t.Errorf("100 Adam steps took the reconstruction MSE from %.4f to %.4f; want below 10%%", first, last)
	}
}

// BenchmarkAutoencoder times decoding 64 codes (forward) and a forward+backward pass of
// the reconstruction loss on 128 images, for [28, 28, 1] and [32, 32, 3].
func BenchmarkAutoencoder(b *testing.B) {
	backend := backendForTest(b)
	rng := rand.New(rand.NewPCG(35, 36))
	for _, shape := range [][]int{{28, 28, 1}, {32, 32, 3}} {
		name := map[int]string{1: "28x28x1", 3: "32x32x3"}[shape[2]]
		ae, err := NewAutoencoder(DefaultAutoencoderConfig(shape...))
		if err != nil {
			b.Fatal(err)
		}
		enc, dec := ae.EncoderSpecs(), ae.DecoderSpecs()
		pe, pd := Init(enc, rng), Init(dec, rng)
		b.Run(name+"/decode_B64", func(b *testing.B) {
			exec := MustNewExec(backend, func(in []*Node) *Node {
				return ae.Decode(Bind(dec, in[:len(dec)]), in[len(dec)])
			})
			benchExec(b, exec, append(anySlice(pd.Tensors), randTensor(rng, 1, 64, 16))...)
		})
		b.Run(name+"/encode_B64", func(b *testing.B) {
			exec := MustNewExec(backend, func(in []*Node) *Node {
				return ae.Encode(Bind(enc, in[:len(enc)]), in[len(enc)])
			})
			benchExec(b, exec, append(anySlice(pe.Tensors), blobImages(rng, 64, shape[0], shape[1], shape[2]))...)
		})
		b.Run(name+"/fwdbwd_B128", func(b *testing.B) {
			specs := append(slices.Clone(enc), dec...)
			n := len(specs)
			exec := MustNewExec(backend, func(in []*Node) []*Node {
				return Gradient(aeLoss(ae)(Bind(specs, in[:n]), in[n:]), in[:n]...)
			})
			args := append(append(anySlice(pe.Tensors), anySlice(pd.Tensors)...), blobImages(rng, 128, shape[0], shape[1], shape[2]))
			benchExec(b, exec, args...)
		})
	}
}
