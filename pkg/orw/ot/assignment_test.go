package ot

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// bruteForceAssign returns the minimum of Σ_i cost[i][π(i)] over all
// permutations π, enumerated with Heap's algorithm.
func bruteForceAssign(cost [][]float64) float64 {
	n := len(cost)
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	value := func() float64 {
		var s float64
		for i, j := range perm {
			s += cost[i][j]
		}
		return s
	}
	best := value()
	c := make([]int, n)
	for i := 1; i < n; {
		if c[i] < i {
			if i%2 == 0 {
				perm[0], perm[i] = perm[i], perm[0]
			} else {
				perm[c[i]], perm[i] = perm[i], perm[c[i]]
			}
			best = min(best, value())
			c[i]++
			i = 1
		} else {
			c[i] = 0
			i++
		}
	}
	return best
}

// checkAssignment verifies that perm is a permutation of 0..n−1 and that total
// is its cost.
func checkAssignment(t *testing.T, what string, cost [][]float64, perm []int, total float64) {
	t.Helper()
	if len(perm) != len(cost) {
		t.Fatalf("%s: permutation of length %d for %d rows", what, len(perm), len(cost))
	}
	seen := make([]bool, len(perm))
	var sum float64
	for i, j := range perm {
		if j < 0 || j >= len(perm) || seen[j] {
			t.Fatalf("%s: %v is not a permutation", what, perm)
		}
		seen[j] = true
		sum += cost[i][j]
	}
	if sum != total {
		t.Errorf("%s: total %v but the permutation costs %v", what, total, sum)
	}
}

// randomCost draws an n×n matrix of one of several kinds: continuous, small
// integers (many ties), negative, all equal, or huge magnitudes.
func randomCost(rng *rand.Rand, n, kind int) [][]float64 {
	cost := make([][]float64, n)
	for i := range cost {
		cost[i] = make([]float64, n)
		for j := range cost[i] {
			switch kind {
			case 0:
				cost[i][j] = rng.Float64()
			case 1:
				cost[i][j] = float64(rng.IntN(3))
			case 2:
				cost[i][j] = 10*rng.NormFloat64() - 20
			case 3:
				cost[i][j] = -1.5
			case 4:
				cost[i][j] = 1e9 * rng.NormFloat64()
			}
		}
	}
	return cost
}

func TestAssignBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= 8; n++ {
		trials := 60
		if n == 8 {
			trials = 10 // 8! permutations each
		}
		for trial := 0; trial < trials; trial++ {
			kind := trial % 5
			cost := randomCost(rng, n, kind)
			perm, total, err := Assign(cost)
			what := fmt.Sprintf("n=%d trial %d kind %d", n, trial, kind)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			checkAssignment(t, what, cost, perm, total)
			want := bruteForceAssign(cost)
			if math.Abs(total-want) > 1e-9*max(1, math.Abs(want)) {
				t.Errorf("%s: total %.12g, brute force %.12g", what, total, want)
			}
		}
	}
}

func TestAssignKnown(t *testing.T) {
	// The unique optimum is 0→1, 1→0, 2→2 at 1 + 2 + 2 = 5 (the other five
	// permutations cost 7 to 12).
	cost := [][]float64{
		{4, 1, 3},
		{2, 5, 6},
		{3, 2, 2},
	}
	perm, total, err := Assign(cost)
	if err != nil {
		t.Fatal(err)
	}
	if total != 5 || fmt.Sprint(perm) != "[1 0 2]" {
		t.Errorf("Assign = %v, %v; want [1 0 2], 5", perm, total)
	}
	// A matrix built so that the reversal is optimal by a wide margin.
	const n = 50
	rev := make([][]float64, n)
	for i := range rev {
		rev[i] = make([]float64, n)
		for j := range rev[i] {
			rev[i][j] = float64(i+j-(n-1)) * float64(i+j-(n-1))
		}
	}
	perm, total, err = Assign(rev)
	if err != nil || total != 0 {
		t.Fatalf("reversal: total %v, err %v; want 0", total, err)
	}
	for i, j := range perm {
		if j != n-1-i {
			t.Fatalf("reversal: perm[%d] = %d, want %d", i, j, n-1-i)
		}
	}
}

