package orw_test

import (
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/internal/orwtest"
)

// TestChunksOnFreshTensors samples in several chunks at once, many times, each
// time with weights that are still on the host: the chunks' graph calls must not
// race to move the same tensor to the device.
func TestChunksOnFreshTensors(t *testing.T) {
	be := orwtest.Backend(t)
	g := orwtest.WideLatentGenerator(t)
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
