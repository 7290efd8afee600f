package metrics

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Moments are the mean and covariance of a cloud of feature vectors: the
// Gaussian that the Fréchet distance compares.
type Moments struct {
	Mean []float64
	Cov  *mat.SymDense
	// N is the number of points they were estimated from.
	N int
}

// MomentsOf estimates the mean and the (unbiased, N−1) covariance of the rows
// of x. It needs at least two points of one common, non-zero dimension.
func MomentsOf(x [][]float64) (Moments, error) {
	n := len(x)
	if n < 2 {
		return Moments{}, fmt.Errorf("metrics: moments need at least 2 points, got %d", n)
	}
	d := len(x[0])
	if d == 0 {
		return Moments{}, errors.New("metrics: moments of zero-dimensional points")
	}
	data := mat.NewDense(n, d, nil)
	for i, row := range x {
		if len(row) != d {
			return Moments{}, fmt.Errorf("metrics: point %d has %d values, the first has %d", i, len(row), d)
		}
		for _, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return Moments{}, fmt.Errorf("metrics: point %d has a non-finite value %v", i, v)
			}
		}
		data.SetRow(i, row)
	}
	mean := make([]float64, d)
	for j := range d {
		var s float64
		for i := range n {
			s += data.At(i, j)
		}
		mean[j] = s / float64(n)
	}
	cov := mat.NewSymDense(d, nil)
	// The stat package's covariance would do the same; centring first keeps
	// the rounding error of large means out of the result.
	centred := mat.NewDense(n, d, nil)
	centred.Apply(func(_, j int, v float64) float64 { return v - mean[j] }, data)
	cov.SymOuterK(1/float64(n-1), centred.T())
	return Moments{Mean: mean, Cov: cov, N: n}, nil
}

// Frechet is the Fréchet (2-Wasserstein) distance squared between the Gaussians
// N(m, C) and N(o.Mean, o.Cov):
//
//	d² = ‖μ₁ − μ₂‖² + Tr(C₁ + C₂ − 2·(C₁^½ C₂ C₁^½)^½),
//
// the statistic of the FID when the features come from an image classifier.
// It is 0 for identical moments and never negative (tiny negative round-off
// is clipped to 0).
func (m Moments) Frechet(o Moments) (float64, error) {
	d := len(m.Mean)
	if d == 0 || len(o.Mean) != d || m.Cov == nil || o.Cov == nil {
		return 0, fmt.Errorf("metrics: Fréchet distance between moments of dimensions %d and %d", d, len(o.Mean))
	}
	var dist float64
	for i := range d {
		diff := m.Mean[i] - o.Mean[i]
		dist += diff * diff
	}
	s1, err := sqrtPSD(m.Cov)
	if err != nil {
		return 0, err
	}
	// C₁^½ C₂ C₁^½ is symmetric positive semi-definite: its square root's
	// trace is the sum of the square roots of its eigenvalues.
	var prod mat.Dense
	prod.Mul(s1, o.Cov)
	prod.Mul(&prod, s1)
	sym := mat.NewSymDense(d, nil)
	for i := range d {
		for j := i; j < d; j++ {
			sym.SetSym(i, j, (prod.At(i, j)+prod.At(j, i))/2)
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(sym, false) {
		return 0, errors.New("metrics: the eigen-decomposition of the covariance product did not converge")
	}
	var cross float64
	for _, l := range eig.Values(nil) {
		cross += math.Sqrt(max(l, 0))
	}
	dist += mat.Trace(m.Cov) + mat.Trace(o.Cov) - 2*cross
	return max(dist, 0), nil
}

// FrechetDistance fits a Gaussian to each of a and b and returns the Fréchet
// distance between them (see Moments.Frechet).
func FrechetDistance(a, b [][]float64) (float64, error) {
	ma, err := MomentsOf(a)
	if err != nil {
		return 0, err
	}
	mb, err := MomentsOf(b)
	if err != nil {
		return 0, err
	}
	return ma.Frechet(mb)
}

// sqrtPSD is the symmetric square root of a positive semi-definite matrix
// (eigenvalues below 0, from round-off, count as 0).
func sqrtPSD(c *mat.SymDense) (*mat.Dense, error) {
	var eig mat.EigenSym
	if !eig.Factorize(c, true) {
		return nil, errors.New("metrics: the eigen-decomposition of a covariance did not converge")
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	d := len(vals)
	scaled := mat.NewDense(d, d, nil)
	scaled.Apply(func(_, j int, v float64) float64 { return v * math.Sqrt(max(vals[j], 0)) }, &vecs)
	var s mat.Dense
	s.Mul(scaled, vecs.T())
	return &s, nil
}
