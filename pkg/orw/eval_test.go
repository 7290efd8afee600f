package orw_test

import (
	"math"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/internal/orwtest"
	"github.com/orwcfm/orwcfm/pkg/orw/ot"
)

// TestEvalEmpiricalW2 checks the evaluation's W2 distance (squared distances
// from one matrix product on the backend) against ot.EmpiricalW2 (pairwise
// differences on the host), and that it names a non-finite pixel.
func TestEvalEmpiricalW2(t *testing.T) {
	tr, err := orw.NewTrainer(orwtest.TinyConfig(), orwtest.TinyEnv(t, orw.MeanPixel))
	if err != nil {
		t.Fatal(err)
	}
	rng := orw.NewRNG(5)
	const n, h = 40, 6
	img := func(shift float64) *orw.Images {
		im := &orw.Images{N: n, H: h, W: h, C: 1, Pix: orw.SampleNoise(rng.Rand, n*h*h)}
		for i := range im.Pix {
			im.Pix[i] = float32(math.Tanh(float64(im.Pix[i]) + shift))
		}
		return im
	}
	a, b := img(0), img(0.7)
	rows := func(im *orw.Images) [][]float64 {
		out := make([][]float64, n)
		for i := range out {
			for _, x := range im.At(i) {
				out[i] = append(out[i], float64(x))
			}
		}
		return out
	}
	want, err := ot.EmpiricalW2(rows(a), rows(b))
	if err != nil {
		t.Fatal(err)
	}
	got, err := tr.EmpiricalW2(a, b, n)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-want) > 1e-9*want || want < 0.5 {
		t.Fatalf("W2 = %.12g, ot.EmpiricalW2 = %.12g", got, want)
	}
	if same, err := tr.EmpiricalW2(a, a, n); err != nil || same > 1e-6 {
		t.Fatalf("W2 of a set to itself = %g, %v; want 0", same, err)
	}
	b.Pix[7] = float32(math.NaN())
	if _, err := tr.EmpiricalW2(a, b, n); err == nil {
		t.Fatal("a NaN pixel gave no error")
	}
}
