package runplot

import (
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
)

func TestBudget(t *testing.T) {
	run := func(name string, eps float64) *History {
		h := &History{Name: name, Config: orw.DefaultConfig()}
		h.Config.W2Budget = eps
		for s := int64(1); s <= 50; s++ {
			rec := orw.StepRecord{Step: s}
			if eps > 0 {
				rec.Alpha, rec.W2Smoothed = 0.1*float64(s), eps*(1-1/float64(s))
			}
			h.Steps = append(h.Steps, rec)
		}
		return h
	}
	if _, _, err := Budget(run("fixed", 0)); err == nil || !strings.Contains(err.Error(), "no run with a W2 budget") {
		t.Fatalf("without a budget: err %v", err)
	}
	a, w, err := Budget(run("fixed", 0), run("ε = 0.01", 0.01), run("ε = 0.1", 0.1), run("ε = 0.1", 0.1))
	if err != nil {
		t.Fatal(err)
	}
	// α is on a log axis that holds the steps' values; the W2 axis reaches
	// below the smallest budget.
	if a.Y.Min > 0.1 || a.Y.Max < 5 {
		t.Errorf("alpha axis [%g, %g] does not hold 0.1..5", a.Y.Min, a.Y.Max)
	}
	if w.Y.Min > 0.005 {
		t.Errorf("W2 axis starts at %g, above half the smallest budget", w.Y.Min)
	}
	if _, err := a.WriterTo(400, 300, "png"); err != nil {
		t.Fatal(err)
	}
}
