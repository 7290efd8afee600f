package paper

import (
	"math"
	"regexp"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

// point is a TradeoffPoint of two seeds with the given evaluator rewards and coverages.
func point(step int64, rewards, coverages [2]float64) TradeoffPoint {
	return TradeoffPoint{Setting: "s", Step: step, EvalReward: rewards[:], OwnReward: []float64{rewards[0] + 0.01, rewards[1] + 0.03},
		Coverage: coverages[:], Recall: coverages[:], W2: []float64{float64(step), float64(step)}}
}

// TestFrontierInterpolation checks the frontier, the interpolation along it
// and the seeds' spread against values worked out by hand.
func TestFrontierInterpolation(t *testing.T) {
	f := TradeoffFamily{Name: "f", Points: []TradeoffPoint{
		point(0, [2]float64{0.5, 0.5}, [2]float64{0.8, 0.8}),   // reward 0.5, coverage 0.8: on the frontier
		point(1, [2]float64{0.6, 0.6}, [2]float64{0.7, 0.7}),   // dominated by step 2
		point(2, [2]float64{0.88, 0.92}, [2]float64{0.7, 0.8}), // reward 0.90, coverage 0.75
		point(3, [2]float64{1.0, 1.0}, [2]float64{0.3, 0.5}),   // reward 1.0, coverage 0.4
	}}
	front := f.frontier(coverageOf)
	var steps []int64
	for _, p := range front {
		steps = append(steps, p.Step)
	}
	if len(steps) != 3 || steps[0] != 0 || steps[1] != 2 || steps[2] != 3 {
		t.Fatalf("frontier steps %v, want [0 2 3]", steps)
	}
	// At 0.95, halfway between step 2 (0.90) and step 3 (1.0): seed 1 coverage
	// (0.7+0.3)/2 = 0.5, seed 2 (0.8+0.5)/2 = 0.65: mean 0.575, std 0.075.
	row := f.at(0.95)
	if !row.Reached || math.Abs(row.Coverage-0.575) > 1e-12 || math.Abs(row.CoverageSD-0.075) > 1e-12 {
		t.Errorf("at 0.95: %+v, want coverage 0.575 ± 0.075", row)
	}
	// The hacking gap: own − evaluator is 0.01 (seed 1) and 0.03 (seed 2) everywhere: 0.02.
	if math.Abs(row.Gap-0.02) > 1e-12 || math.Abs(row.W2-2.5) > 1e-12 {
		t.Errorf("at 0.95: gap %g, W2 %g; want 0.02 and 2.5", row.Gap, row.W2)
	}
	// Below the first point: that point; above the last: never.
	if r := f.at(0.3); !r.Reached || math.Abs(r.Coverage-0.8) > 1e-12 {
		t.Errorf("at 0.3: %+v, want the first point's coverage 0.8", r)
	}
	if r := f.at(1.01); r.Reached {
		t.Errorf("at 1.01: %+v, want never reached", r)
	}
	if p, _ := f.nearest(0.97); p.Step != 3 {
		t.Errorf("nearest 0.97: step %d, want 3", p.Step)
	}
}

// TestTradeoffOfHistories builds the points from histories: a step that not
// every seed has evaluated is left out, and the α = 0 collapse is measured
// at the first and last evaluation.
func TestTradeoffOfHistories(t *testing.T) {
	ev := func(step int64, r, cov float64, counts []int) orw.EvalRecord {
		return orw.EvalRecord{Step: step, Reward: r + 0.01, ClassCounts: counts,
			Evaluator: &orw.EvaluatorRecord{Reward: &r, Coverage: cov, Recall: cov, ClassCounts: counts}}
	}
	even := []int{25, 0, 25, 0, 25, 0, 25, 0, 0, 0}
	one := []int{1, 0, 0, 0, 0, 0, 0, 0, 99, 0}
	h1 := &runplot.History{Name: "α = 0", Evals: []orw.EvalRecord{ev(0, 0.5, 0.8, even), ev(100, 0.9, 0.5, even), ev(200, 1, 0.2, one)}}
	h2 := &runplot.History{Name: "α = 0", Evals: []orw.EvalRecord{ev(0, 0.5, 0.8, even), ev(100, 0.9, 0.5, even)}}
	settings := []Setting{{Label: "α = 0", Family: famEarly}}
	tr := tradeoffOf(settings, []*runplot.History{h1, h2})
	if len(tr.Families) != 1 || len(tr.Families[0].Points) != 2 {
		t.Fatalf("families %+v: want one family of 2 points (steps 0 and 100)", tr.Families)
	}
	c := tr.Collapse
	if c == nil || c.Base.Coverage != 0.8 || math.Abs(c.End.Coverage-0.35) > 1e-12 || math.Abs(c.End.EvaluatorLargest-(0.99+0.25)/2) > 1e-12 {
		t.Errorf("collapse %+v", c)
	}
	if math.Abs(c.Base.EvaluatorEntropy-math.Log(4)/math.Log(10)) > 1e-12 {
		t.Errorf("base entropy %g, want log 4 / log 10", c.Base.EvaluatorEntropy)
	}
}

// TestFrontierSettingsAreDistinctRuns checks that no two settings of the
// frontier and drift experiments share a run directory unless they are the
// same configuration, and that the families are the issue's.
func TestFrontierSettingsAreDistinctRuns(t *testing.T) {
	for _, quick := range []bool{false, true} {
		for _, name := range []string{"frontier", "tau-zero-drift"} {
			e, err := Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			settings, err := e.Settings(Size{Quick: quick})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]orw.Config{}
			for _, st := range settings {
				n := trialOf(st, 1).Name
				if c, ok := seen[n]; ok && c != st.Config {
					t.Errorf("%s (quick %v): two configurations share the run name %s", name, quick, n)
				}
				seen[n] = st.Config
			}
		}
	}
	families := map[string]int{}
	for _, st := range frontierSettings(Size{}) {
		families[st.Family]++
	}
	if len(families) != 11 || families[famBudget] != 4 || families[famReFT] != 3 || families[famRAFTW2] != 2 {
		t.Errorf("families %v", families)
	}
}

// TestRevisitedLinks checks that the section links of Revisited name the
// anchors of experiments' titles.
func TestRevisitedLinks(t *testing.T) {
	anchors := map[string]bool{}
	for _, n := range Names() {
		e, _ := Lookup(n)
		anchors[anchor(e.Title)] = true
	}
	link := regexp.MustCompile(`\(#([^)]+)\)`)
	for _, n := range Names() {
		e, _ := Lookup(n)
		for _, m := range link.FindAllStringSubmatch(e.Revisited, -1) {
			if !anchors[m[1]] {
				t.Errorf("%s: Revisited links to #%s, which no experiment's title makes", n, m[1])
			}
		}
	}
}
