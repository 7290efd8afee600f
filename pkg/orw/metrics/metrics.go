// Package metrics holds the statistics reported during fine-tuning, each a
// plain function of feature rows or pixels: class entropy, mean pairwise
// distance and the effective sample size of the weights; the Fréchet distance;
// improved precision and recall, density and coverage (k-nearest-neighbour
// balls in an evaluator's features), the Vendi score; and cheap image
// statistics (ImageStats).
package metrics

import (
	"math"

	"github.com/orwcfm/orwcfm/pkg/orw/ot"
)

// Entropy is the Shannon entropy, in nats, of the histogram counts normalised to
// a probability vector p_k = counts_k / Σ counts:
//
//	H(p) = −Σ_k p_k·log p_k,  with 0·log 0 = 0,
//
// from 0 (all mass in one bin) to log K (uniform over K bins). It is 0 for a
// histogram with no mass (empty or all zeros) and NaN if a count is negative or
// not finite.
func Entropy(counts []float64) float64 {
	var total float64
	for _, c := range counts {
		if c < 0 || math.IsNaN(c) || math.IsInf(c, 0) {
			return math.NaN()
		}
		total += c
	}
	if total == 0 {
		return 0
	}
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := c / total
			h -= p * math.Log(p)
		}
	}
	return max(h, 0)
}

// NormalizedEntropy is Entropy(counts) / log K for K = len(counts) bins: 1 when
// the mass is spread evenly over all bins (every mode covered equally), 0 when
// it sits in one. It is 0 when K < 2 and NaN where Entropy is NaN.
func NormalizedEntropy(counts []float64) float64 {
	h := Entropy(counts)
	if math.IsNaN(h) {
		return h
	}
	if len(counts) < 2 {
		return 0
	}
	return min(h/math.Log(float64(len(counts))), 1)
}

// MeanPairwiseDistance is the mean Euclidean distance over all unordered pairs
// of distinct points,
//
//	(2 / (N·(N−1))) · Σ_{i<j} ‖x_i − x_j‖,
//
// a measure of sample diversity (0 when all points coincide). It is NaN when it
// is undefined: fewer than two points, or points of different dimensions.
func MeanPairwiseDistance(x [][]float64) float64 {
	n := len(x)
	if n < 2 {
		return math.NaN()
	}
	for _, p := range x {
		if len(p) != len(x[0]) {
			return math.NaN()
		}
	}
	var sum float64
	for i := 1; i < n; i++ {
		var row float64 // per-row partial sums keep the rounding error small
		for j := 0; j < i; j++ {
			row += math.Sqrt(ot.SquaredDistance(x[i], x[j]))
		}
		sum += row
	}
	return sum / (float64(n) * float64(n-1) / 2)
}

// EffectiveSampleSize is Kish's effective sample size of the importance weights w,
//
//	ESS = (Σ w_i)² / Σ w_i²,
//
// which is N for N equal weights and tends to 1 as a single weight dominates.
// It is NaN when undefined: no weights, all zero, or any weight negative or not
// finite.
func EffectiveSampleSize(w []float64) float64 {
	top, ok := maxWeight(w)
	if !ok {
		return math.NaN()
	}
	// ESS is scale invariant: dividing by the largest weight avoids overflow.
	var s, s2 float64
	for _, x := range w {
		x /= top
		s += x
		s2 += x * x
	}
	return s * s / s2
}

// MaxMeanRatio is max_i w_i / mean(w), the largest weight relative to the
// average: 1 for equal weights, N when a single weight carries everything. For
// reward weights it bounds how much one sample can dominate a training batch.
// It is NaN under the same conditions as EffectiveSampleSize.
func MaxMeanRatio(w []float64) float64 {
	top, ok := maxWeight(w)
	if !ok {
		return math.NaN()
	}
	var s float64
	for _, x := range w {
		s += x / top
	}
	return float64(len(w)) / s
}

// maxWeight returns the largest of the weights w and whether they form a valid
// weighting: non-empty, finite, non-negative and not all zero.
func maxWeight(w []float64) (float64, bool) {
	var top float64
	for _, x := range w {
		if x < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, false
		}
		top = max(top, x)
	}
	return top, top > 0
}

// WeightStats summarises a batch of weights: the largest over the mean (1 when
// uniform) and the effective sample size (Σw)²/Σw² (the batch size when uniform).
func WeightStats(w []float64) (maxOverMean, ess float64) {
	return MaxMeanRatio(w), EffectiveSampleSize(w)
}
