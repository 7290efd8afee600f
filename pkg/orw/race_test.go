package orw_test

import (
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/internal/orwtest"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
)

// wideLatentGenerator is an untrained latent generator on 8x8 images of 4
// channels whose rows (codes, feature maps, hidden layers, the decoder's
// sub-pixel output) are all 16 or 32 float32s wide: whole AVX-512 vectors.
// orwtest.TinyLatentGenerator's 4-wide rows make the Go backend load the last row
// of each buffer with simd.LoadFloat32sPart, which in Go 1.27.3 reads past the end
// of the buffer and crashes the test binary at random (docs/reliability.md, "A
// crash in Go's simd package"); a test of something else must not depend on that
// lottery.
func wideLatentGenerator(t *testing.T) *orw.Generator {
	t.Helper()
	const latent = 16
	ae, err := nets.NewAutoencoder(nets.AutoencoderConfig{Shape: []int{8, 8, 4}, Latent: latent, Channels: []int{16}})
	if err != nil {
		t.Fatal(err)
	}
	flow, err := nets.New(nets.Config{Kind: "mlp", Shape: []int{latent}, Width: 32, Depth: 2, TimeDim: 16})
	if err != nil {
		t.Fatal(err)
	}
	mean, std := make([]float32, latent), make([]float32, latent)
	for i := range std {
		std[i] = 1
	}
	aeParams := nets.Init(append(ae.EncoderSpecs(), ae.DecoderSpecs()...), orw.NewRNG(1).Rand)
	g, err := orw.NewLatentGenerator(ae, aeParams, mean, std, flow, nets.Init(flow.Specs(), orw.NewRNG(2).Rand), orw.DefaultConfig().Sampler)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestChunksOnFreshTensors samples in several chunks at once, many times, each
// time with weights that are still on the host: the chunks' graph calls must not
// race to move the same tensor to the device.
func TestChunksOnFreshTensors(t *testing.T) {
	be := orwtest.Backend(t)
	g := wideLatentGenerator(t)
	const n = 4 * 256
	noise := orw.SampleNoise(orw.NewRNG(3).Rand, n*g.SampleSize())
	for range 40 {
		fresh := g.WithParams(g.Params.Clone())
		fresh.DecoderParams = g.DecoderParams.Clone()
		x1, ims, err := fresh.SampleInChunks(be, g.Sampler, nil, noise, n, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(x1) != len(noise) || ims.N != n {
			t.Fatalf("sampled %d values and %d images, want %d and %d", len(x1), ims.N, len(noise), n)
		}
	}
}
