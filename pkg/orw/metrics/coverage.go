package metrics

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/orwcfm/orwcfm/pkg/internal/parallel"
	"github.com/orwcfm/orwcfm/pkg/orw/ot"
)

// DefaultNeighbours is the k of the k-nearest-neighbour balls of
// PrecisionRecall and DensityCoverage: the value both papers recommend.
const DefaultNeighbours = 5

// PrecisionRecall is the improved precision and recall of Kynkäänniemi et al.,
// "Improved Precision and Recall Metric for Assessing Generative Models"
// (NeurIPS 2019). Each set's manifold is the union of the closed balls
// B(x, NND_k(x)) around its points, NND_k(x) being the Euclidean distance from x
// to its k-th nearest neighbour in the same set (x itself excluded). Precision is
// the fraction of fake points inside the real manifold (are the samples
// realistic?); recall the fraction of real points inside the fake manifold (is
// every part of the real data produced?). Both lie in [0, 1].
//
// The balls are closed (a point at exactly the radius is inside), as in the
// paper and its code; the reference code of Naeem et al. uses open balls,
// which differs only on ties. A set whose points coincide has radius 0: its
// manifold is those points themselves.
//
// It returns an error for empty sets, rows of different lengths, non-finite
// values or a k outside [1, min(N, M) − 1].
func PrecisionRecall(real, fake [][]float64, k int) (precision, recall float64, err error) {
	s, err := compare(real, fake, k)
	return s.Precision, s.Recall, err
}

// fraction is the fraction of true values of b.
func fraction(b []bool) float64 {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return float64(n) / float64(len(b))
}

// DensityCoverage is the density and coverage of Naeem et al., "Reliable
// Fidelity and Diversity Metrics for Generative Models" (ICML 2020). With N real
// points r_i, M fake points f_j and the closed balls B(r_i, NND_k(r_i)) of
// PrecisionRecall around the real points only,
//
//	density  = (1/(k·M)) · Σ_j Σ_i 1[f_j ∈ B(r_i, NND_k(r_i))],
//	coverage = (1/N) · Σ_i 1[∃ j: f_j ∈ B(r_i, NND_k(r_i))].
//
// Density counts how many real neighbourhoods hold each sample: about 1 when
// the samples are drawn independently from the real distribution, above 1 when
// they crowd where the real data is dense, and unbounded. Fed the real set
// itself it is (k+1)/k, since each ball then holds its centre and its k
// neighbours (when no distance ties the k-th). Coverage, in [0, 1], is the
// fraction of real points whose neighbourhood holds at least one sample: a
// mode-collapsed generator covers few.
//
// It returns an error under the same conditions as PrecisionRecall.
func DensityCoverage(real, fake [][]float64, k int) (density, coverage float64, err error) {
	s, err := compare(real, fake, k)
	return s.Density, s.Coverage, err
}

// Scores are the four numbers of PrecisionRecall and DensityCoverage.
type Scores struct {
	Precision, Recall, Density, Coverage float64
}

// Reference is a set of real feature rows with the radii of their k-nearest-
// neighbour balls, computed once for comparing many sample sets with it (an
// evaluation after another against the same real images).
type Reference struct {
	rows  [][]float64
	radii []float64 // squared distance of each row to its k-th neighbour
	k     int
}

// NewReference returns the reference of the real rows with k neighbours; it
// returns an error for no rows, rows of different lengths, non-finite values
// or a k outside [1, N − 1].
func NewReference(real [][]float64, k int) (*Reference, error) {
	if len(real) == 0 {
		return nil, errors.New("metrics: no real points: pass the features of real images")
	}
	if err := checkNeighbours(k, len(real)); err != nil {
		return nil, err
	}
	if err := checkRows(len(real[0]), real, "real"); err != nil {
		return nil, err
	}
	return &Reference{rows: real, radii: kthNeighbour(real, k), k: k}, nil
}

// Compare returns precision, recall, density and coverage of the fake rows
// against the reference (see PrecisionRecall and DensityCoverage), with one
// pass over the distances between the two sets. The fake set needs more than
// k rows.
func (r *Reference) Compare(fake [][]float64) (Scores, error) {
	if err := checkSets(r.rows, fake, r.k); err != nil {
		return Scores{}, err
	}
	fr := kthNeighbour(fake, r.k)
	fakeIn := make([]bool, len(fake))   // fake_j lies in the real manifold
	realIn := make([]bool, len(r.rows)) // real_i lies in the fake manifold
	inside, covered := 0, 0
	d := make([]float64, len(fake))
	for i, x := range r.rows {
		distancesTo(x, fake, d)
		hit := false
		for j, dij := range d {
			if dij <= r.radii[i] {
				fakeIn[j], hit = true, true
				inside++
			}
			realIn[i] = realIn[i] || dij <= fr[j]
		}
		if hit {
			covered++
		}
	}
	return Scores{
		Precision: fraction(fakeIn),
		Recall:    fraction(realIn),
		Density:   float64(inside) / (float64(r.k) * float64(len(fake))),
		Coverage:  float64(covered) / float64(len(r.rows)),
	}, nil
}

// compare is Compare against a reference made of real (whose checks come
// first, so that both sets are checked before the radii are computed).
func compare(real, fake [][]float64, k int) (Scores, error) {
	if err := checkSets(real, fake, k); err != nil {
		return Scores{}, err
	}
	return (&Reference{rows: real, radii: kthNeighbour(real, k), k: k}).Compare(fake)
}