func TestAssignSmall(t *testing.T) {
	perm, total, err := Assign(nil)
	if err != nil || len(perm) != 0 || total != 0 {
		t.Errorf("Assign(nil) = %v, %v, %v; want [], 0, nil", perm, total, err)
	}
	perm, total, err = Assign([][]float64{{-3.5}})
	if err != nil || fmt.Sprint(perm) != "[0]" || total != -3.5 {
		t.Errorf("Assign(1×1) = %v, %v, %v", perm, total, err)
	}
}

func TestAssignLarger(t *testing.T) {
	// Larger problems: a valid permutation whose cost no single swap of two
	// rows' columns improves (a necessary condition of optimality).
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{30, 100} {
		for kind := range 5 {
			cost := randomCost(rng, n, kind)
			perm, total, err := Assign(cost)
			if err != nil {
				t.Fatal(err)
			}
			what := fmt.Sprintf("n=%d kind %d", n, kind)
			checkAssignment(t, what, cost, perm, total)
			for i := range n {
				for k := i + 1; k < n; k++ {
					gain := cost[i][perm[i]] + cost[k][perm[k]] - cost[i][perm[k]] - cost[k][perm[i]]
					if gain > 1e-9*max(1, math.Abs(total)) {
						t.Fatalf("%s: swapping rows %d and %d lowers the cost by %g", what, i, k, gain)
					}
				}
			}
		}
	}
}

func TestAssignErrors(t *testing.T) {
	for name, cost := range map[string][][]float64{
		"square": {{1, 2, 3}, {4, 5, 6}},
		"ragged": {{1, 2}, {3}},
		"NaN":    {{1, math.NaN()}, {3, 4}},
		"Inf":    {{1, 2}, {math.Inf(-1), 4}},
	} {
		_, _, err := Assign(cost)
		if err == nil || !strings.Contains(err.Error(), "ot.Assign") {
			t.Errorf("%s: error = %v", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}

func TestSquaredDistances(t *testing.T) {
	a := [][]float64{{0, 0}, {1, 2}}
	b := [][]float64{{3, 4}, {1, 0}, {0, 0}}
	got := SquaredDistances(a, b)
	want := [][]float64{{25, 1, 0}, {8, 4, 5}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("SquaredDistances = %v, want %v", got, want)
	}
	defer func() {
		if recover() == nil {
			t.Error("SquaredDistances with mixed dimensions did not panic")
		}
	}()
	SquaredDistances(a, [][]float64{{1, 2, 3}})
}

func benchmarkAssign(b *testing.B, n int) {
	// Squared distances between two clouds of 2-D Gaussian points: the cost
	// structure of minibatch OT and of EmpiricalW2.
	rng := rand.New(rand.NewPCG(5, 6))
	cloud := func() [][]float64 {
		x := make([][]float64, n)
		for i := range x {
			x[i] = []float64{rng.NormFloat64(), rng.NormFloat64()}
		}
		return x
	}
	cost := SquaredDistances(cloud(), cloud())
	for b.Loop() {
		if _, _, err := Assign(cost); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAssign256(b *testing.B)  { benchmarkAssign(b, 256) }
func BenchmarkAssign1000(b *testing.B) { benchmarkAssign(b, 1000) }

func ExampleAssign() {
	// Three workers (rows), three jobs (columns), cost of each pairing.
	cost := [][]float64{
		{4, 1, 3},
		{2, 5, 6},
		{3, 2, 2},
	}
	perm, total, err := Assign(cost)
	if err != nil {
		panic(err)
	}
	fmt.Println(perm, total)
	// Output: [1 0 2] 5
}
