package runplot

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/metrics"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
	"github.com/orwcfm/orwcfm/pkg/vis"
	"github.com/orwcfm/orwcfm/pkg/vis/internal/golden"
)

// fakeRun returns the history of a made-up run that learns toward reward
// top at rate 1/tau steps and drifts from the reference by w2, with
// evaluations every 10 of its steps and class counts over k classes that
// concentrate on class 2 as it learns.
func fakeRun(name string, seed uint64, alpha float64, steps int, k int) *History {
	rnd := rand.New(rand.NewPCG(seed, 7))
	cfg := orw.DefaultConfig()
	cfg.Alpha = alpha
	cfg.Seed = seed
	h := &History{Name: name, Config: cfg}
	learn := func(s int) float64 { return 1 - math.Exp(-float64(s)/(40*(1+alpha))) }
	for s := 1; s <= steps; s++ {
		h.Steps = append(h.Steps, orw.StepRecord{
			Kind: "train", Step: int64(s),
			RewardMean: 0.45 + 0.5*learn(s) + 0.05*rnd.NormFloat64(),
			W2:         0.02 * learn(s) / (1 + 5*alpha) * math.Exp(0.2*rnd.NormFloat64()),
		})
	}
	for s := 0; s <= steps; s += 10 {
		e := orw.EvalRecord{
			Kind: "eval", Step: int64(s),
			Reward:      0.45 + 0.5*learn(s) + 0.01*rnd.NormFloat64(),
			W2Velocity:  0.02 * learn(s) / (1 + 5*alpha),
			EmpiricalW2: 0.3 * learn(s) / (1 + alpha),
		}
		if k > 0 {
			e.ClassCounts = make([]int, k)
			for c := range k {
				e.ClassCounts[c] = 10
			}
			e.ClassCounts[2] += int(100 * learn(s) / (1 + 3*alpha))
			e.ClassEntropy = metrics.NormalizedEntropy(intsToFloats(e.ClassCounts))
		}
		h.Evals = append(h.Evals, e)
	}
	return h
}

func TestLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tau-1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	info := rundir.RunInfo{Format: rundir.Format, Config: orw.DefaultConfig(), Meta: map[string]string{"task": "x"}}
	b, _ := json.Marshal(info)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	// No history yet: an empty history, not an error.
	h, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "tau-1" || len(h.Steps)+len(h.Evals) != 0 || h.Meta["task"] != "x" {
		t.Errorf("empty run loaded as %+v", h)
	}
	f := fakeRun("a", 1, 0, 20, 3)
	var buf bytes.Buffer
	for _, s := range f.Steps {
		b, _ := json.Marshal(s)
		buf.Write(append(b, '\n'))
	}
	for _, e := range f.Evals {
		b, _ := json.Marshal(e)
		buf.Write(append(b, '\n'))
	}
	if err := os.WriteFile(filepath.Join(dir, "history.jsonl"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err = Load(dir, "named")
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "named" || len(h.Steps) != 20 || len(h.Evals) != 3 {
		t.Errorf("loaded %q with %d steps and %d evals, want named, 20, 3", h.Name, len(h.Steps), len(h.Evals))
	}
	if e, ok := h.Final(); !ok || e.Step != 20 {
		t.Errorf("final %+v %v", e, ok)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none"), ""); err == nil {
		t.Error("no error for a missing run")
	}
}

func TestEvalSeriesSeeds(t *testing.T) {
	a := &History{Name: "x", Evals: []orw.EvalRecord{{Step: 0, Reward: 1}, {Step: 10, Reward: 2}, {Step: 20, Reward: 5}}}
	b := &History{Name: "x", Evals: []orw.EvalRecord{{Step: 0, Reward: 3}, {Step: 10, Reward: 4}}}
	names, byName := groups([]*History{a, nil, b})
	if !slices.Equal(names, []string{"x"}) || len(byName["x"]) != 2 {
		t.Fatalf("groups %v", names)
	}
	s := evalSeries("x", byName["x"], Reward)
	if !slices.Equal(s.X, []float64{0, 10, 20}) || !slices.Equal(s.Y, []float64{2, 3, 5}) {
		t.Errorf("series X %v Y %v", s.X, s.Y)
	}
	sd := math.Sqrt(2)
	if math.Abs(s.Hi[0]-(2+sd)) > 1e-12 || math.Abs(s.Lo[1]-(3-sd)) > 1e-12 || s.Lo[2] != 5 || s.Hi[2] != 5 {
		t.Errorf("band lo %v hi %v", s.Lo, s.Hi)
	}
	if one := evalSeries("a", []*History{a}, Reward); one.Lo != nil {
		t.Error("a single seed got a band")
	}
}

func TestMovingAverage(t *testing.T) {
	got := MovingAverage([]float64{1, 2, 3, math.NaN(), 5, 6}, 2)
	want := []float64{1, 1.5, 2.5, 3, 5, 5.5}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if got := MovingAverage([]float64{math.NaN()}, 0); !math.IsNaN(got[0]) {
		t.Errorf("all-NaN window gave %v", got[0])
	}
}

func TestFinalsAndSummary(t *testing.T) {
	hs := []*History{
		fakeRun("α=0", 1, 0, 100, 10), fakeRun("α=0", 2, 0, 100, 10),
		fakeRun("α=1", 3, 1, 100, 10),
		{Name: "empty"},
	}
	header, rows := Summary(hs...)
	if !slices.Equal(header, []string{"run", "steps", "reward", "W2 estimate", "empirical W2", "class entropy", "seeds"}) {
		t.Errorf("header %q", header)
	}
	if len(rows) != 2 || rows[0][0] != "α=0" || rows[0][1] != "100" || rows[0][6] != "2" || rows[1][6] != "1" {
		t.Errorf("rows %q", rows)
	}
	fs := finals(hs, Reward)
	want := (hs[0].Evals[10].Reward + hs[1].Evals[10].Reward) / 2
	if math.Abs(fs[0].mean-want) > 1e-12 || fs[0].sd == 0 || fs[1].sd != 0 || fs[1].alpha != 1 {
		t.Errorf("finals %+v", fs)
	}
	// Without classes and seeds the table has no such columns.
	header, _ = Summary(fakeRun("a", 1, 0, 10, 0))
	if len(header) != 5 {
		t.Errorf("header %q", header)
	}
}

func TestPlots(t *testing.T) {
	hs := []*History{
		fakeRun("α=0", 1, 0, 100, 10), fakeRun("α=0", 2, 0, 100, 10),
		fakeRun("α=0.1", 3, 0.1, 100, 10), fakeRun("α=1", 4, 1, 100, 10),
	}
	for name, f := range map[string]func() (*plot.Plot, error){
		"curves reward": func() (*plot.Plot, error) { return Curves(Reward, hs...) },
		"curves w2":     func() (*plot.Plot, error) { return Curves(W2, hs...) },
		"training":      func() (*plot.Plot, error) { return Training(Reward, hs[0]) },
		"training w2":   func() (*plot.Plot, error) { return Training(W2, hs[0]) },
		"training other": func() (*plot.Plot, error) {
			return Training(ClassEntropy, hs[0])
		},
		"classes":       func() (*plot.Plot, error) { return Classes(hs[0]) },
		"classes one":   func() (*plot.Plot, error) { return Classes(&History{Evals: hs[0].Evals[:1]}) },
		"final classes": func() (*plot.Plot, error) { return FinalClasses(hs...) },
		"alpha reward":  func() (*plot.Plot, error) { return AlphaSweep(Reward, hs...) },
		"alpha w2":      func() (*plot.Plot, error) { return AlphaSweep(W2, hs...) },
		"pareto":        func() (*plot.Plot, error) { return Pareto(hs...) },
		"w2 zero": func() (*plot.Plot, error) {
			return Training(W2, &History{Evals: []orw.EvalRecord{{Step: 0}}, Steps: []orw.StepRecord{{Step: 1}}})
		},
	} {
		p, err := f()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, err := vis.PlotPNG(p, 300, 200); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, f := range map[string]func() (*plot.Plot, error){
		"curves empty":   func() (*plot.Plot, error) { return Curves(Reward, &History{Name: "a"}) },
		"training empty": func() (*plot.Plot, error) { return Training(Reward, &History{}) },
		"no classes":     func() (*plot.Plot, error) { return Classes(fakeRun("a", 1, 0, 10, 0)) },
		"final none":     func() (*plot.Plot, error) { return FinalClasses(fakeRun("a", 1, 0, 10, 0)) },
		"final mixed": func() (*plot.Plot, error) {
			return FinalClasses(fakeRun("a", 1, 0, 10, 3), fakeRun("b", 1, 0, 10, 4))
		},
		"alpha none":  func() (*plot.Plot, error) { return AlphaSweep(Reward, &History{}) },
		"pareto none": func() (*plot.Plot, error) { return Pareto() },
	} {
		if p, err := f(); err == nil || p != nil || !strings.HasPrefix(err.Error(), "runplot: ") {
			t.Errorf("%s: got %v, %v; want a runplot error", name, p, err)
		}
	}
	// Class names come from the histories when they have them.
	named := fakeRun("a", 1, 0, 10, 3)
	named.ClassNames = []string{"cat", "dog", "emu"}
	if got := classNames(3, &History{}, named); !slices.Equal(got, named.ClassNames) {
		t.Errorf("names %q", got)
	}
	if got := classNames(2, named); !slices.Equal(got, []string{"0", "1"}) {
		t.Errorf("names %q", got)
	}
}

func TestSampleGrid(t *testing.T) {
	im := &orw.Images{N: 5, H: 2, W: 3, C: 1, Pix: make([]float32, 30)}
	for i := range im.Pix {
		im.Pix[i] = -1 + 2*float32(i%6)/5
	}
	g, err := SampleGrid(im, 4, 2, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Two columns of 3-pixel tiles and two rows of 2-pixel tiles, padding 1.
	if got := g.Bounds().Size(); got != image.Pt(2*3+3, 2*2+3) {
		t.Errorf("size %v", got)
	}
	if got := g.At(1, 1); got != (color.RGBA{0, 0, 0, 255}) {
		t.Errorf("pixel -1 drawn as %v, want black", got)
	}
	if got := g.At(3, 2); got != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("pixel 1 drawn as %v, want white", got)
	}
	if _, err := SampleGrid(&orw.Images{N: 1, H: 2, W: 2, C: 1}, 0, 0, 1, nil); err == nil {
		t.Error("no error for a batch without pixels")
	}
	pts := &orw.Images{N: 2, H: 1, W: 1, C: 2, Pix: []float32{1, 2, 3, 4}}
	if !IsPoints(pts) || IsPoints(im) || !slices.Equal(Points(pts), [][2]float64{{1, 2}, {3, 4}}) {
		t.Error("points not recognised")
	}
}

// digits returns n made-up 8×8 images in [−1, 1].
func digits(n int) *orw.Images {
	im := &orw.Images{N: n, H: 8, W: 8, C: 1, Pix: make([]float32, n*64)}
	for i := range n {
		for y := range 8 {
			for x := range 8 {
				v := float32(-1)
				if (x-4)*(x-4)+(y-4)*(y-4) < 4+i%9 && (x+y+i)%3 != 0 {
					v = 1
				}
				im.Pix[i*64+y*8+x] = v
			}
		}
	}
	return im
}

func TestGoldenDashboard(t *testing.T) {
	h := fakeRun("run", 5, 0.1, 120, 10)
	img, err := Dashboard(h, digits(24), DashboardOptions{Samples: 24, Cols: 6})
	if err != nil {
		t.Fatal(err)
	}
	golden.CheckImage(t, "dashboard", img, golden.Tolerance)
}

func TestDashboardLayouts(t *testing.T) {
	size := func(img image.Image, err error) image.Point {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return img.Bounds().Size()
	}
	// Without a judge there is no class panel; 2-D points get a scatter
	// plot as wide as it is high.
	pts := &orw.Images{N: 3, H: 1, W: 1, C: 2, Pix: []float32{0, 0, 1, 1, -1, 2}}
	full := size(Dashboard(fakeRun("a", 1, 0, 30, 10), digits(64), DashboardOptions{}))
	noClass := size(Dashboard(fakeRun("a", 1, 0, 30, 0), digits(64), DashboardOptions{}))
	points := size(Dashboard(fakeRun("a", 1, 0, 30, 0), pts, DashboardOptions{}))
	onlyPlots := size(Dashboard(fakeRun("a", 1, 0, 30, 0), nil, DashboardOptions{}))
	// Panels share the tile size of the largest, a 346×240 px plot, with
	// 4 px between and around them, two to a row.
	row2, row1 := image.Pt(2*346+3*4, 2*240+3*4), image.Pt(2*346+3*4, 240+2*4)
	if full != row2 || noClass != row2 || points != row2 || onlyPlots != row1 {
		t.Errorf("sizes %v %v %v %v, want %v %v %v %v", full, noClass, points, onlyPlots, row2, row2, row2, row1)
	}
	samplesOnly := size(Dashboard(&History{}, digits(4), DashboardOptions{Cols: 2}))
	if samplesOnly.X != 2*8+3+2*4 {
		t.Errorf("samples-only width %d", samplesOnly.X)
	}
	if _, err := Dashboard(&History{}, nil, DashboardOptions{}); err == nil {
		t.Error("no error for an empty dashboard")
	}
	if _, err := Dashboard(nil, nil, DashboardOptions{}); err == nil {
		t.Error("no error for a nil history")
	}
}

// TestFinalBars checks the grouping of FinalBars: categories and members in
// order of first appearance, the mean over seeds, and a gap where a
// category lacks a member.
func TestFinalBars(t *testing.T) {
	split := func(name string) (string, string) {
		if c, ok := strings.CutSuffix(name, " + W2"); ok {
			return c, "with W2"
		}
		return name, "without W2"
	}
	a1, a2 := fakeRun("RAFT", 1, 0, 50, 10), fakeRun("RAFT", 2, 0, 50, 10)
	b := fakeRun("RAFT + W2", 1, 1, 50, 10)
	c := fakeRun("ORW + W2", 1, 1, 50, 10)
	cats, bars, err := finalBars(Reward, split, []*History{a1, b, a2, c})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cats, []string{"RAFT", "ORW"}) || len(bars) != 2 || bars[0].Name != "without W2" || bars[1].Name != "with W2" {
		t.Fatalf("categories %v, bars %+v", cats, bars)
	}
	e1, _ := a1.Final()
	e2, _ := a2.Final()
	if got, want := bars[0].Values[0], (e1.Reward+e2.Reward)/2; math.Abs(got-want) > 1e-12 {
		t.Errorf("RAFT without W2: %v, want the mean over seeds %v", got, want)
	}
	eb, _ := b.Final()
	if bars[1].Values[0] != eb.Reward || !math.IsNaN(bars[0].Values[1]) {
		t.Errorf("values %v %v: want RAFT + W2's reward and a gap for ORW without W2", bars[0].Values, bars[1].Values)
	}
	cats, bars, err = finalBars(ClassEntropy, nil, []*History{a1, c})
	if err != nil || len(cats) != 2 || len(bars) != 1 || len(bars[0].Values) != 2 {
		t.Errorf("nil split: %v %v %v", cats, bars, err)
	}
	if _, err := FinalBars(Reward, split, a1, b, c); err != nil {
		t.Error(err)
	}
	if _, err := FinalBars(Reward, nil, &History{Name: "empty"}); err == nil {
		t.Error("FinalBars without evaluations gave no error")
	}
}

// TestStyles checks that a setting's variant ("X + W2") takes X's colour,
// dashed, while the other settings take the palette in order.
func TestStyles(t *testing.T) {
	st := styles([]string{"ORW-CFM", "ORW-CFM + W2", "RAFT", "RAFT + W2", "α=0", "α=0.3", "ORW-CFM τ=1", "ORW-CFM τ=20"})
	want := []struct {
		color   int
		variant bool
	}{{0, false}, {0, true}, {1, false}, {1, true}, {2, false}, {3, false}, {0, true}, {0, true}}
	for i, w := range want {
		if st[i].color != vis.Color(w.color) || st[i].variant != w.variant {
			t.Errorf("style %d: %v, want colour %d variant %v", i, st[i], w.color, w.variant)
		}
	}
	// "α=0" is not a prefix of "α=0.3" in this sense: no space follows it.
	if s := styles([]string{"α=0", "α=0.3"}); s[1].variant {
		t.Error("α=0.3 taken for a variant of α=0")
	}
}

// TestEntropyAxisAndRewarded checks that class-entropy plots span [0, 1]
// however close the values are, and that Classes greys what the reward
// does not favour.
func TestEntropyAxisAndRewarded(t *testing.T) {
	h := fakeRun("a", 1, 10, 40, 10) // α = 10: the entropy barely moves
	for name, f := range map[string]func() (*plot.Plot, error){
		"curves": func() (*plot.Plot, error) { return Curves(ClassEntropy, h) },
		"alpha":  func() (*plot.Plot, error) { return AlphaSweep(ClassEntropy, h, fakeRun("b", 2, 0, 40, 10)) },
		"bars":   func() (*plot.Plot, error) { return FinalBars(ClassEntropy, nil, h) },
	} {
		p, err := f()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.Y.Min > 0 || p.Y.Max < 1 {
			t.Errorf("%s: entropy axis [%g, %g], want [0, 1]", name, p.Y.Min, p.Y.Max)
		}
	}
	if got := unrewarded(10, []int{0, 2, 4, 6, 8}); !slices.Equal(got, []int{1, 3, 5, 7, 9}) {
		t.Errorf("unrewarded %v", got)
	}
	if got := unrewarded(10, nil); got != nil {
		t.Errorf("unrewarded without a known reward: %v", got)
	}
	h.Rewarded = []int{0, 2, 4, 6, 8}
	p, err := Classes(h)
	if err != nil || !strings.Contains(p.Title.Text, "grey") {
		t.Errorf("Classes with rewarded classes: %v, title %q", err, p.Title.Text)
	}
}

// withEvaluator adds to every evaluation of h an evaluator's record: a
// reward that falls behind the run's as it learns (a growing hacking gap),
// precision that stays high, and recall and coverage that fall.
func withEvaluator(h *History) *History {
	for i := range h.Evals {
		e := &h.Evals[i]
		f := float64(e.Step) / 120
		r, gap := e.Reward-0.3*f, 0.3*f
		e.Evaluator = &orw.EvaluatorRecord{
			Reward: &r, HackingGap: &gap, ClassCounts: e.ClassCounts,
			Precision: 0.85 + 0.05*f, Recall: 0.8 - 0.5*f, Density: 0.95 + 0.4*f, Coverage: 0.9 - 0.6*f, Vendi: 8 - 5*f,
			Neighbours: metrics.DefaultNeighbours,
		}
	}
	return h
}

func TestGoldenDashboardEvaluator(t *testing.T) {
	h := withEvaluator(fakeRun("run", 5, 0.1, 120, 10))
	img, err := Dashboard(h, digits(24), DashboardOptions{Samples: 24, Cols: 6})
	if err != nil {
		t.Fatal(err)
	}
	golden.CheckImage(t, "dashboard_evaluator", img, golden.Tolerance)
}

// A history with evaluator's records gets the coverage panel (a third row)
// and the evaluator's reward on the reward panel; one without keeps its
// dashboard as it was.
func TestDashboardEvaluator(t *testing.T) {
	plain, err := Dashboard(fakeRun("a", 1, 0, 30, 10), digits(64), DashboardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	withEv, err := Dashboard(withEvaluator(fakeRun("a", 1, 0, 30, 10)), digits(64), DashboardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := withEv.Bounds().Size(), image.Pt(2*346+3*4, 3*240+4*4); got != want {
		t.Errorf("dashboard with an evaluator: %v, want %v (five panels)", got, want)
	}
	if got := plain.Bounds().Size(); got != image.Pt(2*346+3*4, 2*240+3*4) {
		t.Errorf("dashboard without an evaluator: %v", got)
	}
	differs := false
	for y := 4; y < 244 && !differs; y++ {
		for x := 4; x < 350 && !differs; x++ {
			differs = plain.At(x, y) != withEv.At(x, y)
		}
	}
	if !differs {
		t.Error("the reward panel is the same with an evaluator's reward")
	}

	h := withEvaluator(fakeRun("a", 1, 0, 30, 10))
	p, err := Training(Reward, h)
	if err != nil {
		t.Fatal(err)
	}
	if want := "reward (hacking gap 0.075 at step 30)"; p.Title.Text != want {
		t.Errorf("reward title %q, want %q", p.Title.Text, want)
	}
	p, err = CoverageCurves(h)
	if err != nil || p.Y.Min > 0 || p.Y.Max < 1 {
		t.Fatalf("coverage plot: %v, y axis %v..%v", err, p.Y.Min, p.Y.Max)
	}
	if _, err := CoverageCurves(fakeRun("a", 1, 0, 30, 10)); err == nil {
		t.Error("coverage curves of a run without an evaluator")
	}
	if v := Coverage.Value(orw.EvalRecord{}); !math.IsNaN(v) {
		t.Errorf("coverage of a record without an evaluator: %v, want NaN", v)
	}
}