// checkSets validates the inputs of PrecisionRecall, DensityCoverage and
// Reference.Compare.
func checkSets(real, fake [][]float64, k int) error {
	if len(real) == 0 || len(fake) == 0 {
		return fmt.Errorf("metrics: %d real and %d fake points: both sets need points (pass the features of real images and of samples)", len(real), len(fake))
	}
	if err := checkNeighbours(k, len(real), len(fake)); err != nil {
		return err
	}
	return checkRows(len(real[0]), real, "real", fake, "fake")
}

// checkNeighbours checks that k is at least 1 and below the size of every
// set.
func checkNeighbours(k int, sizes ...int) error {
	if k < 1 {
		return fmt.Errorf("metrics: k = %d neighbours: k must be at least 1 (the papers use %d)", k, DefaultNeighbours)
	}
	if k >= slices.Min(sizes) {
		return fmt.Errorf("metrics: k = %d neighbours needs more than %d points in each set, got %v: pass more points or a smaller k", k, k, sizes)
	}
	return nil
}

// checkRows checks that every row of the sets has d finite values, d > 0.
func checkRows(d int, sets ...any) error {
	if d == 0 {
		return errors.New("metrics: zero-dimensional points: pass feature rows with at least one value")
	}
	for s := 0; s < len(sets); s += 2 {
		rows, name := sets[s].([][]float64), sets[s+1].(string)
		for i, row := range rows {
			if len(row) != d {
				return fmt.Errorf("metrics: %s point %d has %d values, the first point has %d: all feature rows must have one length", name, i, len(row), d)
			}
			for _, v := range row {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return fmt.Errorf("metrics: %s point %d has a non-finite value %v: check the features for overflow", name, i, v)
				}
			}
		}
	}
	return nil
}

// kthNeighbour returns, for each point, the squared distance to its k-th nearest
// other point of the same set. Rows are computed one at a time (memory O(n),
// not O(n²)), spread over the cores.
func kthNeighbour(x [][]float64, k int) []float64 {
	n := len(x)
	r := make([]float64, n)
	workers := runtime.GOMAXPROCS(0)
	chunk := (n + workers - 1) / workers
	_ = parallel.For(workers, workers, func(w int) error {
		row := make([]float64, n)
		for i := w * chunk; i < min((w+1)*chunk, n); i++ {
			distancesTo(x[i], x, row)
			row[i] = math.Inf(1) // the point itself is not its neighbour
			r[i] = kthSmallest(row, k)
		}
		return nil
	})
	return r
}

// kthSmallest returns the k-th smallest of v (1-based), reordering v.
func kthSmallest(v []float64, k int) float64 {
	slices.Sort(v)
	return v[k-1]
}

// distancesTo sets d[j] = ‖x − y_j‖².
func distancesTo(x []float64, y [][]float64, d []float64) {
	for j, yj := range y {
		d[j] = ot.SquaredDistance(x, yj)
	}
}

// Vendi is the Vendi score of Friedman & Dieng, "The Vendi Score: A Diversity
// Evaluation Metric for Machine Learning" (TMLR 2023), with the cosine
// similarity kernel K_ij = x_i·x_j / (‖x_i‖·‖x_j‖) of the rows:
//
//	VS = exp(−Σ_i λ_i·log λ_i),  λ the eigenvalues of K/n,
//
// the exponential of the Shannon entropy of the eigenvalues, an "effective
// number of distinct samples": 1 when all rows point one way, k for rows that
// fall into k groups of equal size along orthogonal directions, n at most.
// The eigenvalues are those of the smaller of X̂X̂ᵀ/n and X̂ᵀX̂/n (X̂ the
// normalised rows), which share their non-zero spectrum.
//
// It returns an error for no rows, rows of different lengths, non-finite
// values or a zero row (its direction, and so the kernel, is undefined).
func Vendi(x [][]float64) (float64, error) {
	n := len(x)
	if n == 0 {
		return 0, errors.New("metrics: Vendi score of no points: pass at least one feature row")
	}
	if err := checkRows(len(x[0]), x, "Vendi"); err != nil {
		return 0, err
	}
	d := len(x[0])
	unit := mat.NewDense(n, d, nil)
	for i, row := range x {
		norm := math.Sqrt(ot.SquaredDistance(row, make([]float64, d)))
		if norm == 0 {
			return 0, fmt.Errorf("metrics: Vendi point %d is all zeros, which has no direction for the cosine kernel: drop it or use features without zero rows", i)
		}
		for j, v := range row {
			unit.Set(i, j, v/norm)
		}
	}
	m := min(n, d)
	gram := mat.NewSymDense(m, nil)
	if n <= d {
		gram.SymOuterK(1/float64(n), unit)
	} else {
		gram.SymOuterK(1/float64(n), unit.T())
	}
	var eig mat.EigenSym
	if !eig.Factorize(gram, false) {
		return 0, errors.New("metrics: the eigen-decomposition of the Vendi kernel did not converge")
	}
	var h float64
	for _, l := range eig.Values(nil) {
		if l > 0 {
			h -= l * math.Log(l)
		}
	}
	return math.Exp(h), nil
}
