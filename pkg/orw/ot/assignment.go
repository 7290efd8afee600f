// Package ot is exact discrete optimal transport: the linear assignment solver
// behind the OT-CFM minibatch coupling and the empirical W2 distance between
// two equal-size point clouds.
package ot

import (
	"fmt"
	"math"
)

// Assign solves the linear assignment problem exactly: for the n×n matrix cost
// it returns the permutation perm (row i ↦ column perm[i]) that minimises
//
//	total = Σ_i cost[i][perm[i]],
//
// and that total. An empty matrix gives an empty permutation and total 0.
// Costs may be negative; ties are broken deterministically. It returns an error
// if the matrix is not square, its rows are ragged, or any cost is NaN or ±Inf.
//
// This is the primal-dual shortest-augmenting-path form of the Hungarian method
// (Kuhn–Munkres, as organised by Jonker and Volgenant), written by hand for this
// package because gonum has no assignment solver. Rows are added one at a time;
// for each, Dijkstra's algorithm on the reduced costs c(i,j) − u(i) − v(j) ≥ 0
// finds the cheapest alternating path to a free column, the dual potentials
// u, v are updated so that matched pairs keep reduced cost 0, and the path is
// flipped. Each row costs O(n²) in the worst case, O(n³) in all; the running
// time is usually far below that bound (see BenchmarkAssign256/1000).
//
// Exact minibatch optimal-transport couplings (OT-CFM) and EmpiricalW2 are built
// on it.
func Assign(cost [][]float64) (perm []int, total float64, err error) {
	n := len(cost)
	c, err := flattenSquare(cost)
	if err != nil {
		return nil, 0, err
	}
	perm = assignFlat(c, n)
	for i, j := range perm {
		total += cost[i][j]
	}
	return perm, total, nil
}

// flattenSquare checks that cost is an n×n matrix of finite numbers and copies
// it into one row-major slice.
func flattenSquare(cost [][]float64) ([]float64, error) {
	n := len(cost)
	c := make([]float64, 0, n*n)
	for i, row := range cost {
		switch {
		case i == 0 && len(row) != n:
			return nil, fmt.Errorf("ot.Assign: the cost matrix must be square: it has %d rows but row 0 has %d columns", n, len(row))
		case len(row) != n:
			return nil, fmt.Errorf("ot.Assign: ragged cost matrix: row %d has %d entries, row 0 has %d", i, len(row), n)
		}
		for j, x := range row {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("ot.Assign: cost[%d][%d] = %v is not finite", i, j, x)
			}
		}
		c = append(c, row...)
	}
	return c, nil
}

// assignFlat solves the assignment problem for the row-major n×n matrix c of
// finite costs and returns the column of each row.
func assignFlat(c []float64, n int) []int {
	var (
		u      = make([]float64, n) // row potentials
		v      = make([]float64, n) // column potentials
		rowOf  = make([]int, n)     // row matched to each column, −1 when free
		colOf  = make([]int, n)     // column matched to each row
		dist   = make([]float64, n) // shortest reduced path length to each column
		pred   = make([]int, n)     // row from which each column was last reached
		todo   = make([]int, n)     // columns not yet settled by Dijkstra
		settle = make([]int, 0, n)  // columns settled, in order
	)
	for j := range rowOf {
		rowOf[j] = -1
	}
	inf := math.Inf(1)

	for r := 0; r < n; r++ {
		for j := range dist {
			dist[j] = inf
			todo[j] = j
		}
		unsettled := n
		settle = settle[:0]

		// Dijkstra from the free row r. Only r's own edges may have negative
		// reduced cost (r carries no potential yet); that is harmless because
		// they are all relaxed first, like several sources with offsets.
		i, delta := r, 0.0
		var sink int
		for {
			row := c[i*n : (i+1)*n]
			base := delta - u[i]
			best, bestK := inf, 0
			for k, j := range todo[:unsettled] {
				if d := base + row[j] - v[j]; d < dist[j] {
					dist[j] = d
					pred[j] = i
				}
				// Among equally near columns prefer a free one: it ends the
				// search at once, which matters for matrices with many ties.
				if dj := dist[j]; dj < best || (dj == best && rowOf[j] < 0) {
					best, bestK = dj, k
				}
			}
			j := todo[bestK]
			unsettled--
			todo[bestK] = todo[unsettled]
			delta = best
			if rowOf[j] < 0 {
				sink = j
				break
			}
			settle = append(settle, j)
			i = rowOf[j]
		}

		// Dual update: every row reached at distance d(i) < delta and every
		// settled column shift by delta − d, keeping reduced costs ≥ 0 and
		// making every edge of the shortest path tight.
		u[r] += delta
		for _, j := range settle {
			s := delta - dist[j]
			u[rowOf[j]] += s
			v[j] -= s
		}

		// Flip the alternating path ending at the free column sink.
		for j := sink; ; {
			i := pred[j]
			next := colOf[i]
			rowOf[j], colOf[i] = i, j
			if i == r {
				break
			}
			j = next
		}
	}
	return colOf
}

// SquaredDistances returns the matrix of squared Euclidean distances
// D[i][j] = ‖a_i − b_j‖² between the rows of a (n points) and of b (m points),
// an n×m matrix ready for Assign when n = m. All points must have the same
// dimension; it panics otherwise, like gonum's matrix routines on mismatched
// shapes (EmpiricalW2 checks its inputs and returns errors instead).
func SquaredDistances(a, b [][]float64) [][]float64 {
	if dim, ok := commonDim(a, b); !ok {
		panic(fmt.Sprintf("ot.SquaredDistances: points of different dimensions (expected %d everywhere)", dim))
	}
	out := make([][]float64, len(a))
	flat := make([]float64, len(a)*len(b))
	for i, p := range a {
		out[i] = flat[i*len(b) : (i+1)*len(b) : (i+1)*len(b)]
		for j, q := range b {
			out[i][j] = SquaredDistance(p, q)
		}
	}
	return out
}

// SquaredDistance is ‖p − q‖² for two points of equal dimension. Four partial
// sums break the dependency chain of the additions, which pays off for
// image-sized points, and round no worse than a single running sum.
func SquaredDistance(p, q []float64) float64 {
	q = q[:len(p)]
	var s0, s1, s2, s3 float64
	k := 0
	for ; k+4 <= len(p); k += 4 {
		d0, d1, d2, d3 := p[k]-q[k], p[k+1]-q[k+1], p[k+2]-q[k+2], p[k+3]-q[k+3]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; k < len(p); k++ {
		d := p[k] - q[k]
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// commonDim returns the dimension of the first point found in the sets and
// whether every point of every set has it.
func commonDim(sets ...[][]float64) (int, bool) {
	dim := -1
	for _, set := range sets {
		for _, p := range set {
			if dim < 0 {
				dim = len(p)
			} else if len(p) != dim {
				return dim, false
			}
		}
	}
	return max(dim, 0), true
}
