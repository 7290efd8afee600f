package tasks

import (
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
)

// BenchmarkJPEGReward scores a batch of 64 noisy 28x28 gray images (the
// compressibility reward encodes each at quality 95).
func BenchmarkJPEGReward(b *testing.B) {
	im := &orw.Images{N: 64, H: 28, W: 28, C: 1, Pix: make([]float32, 64*28*28)}
	rng := orw.NewRNG(1)
	for i := range im.Pix {
		im.Pix[i] = float32(2*rng.Float64() - 1)
	}
	r := JPEGReward{}
	for b.Loop() {
		if _, err := r.Reward(im); err != nil {
			b.Fatal(err)
		}
	}
}
