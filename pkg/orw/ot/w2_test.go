package ot

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func gaussianCloud(rng *rand.Rand, n, d int) [][]float64 {
	x := make([][]float64, n)
	for i := range x {
		x[i] = make([]float64, d)
		for k := range x[i] {
			x[i][k] = rng.NormFloat64()
		}
	}
	return x
}

func TestEmpiricalW2Permutation(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	a := gaussianCloud(rng, 200, 3)
	b := slices.Clone(a)
	rng.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
	w, err := EmpiricalW2(a, b)
	if err != nil || w != 0 {
		t.Errorf("W2 between a cloud and its permutation = %v, %v; want 0", w, err)
	}
}

// TestEmpiricalW2Shift: translating a cloud by c moves it by exactly ‖c‖ in W2,
// since Σ‖a_i − a_π(i) − c‖² = Σ‖a_i − a_π(i)‖² + N‖c‖² for every π.
func TestEmpiricalW2Shift(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	c := []float64{0.5, -1.25, 2}
	a := gaussianCloud(rng, 300, len(c))
	b := make([][]float64, len(a))
	for i, p := range a {
		b[i] = []float64{p[0] + c[0], p[1] + c[1], p[2] + c[2]}
	}
	w, err := EmpiricalW2(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := math.Sqrt(c[0]*c[0] + c[1]*c[1] + c[2]*c[2])
	if math.Abs(w-want) > 1e-12 {
		t.Errorf("W2 of a shift by %v = %.15g, want ‖c‖ = %.15g", c, w, want)
	}
}

// TestEmpiricalW2OneDimensional: on the line the monotone (sorted) matching is
// optimal for the squared cost.
func TestEmpiricalW2OneDimensional(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{1, 2, 17, 250} {
		a, b := make([][]float64, n), make([][]float64, n)
		xa, xb := make([]float64, n), make([]float64, n)
		for i := range n {
			xa[i] = rng.NormFloat64()
			xb[i] = 3*rng.Float64() - 1
			a[i], b[i] = []float64{xa[i]}, []float64{xb[i]}
		}
		slices.Sort(xa)
		slices.Sort(xb)
		var s float64
		for i := range n {
			s += (xa[i] - xb[i]) * (xa[i] - xb[i])
		}
		want := math.Sqrt(s / float64(n))
		got, err := EmpiricalW2(a, b)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-want) > 1e-12*max(1, want) {
			t.Errorf("n=%d: W2 = %.15g, sorted matching gives %.15g", n, got, want)
		}
	}
}

func TestEmpiricalW2Errors(t *testing.T) {
	p := [][]float64{{0, 1}, {2, 3}}
	for name, c := range map[string][2][][]float64{
		"empty":      {nil, nil},
		"sizes":      {p, p[:1]},
		"dimensions": {p, {{0, 1}, {2}}},
		"NaN":        {p, {{0, 1}, {math.NaN(), 3}}},
		"Inf":        {{{math.Inf(1), 1}, {2, 3}}, p},
	} {
		if _, err := EmpiricalW2(c[0], c[1]); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func ExampleEmpiricalW2() {
	a := [][]float64{{0, 0}, {1, 0}, {0, 1}}
	b := [][]float64{{3, 4}, {4, 4}, {3, 5}} // a shifted by (3, 4)
	w, err := EmpiricalW2(a, b)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%.4f\n", w)
	// Output: 5.0000
}
