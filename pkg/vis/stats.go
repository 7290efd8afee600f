package vis

import (
	"fmt"
	"math"
	"sort"
)

// MeanBand summarises repeated runs of one curve, typically the same metric
// logged by several seeds. For each step t it returns the mean of runs[i][t]
// over the runs, and lo = mean − sd and hi = mean + sd, where sd is the
// sample standard deviation (denominator n−1), the usual estimate of the
// spread between seeds.
//
// Runs may have different lengths, for example when a seed stopped early:
// the results are as long as the longest run, and each step uses the runs
// that reach it. NaN values are treated as missing. A step with a single
// value has sd = 0, so its band collapses to the mean; a step with no value
// is NaN in all three results. MeanBand returns nil slices if runs is empty.
func MeanBand(runs [][]float64) (mean, lo, hi []float64) {
	var steps int
	for _, r := range runs {
		steps = max(steps, len(r))
	}
	if steps == 0 {
		return nil, nil, nil
	}
	mean = make([]float64, steps)
	lo = make([]float64, steps)
	hi = make([]float64, steps)
	for t := range steps {
		// Two passes: the mean, then the centred sum of squares.
		var n, sum float64
		for _, r := range runs {
			if t < len(r) && !math.IsNaN(r[t]) {
				n++
				sum += r[t]
			}
		}
		if n == 0 {
			mean[t], lo[t], hi[t] = math.NaN(), math.NaN(), math.NaN()
			continue
		}
		m := sum / n
		var ss float64
		for _, r := range runs {
			if t < len(r) && !math.IsNaN(r[t]) {
				d := r[t] - m
				ss += d * d
			}
		}
		var sd float64
		if n > 1 {
			sd = math.Sqrt(ss / (n - 1))
		}
		mean[t], lo[t], hi[t] = m, m-sd, m+sd
	}
	return mean, lo, hi
}

// ParetoFront returns, in increasing order, the indices of the points
// (x[i], y[i]) that no other point dominates. Point j dominates point i when
// it is at least as good in both coordinates and strictly better in one,
// where better means larger for a coordinate that is maximised and smaller
// for one that is minimised. Identical points do not dominate each other, so
// duplicates on the front are all returned. Points with a NaN coordinate are
// neither on the front nor dominate others.
//
// For a reward–W2 trade-off, ParetoFront(w2, reward, false, true) gives the
// settings for which no other setting has both more reward and less drift.
//
// ParetoFront panics if x and y have different lengths.
func ParetoFront(x, y []float64, maximizeX, maximizeY bool) []int {
	if len(x) != len(y) {
		panic(fmt.Sprintf("vis: ParetoFront: len(x)=%d != len(y)=%d", len(x), len(y)))
	}
	// Work with both coordinates maximised.
	type pt struct {
		a, b float64
		i    int
	}
	pts := make([]pt, 0, len(x))
	for i := range x {
		if math.IsNaN(x[i]) || math.IsNaN(y[i]) {
			continue
		}
		a, b := x[i], y[i]
		if !maximizeX {
			a = -a
		}
		if !maximizeY {
			b = -b
		}
		pts = append(pts, pt{a, b, i})
	}
	// Sweep from the largest a downwards, one group of equal a at a time.
	// A point is on the front when it has the largest b of its group and
	// a b larger than every point with a strictly larger a.
	sort.Slice(pts, func(i, j int) bool {
		if pts[i].a != pts[j].a {
			return pts[i].a > pts[j].a
		}
		return pts[i].b > pts[j].b
	})
	var front []int
	best := math.Inf(-1)
	for g := 0; g < len(pts); {
		e := g
		for e < len(pts) && pts[e].a == pts[g].a {
			e++
		}
		top := pts[g].b
		if g == 0 || top > best {
			for k := g; k < e && pts[k].b == top; k++ {
				front = append(front, pts[k].i)
			}
		}
		best = math.Max(best, top)
		g = e
	}
	sort.Ints(front)
	return front
}
