package metrics

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// cloud returns n Gaussian points in d dimensions shifted by shift in every
// coordinate: distinct points, no two distances equal.
func cloud(seed uint64, n, d int, shift float64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	x := make([][]float64, n)
	for i := range x {
		x[i] = make([]float64, d)
		for j := range x[i] {
			x[i][j] = rng.NormFloat64() + shift
		}
	}
	return x
}

// simplexClusters returns g clusters of 6 points each: the corners e_1..e_6 of
// a regular simplex (side √2) moved to 100·c·e_0 for cluster c. Every point's
// 5 nearest neighbours are the rest of its cluster, all at distance √2.
func simplexClusters(g int) [][]float64 {
	var x [][]float64
	for c := range g {
		for m := range 6 {
			p := make([]float64, 7)
			p[0] = 100 * float64(c)
			p[m+1] = 1
			x = append(x, p)
		}
	}
	return x
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

// TestCoverageIdentical: a set compared with itself lies inside its own
// manifold: precision = recall = coverage = 1, and each real ball holds its
// centre and its k nearest neighbours, so density = (k+1)/k exactly (a k-th
// neighbour that counted the point itself would give 1).
func TestCoverageIdentical(t *testing.T) {
	x := cloud(1, 200, 8, 0)
	for _, k := range []int{1, DefaultNeighbours, 17} {
		p, r, err := PrecisionRecall(x, x, k)
		if err != nil || p != 1 || r != 1 {
			t.Fatalf("k=%d: precision %g, recall %g, %v; want 1, 1", k, p, r, err)
		}
		d, c, err := DensityCoverage(x, x, k)
		if want := float64(k+1) / float64(k); err != nil || !near(d, want) || c != 1 {
			t.Fatalf("k=%d: density %g, coverage %g, %v; want %g, 1", k, d, c, err, want)
		}
	}
}

// TestCoverageIndependent: two independent samples of one distribution have
// density near 1 and precision, recall, coverage well inside (0, 1).
func TestCoverageIndependent(t *testing.T) {
	real, fake := cloud(2, 1000, 4, 0), cloud(3, 1000, 4, 0)
	d, c, err := DensityCoverage(real, fake, DefaultNeighbours)
	if err != nil || math.Abs(d-1) > 0.1 || c < 0.9 || c >= 1 {
		t.Fatalf("density %g, coverage %g, %v; want about 1 and 0.97", d, c, err)
	}
	p, r, err := PrecisionRecall(real, fake, DefaultNeighbours)
	if err != nil || p < 0.9 || r < 0.9 {
		t.Fatalf("precision %g, recall %g, %v; want above 0.9", p, r, err)
	}
}

// TestCoverageDisjoint: sets far apart share no neighbourhood: all four are 0.
func TestCoverageDisjoint(t *testing.T) {
	real, fake := cloud(4, 100, 3, 0), cloud(5, 80, 3, 1000)
	p, r, err := PrecisionRecall(real, fake, DefaultNeighbours)
	if err != nil || p != 0 || r != 0 {
		t.Fatalf("precision %g, recall %g, %v; want 0, 0", p, r, err)
	}
	d, c, err := DensityCoverage(real, fake, DefaultNeighbours)
	if err != nil || d != 0 || c != 0 {
		t.Fatalf("density %g, coverage %g, %v; want 0, 0", d, c, err)
	}
}

// TestCoverageCollapse: 30 samples all equal to the first real point, among 10
// simplex clusters of 6 (N = 60, k = 5). Every sample is real (precision 1);
// their manifold has radius 0, so it holds one real point (recall 1/60); the
// point lies in the balls of its own cluster's 6 points (the other 5 at exactly
// the radius √2: the balls are closed), so coverage = 6/60 and each sample
// counts 6 times: density = 6·30 / (5·30) = 6/5.
func TestCoverageCollapse(t *testing.T) {
	real := simplexClusters(10)
	fake := make([][]float64, 30)
	for i := range fake {
		fake[i] = append([]float64(nil), real[0]...)
	}
	p, r, err := PrecisionRecall(real, fake, DefaultNeighbours)
	if err != nil || p != 1 || !near(r, 1.0/60) {
		t.Fatalf("precision %g, recall %g, %v; want 1, 1/60", p, r, err)
	}
	d, c, err := DensityCoverage(real, fake, DefaultNeighbours)
	if err != nil || !near(d, 6.0/5) || !near(c, 6.0/60) {
		t.Fatalf("density %g, coverage %g, %v; want 6/5, 1/10", d, c, err)
	}
	// Half the clusters reproduced exactly, the other half missing: precision 1,
	// recall 1/2, coverage 1/2, density (k+1)/k.
	half := real[:30]
	p, r, err = PrecisionRecall(real, half, DefaultNeighbours)
	if err != nil || p != 1 || !near(r, 0.5) {
		t.Fatalf("half the modes: precision %g, recall %g, %v; want 1, 1/2", p, r, err)
	}
	d, c, err = DensityCoverage(real, half, DefaultNeighbours)
	if err != nil || !near(d, 6.0/5) || !near(c, 0.5) {
		t.Fatalf("half the modes: density %g, coverage %g, %v; want 6/5, 1/2", d, c, err)
	}
}

func TestCoverageErrors(t *testing.T) {
	x := cloud(6, 10, 3, 0)
	ragged := cloud(7, 10, 3, 0)
	ragged[4] = ragged[4][:2]
	nan := cloud(8, 10, 3, 0)
	nan[2][1] = math.NaN()
	for _, c := range []struct {
		name       string
		real, fake [][]float64
		k          int
		want       string
	}{
		{"k=0", x, x, 0, "at least 1"},
		{"k=N", x, x, 10, "more than 10 points"},
		{"k>M", x, x[:3], 3, "smaller k"},
		{"no fake", x, nil, 1, "both sets need points"},
		{"no real", nil, x, 1, "both sets need points"},
		{"ragged fake", x, ragged, 2, "fake point 4 has 2 values"},
		{"ragged real", ragged, x, 2, "real point 4 has 2 values"},
		{"NaN", x, nan, 2, "non-finite"},
		{"zero dim", [][]float64{{}, {}}, [][]float64{{}, {}}, 1, "zero-dimensional"},
	} {
		_, _, err1 := PrecisionRecall(c.real, c.fake, c.k)
		_, _, err2 := DensityCoverage(c.real, c.fake, c.k)
		for _, err := range []error{err1, err2} {
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: error %v, want one that says %q", c.name, err, c.want)
			}
		}
	}
}

