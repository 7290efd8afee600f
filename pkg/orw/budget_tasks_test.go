package orw_test

import (
	"math"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
	"github.com/orwcfm/orwcfm/pkg/tasks"
)

// budgetRun steps a trainer n times and returns the mean over the last fifth
// of the steps of the per-step W2 and of the batches' mean reward, and the
// last record.
func budgetRun(t *testing.T, cfg orw.Config, env orw.Env, n int) (w2, reward float64, last orw.StepRecord) {
	t.Helper()
	tr, err := orw.NewTrainer(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	k := n / 5
	for i := range n {
		rec, err := tr.Step()
		if err != nil {
			t.Fatal(err)
		}
		if i >= n-k {
			w2 += rec.W2 / float64(k)
			reward += rec.RewardMean / float64(k)
		}
		last = rec
	}
	return w2, reward, last
}

// toyBudgetConfig is the toy's setting of the budget tests: the linear
// reward x₁ tilts the mixture without bound, so without regularisation
// the W2 grows as long as the run (fixed α = 0, 0.1, 1, 10 end 300 steps at
// W2 ≈ 3900, 1000, 58 and 0.025); a budget must hold it.
func toyBudgetConfig() orw.Config {
	cfg := tasks.ToyConfig()
	cfg.Tau, cfg.Alpha, cfg.NormalizeWeights = 1, 1, true
	cfg.Batch, cfg.RefreshEvery = 64, 10
	return cfg
}

// TestW2BudgetToy: on the 2-D toy, budgets spanning a factor of ten end
// (the mean W2 of the last fifth of 300 steps) within ±25% of their budget,
// and the reward grows with the budget. The test runs seed 1; on seeds 1 to
// 6 every run ended within 12%, and the reward grew with the budget on each
// (docs/method.md, "8 A W2 budget").
func TestW2BudgetToy(t *testing.T) {
	backend, err := backends.Default()
	if err != nil {
		t.Fatal(err)
	}
	base, err := tasks.ShippedGenerator("toy2d", "mlp")
	if err != nil {
		t.Fatal(err)
	}
	env := orw.Env{Backend: backend, Base: base, Reward: tasks.ToyLinear}
	prev := math.Inf(-1)
	for _, budget := range []float64{0.1, 0.3, 1} {
		cfg := toyBudgetConfig()
		cfg.W2Budget = budget
		w2, reward, last := budgetRun(t, cfg, env, 300)
		t.Logf("budget %g: W2 %.4g (%+.0f%%), reward %.3f, final α %.3g", budget, w2, 100*(w2/budget-1), reward, last.Alpha)
		if math.Abs(w2/budget-1) > 0.25 {
			t.Errorf("budget %g: the last fifth's W2 is %.4g, not within 25%%", budget, w2)
		}
		if !(reward > prev) {
			t.Errorf("budget %g: reward %.3f, not above the smaller budget's %.3f", budget, reward, prev)
		}
		prev = reward
	}
}

// TestW2BudgetMNIST: on mnist-even, a budget run ends at its budget the same
// way (within ±25% over the last fifth of its steps). With the task's α = 5
// the W2 passes 0.03 by step 40 and is 0.057 at step 80 (α = 0.05 and 0.5
// give nearly the same: early on, the weighted flow-matching term moves the
// model far more than the W2 term holds it), so the budget must raise α
// many times over (the step's α is about 60 at step 200) to hold it there.
func TestW2BudgetMNIST(t *testing.T) {
	backend, err := backends.Default()
	if err != nil {
		t.Fatal(err)
	}
	task, err := tasks.Lookup("mnist-even")
	if err != nil {
		t.Fatal(err)
	}
	env, err := task.Env(backend, "latent")
	if err != nil {
		t.Fatal(err)
	}
	cfg := task.Defaults()
	cfg.Batch, cfg.RefreshEvery = 32, 10
	cfg.W2Budget = 0.03
	w2, reward, last := budgetRun(t, cfg, env, 200)
	t.Logf("budget %g: W2 %.4g (%+.0f%%), reward %.3f, final α %.3g", cfg.W2Budget, w2, 100*(w2/cfg.W2Budget-1), reward, last.Alpha)
	if math.Abs(w2/cfg.W2Budget-1) > 0.25 {
		t.Errorf("the last fifth's W2 is %.4g, not within 25%% of the budget %g", w2, cfg.W2Budget)
	}
}
