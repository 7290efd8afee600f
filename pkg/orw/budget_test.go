package orw

import (
	"errors"
	"math"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/orwcfm/orwcfm/pkg/orw/backends"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
)

// TestADRPOAlphas checks ADRPO's per-sample coefficients on a hand-made
// batch: rewards 1, 2, 3, 6 have mean 3 and advantages −2, −1, 0, 3, so
// α_i = max(0, α − A_i) is 3, 2, 1, 0 at α = 1 (the best sample's −2 clipped
// to 0) and 2.5, 1.5, 0.5, 0 at α = 0.5; at α = 4 none is clipped: 6, 5, 4, 1.
func TestADRPOAlphas(t *testing.T) {
	r := []float64{1, 2, 3, 6}
	for _, c := range []struct {
		alpha float64
		want  []float64
	}{{1, []float64{3, 2, 1, 0}}, {0.5, []float64{2.5, 1.5, 0.5, 0}}, {4, []float64{6, 5, 4, 1}}, {0, []float64{2, 1, 0, 0}}} {
		got := adrpoAlphas(c.alpha, r)
		for i := range got {
			if got[i] != c.want[i] {
				t.Fatalf("α = %g: coefficients %v, want %v", c.alpha, got, c.want)
			}
		}
	}
	// Equal rewards: no advantage, every sample gets α.
	if got := adrpoAlphas(0.7, []float64{2, 2, 2}); got[0] != 0.7 || got[1] != 0.7 || got[2] != 0.7 {
		t.Fatalf("equal rewards: %v, want α = 0.7 each", got)
	}
}

// TestPerSampleAlphaLoss checks that per-sample coefficients enter Eq. 10's
// W2 term sample by sample: w = (1, 2), fm = (0.5, 1), w2 = (2, 4) and
// α = (3, 0.5) give mean(0.5 + 3·2, 2 + 0.5·4) = mean(6.5, 4) = 5.25; one α = 1
// fed as an input gives mean(2.5, 6) = 4.25, bit for bit ORWLoss's with α a
// constant.
func TestPerSampleAlphaLoss(t *testing.T) {
	backend, err := backends.Default()
	if err != nil {
		t.Fatal(err)
	}
	exec, err := NewExec(backend, func(w, fm, w2, alpha *Node) []*Node {
		return []*Node{orwLoss(w, fm, w2, alpha), ORWLoss(w, fm, w2, 1)}
	})
	if err != nil {
		t.Fatal(err)
	}
	f := func(x ...float32) *tensors.Tensor { return tensors.FromValue(x) }
	w, fm, w2 := f(1, 2), f(0.5, 1), f(2, 4)
	for _, c := range []struct {
		alpha *tensors.Tensor
		want  float32
	}{{f(3, 0.5), 5.25}, {tensors.FromScalar(float32(1)), 4.25}} {
		out, err := exec.Call(w, fm, w2, c.alpha)
		if err != nil {
			t.Fatal(err)
		}
		got, constant := nets.Float32s(out[0])[0], nets.Float32s(out[1])[0]
		if got != c.want {
			t.Fatalf("α = %v: loss %g, want %g", c.alpha, got, c.want)
		}
		if c.alpha.Shape().Rank() == 0 && got != constant {
			t.Fatalf("α = 1 as an input gives %g, as a constant %g", got, constant)
		}
	}
}

