package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// gaussian draws n points of N(mean, diag(std²)) rotated by the angle theta in
// the plane of the first two axes.
func gaussian(rng *rand.Rand, n int, mean, std []float64, theta float64) [][]float64 {
	out := make([][]float64, n)
	c, s := math.Cos(theta), math.Sin(theta)
	for i := range out {
		p := make([]float64, len(mean))
		for k := range p {
			p[k] = std[k] * rng.NormFloat64()
		}
		p[0], p[1] = c*p[0]-s*p[1], s*p[0]+c*p[1]
		for k := range p {
			p[k] += mean[k]
		}
		out[i] = p
	}
	return out
}

// TestFrechetClosedForm: for Gaussians with commuting (here diagonal)
// covariances the distance is ‖μ₁ − μ₂‖² + Σ (σ₁ᵢ − σ₂ᵢ)²; the moments are
// given exactly, so the formula must hold to round-off.
func TestFrechetClosedForm(t *testing.T) {
	m1 := Moments{Mean: []float64{1, 2, 3}, Cov: mat.NewSymDense(3, []float64{4, 0, 0, 0, 1, 0, 0, 0, 0.25})}
	m2 := Moments{Mean: []float64{0, 2, 5}, Cov: mat.NewSymDense(3, []float64{1, 0, 0, 0, 9, 0, 0, 0, 0.25})}
	got, err := m1.Frechet(m2)
	if err != nil {
		t.Fatal(err)
	}
	want := (1.0 + 0 + 4) + ((2-1)*(2-1) + (1-3)*(1-3) + 0.0)
	if math.Abs(got-want) > 1e-9 {
		t.Fatalf("Frechet = %.12g, want %g", got, want)
	}
	if d, _ := m1.Frechet(m1); d > 1e-9 {
		t.Fatalf("distance of a Gaussian to itself = %g", d)
	}
	// A rotation of both Gaussians by the same orthogonal matrix keeps the distance.
	th := 0.7
	r := mat.NewDense(3, 3, []float64{math.Cos(th), -math.Sin(th), 0, math.Sin(th), math.Cos(th), 0, 0, 0, 1})
	rot := func(m Moments) Moments {
		var mu mat.VecDense
		mu.MulVec(r, mat.NewVecDense(3, m.Mean))
		var c mat.Dense
		c.Mul(r, m.Cov)
		c.Mul(&c, r.T())
		s := mat.NewSymDense(3, nil)
		for i := range 3 {
			for j := i; j < 3; j++ {
				s.SetSym(i, j, c.At(i, j))
			}
		}
		return Moments{Mean: mu.RawVector().Data, Cov: s}
	}
	if g, _ := rot(m1).Frechet(rot(m2)); math.Abs(g-want) > 1e-9 {
		t.Fatalf("after a rotation: %.12g, want %g", g, want)
	}
	// Symmetric in its arguments.
	if g, _ := m2.Frechet(m1); math.Abs(g-want) > 1e-9 {
		t.Fatalf("Frechet(m2, m1) = %g, want %g", g, want)
	}
}

// TestFrechetSamples: estimated from samples, the distance approaches the
// closed form of the generating Gaussians (here non-diagonal: rotated).
func TestFrechetSamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a := gaussian(rng, 20000, []float64{0, 0, 1}, []float64{1, 2, 0.5}, 0.3)
	b := gaussian(rng, 20000, []float64{1, -1, 1}, []float64{1, 2, 0.5}, 0.3)
	got, err := FrechetDistance(a, b)
	if err != nil {
		t.Fatal(err)
	}
	// Same covariance: only the means differ, ‖(1, −1, 0)‖² = 2.
	if math.Abs(got-2) > 0.1 {
		t.Fatalf("FrechetDistance = %g, want about 2", got)
	}
	c := gaussian(rng, 20000, []float64{0, 0, 1}, []float64{1, 2, 0.5}, 0.3)
	if same, _ := FrechetDistance(a, c); same > 0.02 {
		t.Fatalf("two samples of one Gaussian are %g apart", same)
	}
}

func TestFrechetErrors(t *testing.T) {
	if _, err := MomentsOf([][]float64{{1}}); err == nil {
		t.Error("one point accepted")
	}
	if _, err := MomentsOf([][]float64{{1, 2}, {1}}); err == nil {
		t.Error("ragged points accepted")
	}
	if _, err := MomentsOf([][]float64{{1, math.NaN()}, {1, 2}}); err == nil {
		t.Error("NaN accepted")
	}
	if _, err := FrechetDistance([][]float64{{1, 2}, {3, 4}}, [][]float64{{1}, {2}}); err == nil {
		t.Error("different dimensions accepted")
	}
}

// ExampleFrechetDistance compares two clouds whose Gaussians differ by a shift
// of 3 in the mean and a doubled spread in one axis.
func ExampleFrechetDistance() {
	a := [][]float64{{-1, -1}, {1, -1}, {-1, 1}, {1, 1}}
	b := [][]float64{{1, -2}, {5, -2}, {1, 2}, {5, 2}}
	d, _ := FrechetDistance(a, b)
	// Means (0, 0) and (3, 0); variances 4/3 and 16/3 in both axes:
	// 9 + 2·(√(16/3) − √(4/3))² = 9 + 2·4/3.
	fmt.Printf("%.4f\n", d)
	// Output: 11.6667
}
