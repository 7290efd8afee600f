// Package orwtest holds the small fixtures the tests of pkg/orw and its
// sub-packages share: the compute backend, a tiny untrained latent generator,
// a tiny fine-tuning config and environment, and a two-class judge.
package orwtest

import (
	"testing"

	"github.com/gomlx/compute"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/ode"
)

// Backend is the process's compute backend; it fails the test if none starts.
func Backend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := backends.Default()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TinyLatentGenerator builds an untrained latent generator on 8x8 gray images
// (a 4-dimensional code space, a 2x16 MLP flow).
func TinyLatentGenerator(t testing.TB) *orw.Generator {
	t.Helper()
	g, err := NewTinyLatentGenerator()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// NewTinyLatentGenerator is TinyLatentGenerator for code without a testing.TB
// (examples): it returns the error instead of failing the test.
func NewTinyLatentGenerator() (*orw.Generator, error) {
	g, err := newLatentGenerator(nets.AutoencoderConfig{Shape: []int{8, 8, 1}, Latent: 4, Channels: []int{4}},
		16, 8, []float32{0, 1, 0, -1}, []float32{1, 2, 0.5, 1})
	if err != nil {
		return nil, err
	}
	g.Meta = map[string]any{"note": "test"}
	return g, nil
}

// WideLatentGenerator builds an untrained latent generator on 8x8 images of 4
// channels whose rows (codes, feature maps, hidden layers, the decoder's
// sub-pixel output) are all 16 or 32 float32s wide: whole AVX-512 vectors.
// TinyLatentGenerator's 4-wide rows make the Go backend load the last row of
// each buffer with simd.LoadFloat32sPart, which in Go 1.27.3 reads past the end
// of the buffer and crashes the test binary at random (docs/reliability.md, "A
// crash in Go's simd package"); a test that runs many graph calls must not
// depend on that lottery.
func WideLatentGenerator(t testing.TB) *orw.Generator {
	t.Helper()
	const latent = 16
	mean, std := make([]float32, latent), make([]float32, latent)
	for i := range std {
		std[i] = 1
	}
	g, err := newLatentGenerator(nets.AutoencoderConfig{Shape: []int{8, 8, 4}, Latent: latent, Channels: []int{16}}, 32, 16, mean, std)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// newLatentGenerator builds an untrained latent generator: the autoencoder of
// aeCfg (weights from seed 1), the code statistics mean and std, and an MLP
// flow of two hidden layers of the given width (weights from seed 2).
func newLatentGenerator(aeCfg nets.AutoencoderConfig, width, timeDim int, mean, std []float32) (*orw.Generator, error) {
	ae, err := nets.NewAutoencoder(aeCfg)
	if err != nil {
		return nil, err
	}
	flow, err := nets.New(nets.Config{Kind: "mlp", Shape: []int{aeCfg.Latent}, Width: width, Depth: 2, TimeDim: timeDim})
	if err != nil {
		return nil, err
	}
	aeParams := nets.Init(append(ae.EncoderSpecs(), ae.DecoderSpecs()...), orw.NewRNG(1).Rand)
	return orw.NewLatentGenerator(ae, aeParams, mean, std, flow, nets.Init(flow.Specs(), orw.NewRNG(2).Rand), orw.DefaultConfig().Sampler)
}

// ParityJudge sorts images into two classes by the sign of their mean pixel.
type ParityJudge struct{}

// ClassNames are "dark" and "bright".
func (ParityJudge) ClassNames() []string { return []string{"dark", "bright"} }

// Classify returns 1 for images of positive mean pixel, 0 otherwise.
func (ParityJudge) Classify(im *orw.Images) ([]int, error) {
	r, _ := orw.MeanPixel(im)
	c := make([]int, len(r))
	for i, x := range r {
		if x > 0 {
			c[i] = 1
		}
	}
	return c, nil
}

// TinyConfig is a fine-tuning config small enough for unit tests: batch 16,
// evaluation every 4 steps on 12 samples, a checkpoint every 3 steps.
func TinyConfig() orw.Config {
	c := orw.DefaultConfig()
	c.Batch = 16
	c.Tau = 2
	c.EvalEvery = 4
	c.EvalSamples = 12
	c.W2Times = 2
	c.CheckpointEvery = 3
	c.PoolSize = 64
	c.Optim.LR = 1e-3
	c.Sampler = orw.SamplerConfig{Solver: ode.Euler, Steps: 4}
	return c
}

// TinyEnv is the tiny latent generator with reward and the parity judge.
func TinyEnv(t testing.TB, reward orw.Reward) orw.Env {
	return orw.Env{Backend: Backend(t), Base: TinyLatentGenerator(t), Reward: reward, Judge: ParityJudge{}}
}

// NewTinyEnv is TinyEnv for code without a testing.TB (examples).
func NewTinyEnv(reward orw.Reward) (orw.Env, error) {
	be, err := backends.Default()
	if err != nil {
		return orw.Env{}, err
	}
	g, err := NewTinyLatentGenerator()
	if err != nil {
		return orw.Env{}, err
	}
	return orw.Env{Backend: be, Base: g, Reward: reward, Judge: ParityJudge{}}, nil
}

// SampleFlowSpace draws m points of g's flow space with noise from seed (g
// must be Unbounded: the points are not clipped to an image range).
func SampleFlowSpace(t testing.TB, be compute.Backend, g *orw.Generator, m int, seed uint64) []float32 {
	t.Helper()
	if !g.Unbounded || g.Latent() {
		t.Fatal("SampleFlowSpace needs an unbounded pixel-space generator")
	}
	noise := orw.SampleNoise(orw.NewRNG(seed).Rand, m*g.SampleSize())
	x, _, err := g.SampleInChunks(be, g.Sampler, nil, noise, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	return x
}