// TestW2BudgetUpdate checks the controller by hand (ε = 1, smoothing 0.2,
// integral gain 0.1, proportional gain 2, error clipped at ±1) and its
// bounds.
func TestW2BudgetUpdate(t *testing.T) {
	c := w2Budget{eps: 1}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }
	// s = 0.8·0 + 0.2·2 = 0.4, e = 0.4 − 1 = −0.6: log α falls by 0.06.
	a, s := c.update(1, 0, 2)
	if !near(s, 0.4) || !near(a, math.Exp(-0.06)) {
		t.Fatalf("update(1, 0, 2) = %g, %g; want %g, 0.4", a, s, math.Exp(-0.06))
	}
	// s = 0.8·10 + 0.2·50 = 18, e = 17 clipped to 1: log α rises by 0.1.
	a, s = c.update(2, 10, 50)
	if !near(s, 18) || !near(a, 2*math.Exp(0.1)) {
		t.Fatalf("update(2, 10, 50) = %g, %g; want %g, 18", a, s, 2*math.Exp(0.1))
	}
	// At the budget α stays.
	if a, _ := c.update(3, 1, 1); !near(a, 3) {
		t.Fatalf("at the budget α moved from 3 to %g", a)
	}
	// A step uses α·exp(2e): e^−2 times α at s = 0 (e = −1), α at the
	// budget, e^2 times α at s = 3 (e = 2 clipped to 1), s = 1.5 gives e^1.
	for _, x := range []struct{ s, want float64 }{{0, math.Exp(-2)}, {1, 1}, {3, math.Exp(2)}, {1.5, math.E}} {
		if got := c.step(1, x.s); !near(got, x.want) {
			t.Fatalf("step(1, %g) = %g, want %g", x.s, got, x.want)
		}
	}
	// The floor holds, in the update and in a step; Alpha = 0 starts at it.
	if a, _ := c.update(budgetAlphaFloor, 0, 0); a != budgetAlphaFloor {
		t.Fatalf("α %g below the floor %g", a, budgetAlphaFloor)
	}
	if a := c.step(budgetAlphaFloor, 0); a != budgetAlphaFloor {
		t.Fatalf("a step's α %g below the floor %g", a, budgetAlphaFloor)
	}
	if a := c.start(0); a != budgetAlphaFloor {
		t.Fatalf("Alpha = 0 starts at %g, want the floor %g", a, budgetAlphaFloor)
	}
	// A non-finite W2 (a failed estimate) changes nothing.
	if a, s := c.update(2, 0.5, math.NaN()); a != 2 || s != 0.5 {
		t.Fatalf("NaN W2: %g, %g", a, s)
	}
}

// TestBudgetConfigValidate: a negative or non-finite budget and an unknown
// AlphaMode are *FieldError values that name the field; the budget combines
// with every method, either weighting and both modes.
func TestBudgetConfigValidate(t *testing.T) {
	for _, c := range []struct {
		field string
		set   func(*Config)
	}{
		{"W2Budget", func(c *Config) { c.W2Budget = -1 }},
		{"W2Budget", func(c *Config) { c.W2Budget = math.Inf(1) }},
		{"AlphaMode", func(c *Config) { c.AlphaMode = "adaptive" }},
	} {
		cfg := DefaultConfig()
		c.set(&cfg)
		var fe *FieldError
		if err := cfg.Validate(); !errors.As(err, &fe) || fe.Field != c.field {
			t.Fatalf("%s: Validate gives %v, want a FieldError of %s", c.field, err, c.field)
		}
	}
	for _, m := range Methods {
		for _, mode := range []string{"", alphaFixed, alphaAdvantage} {
			for _, norm := range []bool{false, true} {
				cfg := DefaultConfig()
				cfg.Method, cfg.AlphaMode, cfg.NormalizeWeights, cfg.W2Budget, cfg.Alpha = m, mode, norm, 0.1, 0
				if err := cfg.Validate(); err != nil {
					t.Fatalf("%s %q normalize=%v with a budget: %v", m, mode, norm, err)
				}
			}
		}
	}
}

// TestDiffOmittedFields: Diff names a field that one config omits from its
// JSON (W2Budget and AlphaMode at their zero values) and the other sets.
func TestDiffOmittedFields(t *testing.T) {
	a, b := DefaultConfig(), DefaultConfig()
	b.W2Budget, b.AlphaMode = 0.5, alphaAdvantage
	want := []string{"alpha_mode: unset → advantage", "w2_budget: unset → 0.5"}
	if d := a.Diff(b); len(d) != 2 || d[0] != want[0] || d[1] != want[1] {
		t.Fatalf("Diff = %q, want %q", d, want)
	}
	if d := b.Diff(a); len(d) != 2 || d[1] != "w2_budget: 0.5 → unset" {
		t.Fatalf("reverse Diff = %q", d)
	}
}
