package paper

import (
	"fmt"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/ode"
	"github.com/orwcfm/orwcfm/pkg/tasks"
)

// The frontier's families: each is one method with its knob, and its
// frontier is the upper envelope of every evaluation of its settings' runs.
const (
	famEarly   = "α = 0, stopped early"
	famFixed   = "W2, fixed α"
	famBudget  = "W2 budget"
	famADRPO   = "W2, ADRPO"
	famReFT    = "ReFT"
	famReFTW2  = "ReFT + W2"
	famRAFT    = "RAFT"
	famRAFTW2  = "RAFT + W2"
	famRWCFM   = "RW-CFM (offline)"
	famRefresh = "α = 0, slower refresh"
	famMainJob = "main job"
)

// frontierBudgets are the W2 budgets ε of the frontier: they span the W2
// estimates at which the α grid's runs end (about 0.011 at α = 1 to 0.72 at
// α = 0, docs/results/alpha-ablation.json).
var frontierBudgets = []float64{0.01, 0.03, 0.1, 0.3}

// frontierSettings are the frontier's settings, the cheap ones first within
// a size; the quick size keeps one setting of each family.
func frontierSettings(s Size) []Setting {
	n := steps(s, familySteps)
	var out []Setting
	add := func(family, label, variant string, c orw.Config) {
		out = append(out, Setting{Label: label, Family: family, Variant: variant, Task: "mnist-even", Config: c, Steps: n})
	}
	full := !s.Quick
	add(famEarly, "α = 0", "", mnistFamily(0, s))
	for _, a := range familyAlphas {
		if full || a == chosenAlpha {
			add(famFixed, fmt.Sprintf("α = %g", a), "", mnistFamily(a, s))
		}
	}
	main := tasks.MNISTEvenConfig()
	if s.Quick {
		quick(&main)
	}
	add(famMainJob, "main job (τ = 5, α = 5, K = 100, raw weights)", "", main)
	for _, eps := range frontierBudgets {
		if full || eps == 0.03 {
			c := mnistFamily(chosenAlpha, s)
			c.W2Budget = eps
			add(famBudget, fmt.Sprintf("budget ε = %g", eps), fmt.Sprintf("eps%g", eps), c)
		}
	}
	for _, a := range []float64{chosenAlpha, 1} {
		if full || a == chosenAlpha {
			c := mnistFamily(a, s)
			c.AlphaMode = "advantage"
			add(famADRPO, fmt.Sprintf("ADRPO α = %g", a), "adrpo", c)
		}
	}
	for _, k := range []int{100, 400} {
		if full || k == 100 {
			c := mnistFamily(0, s)
			c.RefreshEvery = k
			add(famRefresh, fmt.Sprintf("α = 0, K = %d", k), "", c)
		}
	}
	for _, tau := range []float64{2, familyTau} {
		if full || tau == familyTau {
			c := mnistFamily(0, s)
			c.Method, c.Tau = orw.MethodRWCFM, tau
			add(famRWCFM, fmt.Sprintf("RW-CFM τ = %g", tau), "", c)
		}
	}
	out = append(out, keepSettings(s, orw.MethodReFT, []float64{0.1, 0.25, 0.5})...)
	out = append(out, keepSettings(s, orw.MethodRAFT, []float64{0.25, 0.5})...)
	return out
}

// keepSettings are ReFT's or RAFT's settings over keep fractions, without and
// with W2 (α = chosenAlpha). The family's keep fraction of 0.25 has no variant
// in its run's name, so that these runs are the baselines experiment's.
func keepSettings(s Size, m orw.Method, keeps []float64) []Setting {
	name := map[orw.Method]string{orw.MethodReFT: famReFT, orw.MethodRAFT: famRAFT}[m]
	var out []Setting
	for _, a := range []float64{0, chosenAlpha} {
		family := name
		if a > 0 {
			family = name + " + W2"
		}
		for _, keep := range keeps {
			if s.Quick && keep != keeps[len(keeps)-1] {
				continue // the largest keep fraction is the cheapest RAFT
			}
			c := mnistFamily(a, s)
			c.Method, c.KeepFraction = m, keep
			variant := ""
			if keep != 0.25 {
				variant = fmt.Sprintf("keep%g", keep)
			}
			out = append(out, Setting{Label: fmt.Sprintf("%s keep %g", family, keep), Family: family, Variant: variant,
				Task: "mnist-even", Config: c, Steps: steps(s, familySteps)})
		}
	}
	return out
}

