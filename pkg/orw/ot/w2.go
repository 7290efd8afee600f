package ot

import (
	"errors"
	"fmt"
	"math"
)

// EmpiricalW2 is the exact 2-Wasserstein distance between the uniform empirical
// measures on two point clouds of equal size N:
//
//	W2(a, b) = sqrt( min over permutations π of (1/N)·Σ_i ‖a_i − b_π(i)‖² ).
//
// With equal weights 1/N the optimal transport plan is a permutation, so it is
// found exactly by Assign on the matrix of squared distances (O(N³); about a
// second or less for N = 1000). It returns an error if the clouds are empty or
// of different sizes, the points have different dimensions, or a coordinate is
// NaN or infinite.
func EmpiricalW2(a, b [][]float64) (float64, error) {
	if len(a) != len(b) {
		return 0, fmt.Errorf("ot.EmpiricalW2: point clouds of different sizes %d and %d", len(a), len(b))
	}
	if len(a) == 0 {
		return 0, errors.New("ot.EmpiricalW2: empty point clouds")
	}
	if dim, ok := commonDim(a, b); !ok {
		return 0, fmt.Errorf("ot.EmpiricalW2: points of different dimensions (the first has %d)", dim)
	}
	for s, set := range [][][]float64{a, b} {
		for i, p := range set {
			for k, x := range p {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					return 0, fmt.Errorf("ot.EmpiricalW2: %c[%d][%d] = %v is not finite", 'a'+s, i, k, x)
				}
			}
		}
	}
	_, total, err := Assign(SquaredDistances(a, b))
	if err != nil {
		return 0, fmt.Errorf("ot.EmpiricalW2: %w", err)
	}
	return math.Sqrt(max(total, 0) / float64(len(a))), nil
}
