package orw_test

import (
	"math"
	"slices"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/internal/orwtest"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
)

// TestWeightedLossMinimiser checks Eq. 10 against its closed form. For a velocity
// field that is a constant vector c, the loss mean_i(w_i‖c − u_i‖² + α‖c − c_ref‖²)/D
// is minimised by c* = (Σ w_i u_i + α n c_ref)/(Σ w_i + α n): the reward-weighted
// mean of the targets, pulled toward the reference by α. The gradient of the
// compiled loss must vanish at c* and nowhere else along the way.
func TestWeightedLossMinimiser(t *testing.T) {
	be := orwtest.Backend(t)
	rng := orw.NewRNG(3)
	const n, d = 6, 4
	x1 := orw.SampleNoise(rng.Rand, n*d)
	x0 := orw.SampleNoise(rng.Rand, n*d)
	w := []float32{0.5, 2, 1, 4, 0.25, 3}
	cRef := []float32{1, -1, 0.5, 2}
	for _, alpha := range []float64{0, 0.3, 2} {
		want := make([]float64, d)
		den := alpha * n
		for i := range n {
			den += float64(w[i])
		}
		for k := range d {
			num := alpha * n * float64(cRef[k])
			for i := range n {
				num += float64(w[i]) * float64(x1[i*d+k]-x0[i*d+k])
			}
			want[k] = num / den
		}
		grad := MustExecOnce(be, func(c, x1, x0, w, cRef *Node) *Node {
			v := BroadcastToDims(InsertAxes(c, 0), n, d)
			fm := orw.CFMTerm(v, orw.Path{}.U(x0, x1))
			w2 := orw.W2Term(v, BroadcastToDims(InsertAxes(cRef, 0), n, d))
			return Gradient(orw.ORWLoss(w, fm, w2, alpha), c)[0]
		}, toF32(want), tensors.FromFlatDataAndDimensions(x1, n, d), tensors.FromFlatDataAndDimensions(x0, n, d), w, cRef)
		for k, g := range nets.Float32s(grad) {
			if math.Abs(float64(g)) > 1e-5 {
				t.Fatalf("alpha=%g: gradient at the closed-form minimiser is %g in coordinate %d", alpha, g, k)
			}
		}
		shifted := slices.Clone(want)
		shifted[0] += 0.1
		grad = MustExecOnce(be, func(c, x1, x0, w, cRef *Node) *Node {
			v := BroadcastToDims(InsertAxes(c, 0), n, d)
			return Gradient(orw.ORWLoss(w, orw.CFMTerm(v, orw.Path{}.U(x0, x1)), orw.W2Term(v, BroadcastToDims(InsertAxes(cRef, 0), n, d)), alpha), c)[0]
		}, toF32(shifted), tensors.FromFlatDataAndDimensions(x1, n, d), tensors.FromFlatDataAndDimensions(x0, n, d), w, cRef)
		// d/dc0 of the loss is 2(Σw + αn)·0.1/(n·d).
		wantG := 2 * den * 0.1 / (n * d)
		if g := float64(nets.Float32s(grad)[0]); math.Abs(g-wantG) > 1e-4 {
			t.Fatalf("alpha=%g: gradient %g, want %g", alpha, g, wantG)
		}
	}
}

func toF32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

func TestPathXt(t *testing.T) {
	be := orwtest.Backend(t)
	out := MustExecOnce(be, func(x0, x1, tt *Node) *Node {
		return orw.Path{}.Xt(x0, x1, tt)
	}, [][]float32{{0, 0}, {1, 1}}, [][]float32{{2, 4}, {3, 5}}, []float32{0.25, 1})
	got := nets.Float32s(out)
	want := []float32{0.5, 1, 3, 5}
	if !slices.Equal(got, want) {
		t.Fatalf("x_t = %v, want %v", got, want)
	}
}

// TestExactOTCoupling checks the OT pairing against brute force: its cost is the
// smallest over all permutations, x1 keeps its order, and the permutation is valid.
func TestExactOTCoupling(t *testing.T) {
	rng := orw.NewRNG(5)
	const n, d = 6, 3
	for trial := 0; trial < 20; trial++ {
		x0 := orw.SampleNoise(rng.Rand, n*d)
		x1 := orw.SampleNoise(rng.Rand, n*d)
		perm, err := orw.ExactOT{}.Pair(x0, x1, n)
		if err != nil {
			t.Fatal(err)
		}
		cost := func(p []int) float64 {
			s := 0.0
			for i, j := range p {
				for k := range d {
					diff := float64(x1[i*d+k] - x0[j*d+k])
					s += diff * diff
				}
			}
			return s
		}
		best := math.Inf(1)
		permutations(n, func(p []int) { best = math.Min(best, cost(p)) })
		if got := cost(perm); got > best+1e-9 {
			t.Fatalf("OT cost %g, brute force %g", got, best)
		}
		seen := map[int]bool{}
		for _, j := range perm {
			seen[j] = true
		}
		if len(seen) != n {
			t.Fatalf("not a permutation: %v", perm)
		}
		paired := orw.Permute(x0, n, perm)
		if !slices.Equal(paired[:d], x0[perm[0]*d:perm[0]*d+d]) {
			t.Fatalf("Permute does not follow perm")
		}
	}
}

func permutations(n int, f func([]int)) {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	var rec func(k int)
	rec = func(k int) {
		if k == n {
			f(p)
			return
		}
		for i := k; i < n; i++ {
			p[k], p[i] = p[i], p[k]
			rec(k + 1)
			p[k], p[i] = p[i], p[k]
		}
	}
	rec(0)
}