// frontierExperiment is every method's reward–coverage trade-off, judged by
// the independent evaluator.
func frontierExperiment() *Experiment {
	return &Experiment{
		Name:     "frontier",
		Notebook: "08_tradeoff",
		Title:    "The frontier: every method's reward against coverage, judged by the evaluator",
		Paper: "ORW-CFM-W2 reaches a better trade-off between reward and diversity than RAFT, ReFT and offline RW-CFM, " +
			"and the W2 term is what keeps the online method from collapsing.",
		PaperValues: map[string]any{"best": "ORW-CFM-W2"},
		Differences: "The MNIST family (mnist-even, τ = 10, K = 25, normalised weights, 2,000 steps). Every evaluation of every run is a point: " +
			"the reward recomputed by the evaluator (a second classifier, trained on the other half of MNIST's training set, that the reward never saw) " +
			"against the coverage and recall of the samples in the evaluator's features, against the even digits of MNIST's test set. " +
			"A run's own trajectory is its early-stopping curve, and a family's frontier is the upper envelope of its settings' points (means over seeds). " +
			"W2 budgets start at α = 0.1; ADRPO's coefficients are α_i = max(0, α − (r_i − mean r)); RAFT and ReFT keep 0.1 to 0.5 of their candidates; " +
			"the main job is mnist-even's defaults (raw weights, τ = 5, α = 5, K = 100).",
		Settings: func(s Size) ([]Setting, error) { return frontierSettings(s), nil },
		Checks: []Check{
			{"α = 0 collapses, by the old measure (the reward's classifier): reward ≥ 0.98 and one digit holds ≥ 70% of the samples", checkCollapse("α = 0")},
			{"α = 0 collapses, by coverage: its samples end covering at most half the real even digits that the base model's cover (evaluator's features)", checkCollapseCoverage},
			{fmt.Sprintf("α = %g keeps diversity, by the old measure: reward ≥ 0.95 with at least four even digits each ≥ 10%%", chosenAlpha), checkDiverse(fmt.Sprintf("α = %g", chosenAlpha))},
			{fmt.Sprintf("α = %g keeps more coverage than α = 0 stopped early at the same evaluator reward", chosenAlpha), checkW2BeatsEarly(fmt.Sprintf("α = %g", chosenAlpha))},
			{"a W2 budget keeps more coverage than α = 0 stopped early at the same evaluator reward (ε = 0.03)", checkW2BeatsEarly("budget ε = 0.03")},
		},
		Panels: []Panel{PanelTradeoff, PanelReward, PanelW2},
	}
}

// driftExperiment separates the causes of the drift of a τ = 0 run, which
// refits the model on its own samples with equal weights.
func driftExperiment() *Experiment {
	return &Experiment{
		Name:        "tau-zero-drift",
		Notebook:    "08_tradeoff",
		Title:       "Why a τ = 0 run drifts: sampler, learner or anchor",
		Paper:       "With τ = 0 every weight is 1 and ORW-CFM refits the model on its own samples: the paper's τ ablation shows no learning.",
		PaperValues: map[string]any{"tau_zero": "no learning"},
		Differences: "The MNIST family at τ = 0 (K = 25, normalised weights, 2,000 steps), changed one cause at a time: the sampler " +
			"(the midpoint rule, second order, instead of 20 Euler steps), the learner (a batch of 256, or K = 100 steps per refresh) " +
			"and the anchor (α = 0.1).",
		Settings: func(s Size) ([]Setting, error) {
			n := steps(s, familySteps)
			zero := func() orw.Config { c := mnistFamily(0, s); c.Tau = 0; return c }
			base := zero()
			mid := zero()
			mid.Sampler = orw.SamplerConfig{Solver: ode.Midpoint, Steps: 20}
			batch := zero()
			batch.Batch *= 2
			slow := zero()
			slow.RefreshEvery = 100
			anchor := zero()
			anchor.Alpha = chosenAlpha
			out := []Setting{
				{Label: "τ = 0", Task: "mnist-even", Config: base, Steps: n},
				{Label: "τ = 0, midpoint sampler", Variant: "midpoint20", Task: "mnist-even", Config: mid, Steps: n},
				{Label: "τ = 0, α = 0.1", Task: "mnist-even", Config: anchor, Steps: n},
			}
			if !s.Quick {
				out = append(out,
					Setting{Label: fmt.Sprintf("τ = 0, batch %d", batch.Batch), Variant: fmt.Sprintf("b%d", batch.Batch), Task: "mnist-even", Config: batch, Steps: n},
					Setting{Label: "τ = 0, K = 100", Task: "mnist-even", Config: slow, Steps: n})
			}
			return out, nil
		},
		Checks: []Check{
			{"τ = 0: the final reward stays within ±0.03 of the base model's", checkNoDrift("τ = 0")},
			{"with the midpoint sampler: the same", checkNoDrift("τ = 0, midpoint sampler")},
			{"with a batch of 256: the same", checkNoDrift("τ = 0, batch 256")},
			{"with K = 100: the same", checkNoDrift("τ = 0, K = 100")},
			{"with α = 0.1: the same", checkNoDrift("τ = 0, α = 0.1")},
		},
		Panels: []Panel{PanelReward, PanelW2, PanelClasses, PanelGrids},
	}
}