// TestVendi checks the score on spectra known in closed form.
func TestVendi(t *testing.T) {
	// k groups of equal size along orthogonal directions (lengths vary: the
	// kernel is the cosine): K/n is block diagonal with k eigenvalues 1/k, VS = k.
	// 4·6 = 24 rows in 6 dimensions takes the d×d route, 3 rows in 10 the n×n one.
	groups := func(k, m, d int) [][]float64 {
		var x [][]float64
		for g := range k {
			for i := range m {
				row := make([]float64, d)
				row[g] = 0.5 + float64(i)
				x = append(x, row)
			}
		}
		return x
	}
	for _, c := range []struct{ k, m, d int }{{4, 6, 6}, {3, 1, 10}, {5, 40, 5}, {1, 7, 3}} {
		v, err := Vendi(groups(c.k, c.m, c.d))
		if err != nil || math.Abs(v-float64(c.k)) > 1e-9 {
			t.Errorf("%d groups of %d in %d dimensions: Vendi %.15g, %v; want %d", c.k, c.m, c.d, v, err, c.k)
		}
	}
	// Identical rows: one distinct sample.
	same := [][]float64{{1, 2, 3}, {1, 2, 3}, {1, 2, 3}, {1, 2, 3}}
	if v, err := Vendi(same); err != nil || math.Abs(v-1) > 1e-9 {
		t.Errorf("identical rows: Vendi %g, %v; want 1", v, err)
	}
	// Two rows at angle θ: K/2 has eigenvalues (1 ± cos θ)/2.
	theta := 0.7
	two := [][]float64{{3, 0}, {0.2 * math.Cos(theta), 0.2 * math.Sin(theta)}}
	l1, l2 := (1+math.Cos(theta))/2, (1-math.Cos(theta))/2
	want := math.Exp(-l1*math.Log(l1) - l2*math.Log(l2))
	if v, err := Vendi(two); err != nil || math.Abs(v-want) > 1e-12 {
		t.Errorf("two rows at angle %g: Vendi %.15g, %v; want %.15g", theta, v, err, want)
	}
	for name, x := range map[string][][]float64{
		"no rows":  nil,
		"zero row": {{1, 0}, {0, 0}},
		"ragged":   {{1, 0}, {1}},
		"NaN":      {{1, math.NaN()}},
	} {
		if _, err := Vendi(x); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestImageStats(t *testing.T) {
	const n, h, w, c = 2, 4, 6, 3
	image := func(value func(y, x int) float32) []float32 {
		pix := make([]float32, 0, n*h*w*c)
		for range n {
			for y := range h {
				for x := range w {
					for range c {
						pix = append(pix, value(y, x))
					}
				}
			}
		}
		return pix
	}
	for _, tc := range []struct {
		name string
		pix  []float32
		want ImageStats
	}{
		{"black", image(func(int, int) float32 { return -1 }), ImageStats{0, 1, 0, 0}},
		{"white", image(func(int, int) float32 { return 1 }), ImageStats{1, 0, 0, 0}},
		// Left half black, right half white: one edge column (the last black
		// one, by forward differences) of w, two equal histogram bins (1 bit).
		{"left|right", image(func(_, x int) float32 { return float32(2*(x/(w/2)) - 1) }), ImageStats{0.5, 0.5, 1.0 / w, 1.0 / 8}},
		// Top half black, bottom half white: one edge row of h.
		{"top/bottom", image(func(y, _ int) float32 { return float32(2*(y/(h/2)) - 1) }), ImageStats{0.5, 0.5, 1.0 / h, 1.0 / 8}},
		// Mid grey 0.5 is neither dark nor an edge.
		{"grey", image(func(int, int) float32 { return 0 }), ImageStats{0.5, 0, 0, 0}},
	} {
		if got := ImageStatsOf(tc.pix, n, h, w, c); !nearStats(got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	// Channels are averaged: (−1, 1, 0) is mid grey.
	rgb := []float32{-1, 1, 0}
	if got := ImageStatsOf(rgb, 1, 1, 1, 3); !nearStats(got, ImageStats{0.5, 0, 0, 0}) {
		t.Errorf("one pixel (−1, 1, 0): %+v, want mid grey", got)
	}
	// 256 pixels with the 256 levels (p + ½)/256: every bin once, 8 bits.
	ramp := make([]float32, 256)
	for p := range ramp {
		ramp[p] = float32((float64(p)+0.5)/128 - 1)
	}
	if got := ImageStatsOf(ramp, 1, 16, 16, 1); math.Abs(got.PixelEntropy-1) > 1e-12 || !near(got.Brightness, 0.5) {
		t.Errorf("ramp: %+v, want entropy 1 and brightness 1/2", got)
	}
	if got := ImageStatsOf(nil, 0, h, w, c); got != (ImageStats{}) {
		t.Errorf("no images: %+v, want zeros", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("a wrong pixel count did not panic")
		}
	}()
	ImageStatsOf(make([]float32, 5), 1, 2, 2, 1)
}

func nearStats(a, b ImageStats) bool {
	return near(a.Brightness, b.Brightness) && near(a.DarkFraction, b.DarkFraction) &&
		near(a.EdgeDensity, b.EdgeDensity) && near(a.PixelEntropy, b.PixelEntropy)
}

// TestReferenceCompare checks that one Reference compared with several sample
// sets gives, for each, the numbers of PrecisionRecall and DensityCoverage,
// and that it refuses a sample set too small for its k.
func TestReferenceCompare(t *testing.T) {
	real := cloud(1, 60, 4, 0)
	ref, err := NewReference(real, DefaultNeighbours)
	if err != nil {
		t.Fatal(err)
	}
	for seed, fake := range [][][]float64{cloud(2, 40, 4, 0), cloud(3, 30, 4, 1.5), real[:20]} {
		got, err := ref.Compare(fake)
		if err != nil {
			t.Fatal(err)
		}
		p, r, _ := PrecisionRecall(real, fake, DefaultNeighbours)
		d, c, _ := DensityCoverage(real, fake, DefaultNeighbours)
		if want := (Scores{p, r, d, c}); got != want {
			t.Errorf("set %d: Compare %+v, want %+v", seed, got, want)
		}
	}
	if _, err := ref.Compare(real[:DefaultNeighbours]); err == nil || !strings.Contains(err.Error(), "smaller k") {
		t.Errorf("a set of k samples: error %v, want one that says \"smaller k\"", err)
	}
	if _, err := NewReference(nil, DefaultNeighbours); err == nil || !strings.Contains(err.Error(), "no real points") {
		t.Errorf("no real points: error %v", err)
	}
}
