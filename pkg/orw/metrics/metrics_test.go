package metrics

import (
	"fmt"
	"math"
	"testing"
)

func TestEntropy(t *testing.T) {
	for _, k := range []int{2, 5, 10} {
		uniform := make([]float64, k)
		oneHot := make([]float64, k)
		for i := range uniform {
			uniform[i] = 7
		}
		oneHot[k-1] = 3
		if h := Entropy(uniform); math.Abs(h-math.Log(float64(k))) > 1e-12 {
			t.Errorf("K=%d: Entropy(uniform) = %v, want log K = %v", k, h, math.Log(float64(k)))
		}
		if h := NormalizedEntropy(uniform); math.Abs(h-1) > 1e-12 {
			t.Errorf("K=%d: NormalizedEntropy(uniform) = %v, want 1", k, h)
		}
		if h, hn := Entropy(oneHot), NormalizedEntropy(oneHot); h != 0 || hn != 0 {
			t.Errorf("K=%d: entropy of a one-hot histogram = %v, normalised %v; want 0", k, h, hn)
		}
	}
	// Two bins with mass 1/4, 3/4; zero bins add nothing.
	want := -(0.25*math.Log(0.25) + 0.75*math.Log(0.75))
	if h := Entropy([]float64{1, 0, 3, 0}); math.Abs(h-want) > 1e-15 {
		t.Errorf("Entropy([1 0 3 0]) = %v, want %v", h, want)
	}
	if h := NormalizedEntropy([]float64{1, 0, 3, 0}); math.Abs(h-want/math.Log(4)) > 1e-15 {
		t.Errorf("NormalizedEntropy([1 0 3 0]) = %v, want %v", h, want/math.Log(4))
	}
	for _, c := range [][]float64{nil, {0, 0}, {5}} {
		if h, hn := Entropy(c), NormalizedEntropy(c); h != 0 || hn != 0 {
			t.Errorf("entropy of %v = %v, %v; want 0, 0", c, h, hn)
		}
	}
	for _, c := range [][]float64{{1, -1}, {math.NaN(), 1}, {math.Inf(1), 1}} {
		if h, hn := Entropy(c), NormalizedEntropy(c); !math.IsNaN(h) || !math.IsNaN(hn) {
			t.Errorf("entropy of %v = %v, %v; want NaN", c, h, hn)
		}
	}
}

func TestMeanPairwiseDistance(t *testing.T) {
	// Pairs: (0,0)-(3,4) = 5, (0,0)-(3,0) = 3, (3,4)-(3,0) = 4: mean 4.
	if d := MeanPairwiseDistance([][]float64{{0, 0}, {3, 4}, {3, 0}}); d != 4 {
		t.Errorf("MeanPairwiseDistance = %v, want 4", d)
	}
	if d := MeanPairwiseDistance([][]float64{{1, 2, 3}, {1, 2, 3}, {1, 2, 3}, {1, 2, 3}}); d != 0 {
		t.Errorf("MeanPairwiseDistance of equal points = %v, want 0", d)
	}
	for _, x := range [][][]float64{nil, {{1, 2}}, {{1, 2}, {1}}} {
		if d := MeanPairwiseDistance(x); !math.IsNaN(d) {
			t.Errorf("MeanPairwiseDistance(%v) = %v, want NaN", x, d)
		}
	}
}

func TestEffectiveSampleSize(t *testing.T) {
	equal := []float64{2.5, 2.5, 2.5, 2.5, 2.5}
	if ess, r := EffectiveSampleSize(equal), MaxMeanRatio(equal); math.Abs(ess-5) > 1e-12 || math.Abs(r-1) > 1e-12 {
		t.Errorf("equal weights: ESS %v, max/mean %v; want 5, 1", ess, r)
	}
	dominant := []float64{1e-9, 1e-9, 1, 1e-9}
	if ess := EffectiveSampleSize(dominant); math.Abs(ess-1) > 1e-8 {
		t.Errorf("one dominant weight: ESS %v, want ≈ 1", ess)
	}
	if r := MaxMeanRatio(dominant); math.Abs(r-4) > 1e-7 {
		t.Errorf("one dominant weight: max/mean %v, want ≈ 4", r)
	}
	// (1+2+3+4)² / (1+4+9+16) = 100/30; max/mean = 4/2.5.
	w := []float64{1, 2, 3, 4}
	if ess := EffectiveSampleSize(w); math.Abs(ess-100.0/30) > 1e-12 {
		t.Errorf("ESS(%v) = %v, want %v", w, ess, 100.0/30)
	}
	if r := MaxMeanRatio(w); math.Abs(r-1.6) > 1e-12 {
		t.Errorf("MaxMeanRatio(%v) = %v, want 1.6", w, r)
	}
	// Huge weights (exp of large rewards) must not overflow.
	if ess := EffectiveSampleSize([]float64{1e300, 1e300}); math.Abs(ess-2) > 1e-12 {
		t.Errorf("ESS of huge equal weights = %v, want 2", ess)
	}
	for _, w := range [][]float64{nil, {0, 0}, {1, -1}, {math.NaN()}, {math.Inf(1), 1}} {
		if ess, r := EffectiveSampleSize(w), MaxMeanRatio(w); !math.IsNaN(ess) || !math.IsNaN(r) {
			t.Errorf("weights %v: ESS %v, max/mean %v; want NaN", w, ess, r)
		}
	}
}

func ExampleNormalizedEntropy() {
	// Samples per mode of an 8-Gaussian mixture: a sampler that covers all modes
	// evenly, one that dropped half of them, and one that collapsed.
	for _, counts := range [][]float64{
		{125, 125, 125, 125, 125, 125, 125, 125},
		{250, 0, 250, 0, 250, 0, 250, 0},
		{1000, 0, 0, 0, 0, 0, 0, 0},
	} {
		fmt.Printf("%.3f\n", NormalizedEntropy(counts))
	}
	// Output:
	// 1.000
	// 0.667
	// 0.000
}

func ExampleEffectiveSampleSize() {
	w := []float64{1, 1, 1, 5}
	fmt.Printf("ESS %.2f of %d, max/mean %.2f\n", EffectiveSampleSize(w), len(w), MaxMeanRatio(w))
	// Output: ESS 2.29 of 4, max/mean 2.50
}
