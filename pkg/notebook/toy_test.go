package notebook

import (
	"math"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/tasks"
)

// TestExactTilts checks the exact tilted densities against the closed forms
// of package tasks: the linear reward's tilt is again a Gaussian mixture.
func TestExactTilts(t *testing.T) {
	cfg := tasks.ToyConfig()
	cfg.Tau = 0.5
	lin := Trial{Name: "linear", Task: "toy2d", Config: cfg}
	ex, err := ExactTilts(lin, 0, 2, 8)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range ex {
		want := tasks.ToyMixture.TiltLinear([2]float64{e.Beta, 0})
		mean := want.Mean()
		// r(x) = x₁, so E_q[r] is the tilted mixture's mean x₁.
		if math.Abs(e.Reward-mean[0]) > 0.01 {
			t.Errorf("N=%d: reward %.4f, closed form %.4f", e.Refreshes, e.Reward, mean[0])
		}
		sum := 0.0
		for _, s := range e.Shares {
			sum += s
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Errorf("N=%d: shares sum to %v", e.Refreshes, sum)
		}
		if i > 0 && e.Reward <= ex[i-1].Reward {
			t.Errorf("reward does not grow with N: %.3f after %.3f", e.Reward, ex[i-1].Reward)
		}
	}
	if ex[0].Beta != 0 || ex[2].Beta != 4 {
		t.Errorf("betas %v %v, want 0 and τ·8 = 4", ex[0].Beta, ex[2].Beta)
	}
	// N = 8: the right component (index 1) has taken nearly all the mass.
	if ex[2].Shares[1] < 0.99 {
		t.Errorf("N=8 shares %.3f, want the right component ≥ 0.99", ex[2].Shares)
	}

	// The quadratic reward has a maximum: q_N collapses onto it.
	quad := Trial{Name: "quadratic", Task: "toy2d", Options: tasks.Options{Reward: "toy-quadratic"}, Config: cfg}
	qs, err := ExactTilts(quad, 0, 4, 64)
	if err != nil {
		t.Fatal(err)
	}
	if !(qs[0].Spread > 1.5 && qs[1].Spread < qs[0].Spread && qs[2].Spread < 0.25) {
		t.Errorf("spreads %.3f, %.3f, %.3f: want p_ref spread > 1.5, shrinking to < 0.25 at N = 64", qs[0].Spread, qs[1].Spread, qs[2].Spread)
	}
	if qs[2].Reward < -0.1 || qs[2].Reward > 1e-9 {
		t.Errorf("N=64: reward %.4f, want near the maximum 0", qs[2].Reward)
	}
	if _, err := ExactTilts(quad, -1); err == nil {
		t.Error("negative N accepted")
	}
	// Only β = τ·N matters: β = 2 for any τ is q_N at τ = 0.5, N = 4.
	at, err := ExactTiltAt(quad, 2)
	if err != nil {
		t.Fatal(err)
	}
	if at.Beta != 2 || math.Abs(at.Reward-qs[1].Reward) > 1e-12 || math.Abs(at.Spread-qs[1].Spread) > 1e-12 {
		t.Errorf("ExactTiltAt(2): β %v reward %.6f spread %.6f, want q_4's %.6f %.6f", at.Beta, at.Reward, at.Spread, qs[1].Reward, qs[1].Spread)
	}
	for _, bad := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, err := ExactTiltAt(quad, bad); err == nil {
			t.Errorf("ExactTiltAt(%v) accepted", bad)
		}
	}
	if _, err := ExactTilts(Trial{Name: "mnist", Config: cfg}, 1); err == nil || !strings.Contains(err.Error(), "no exact density") {
		t.Errorf("mnist-even trial: %v", err)
	}
	p, err := ToyPicture(qs[1].Density, [][2]float64{{0, 0.5}}, "title")
	if err != nil || p.Title.Text != "title" {
		t.Errorf("ToyPicture: %v", err)
	}
	if _, err := ToyPicture(qs[1].Density[:10], nil, ""); err == nil {
		t.Error("ToyPicture accepted a density of the wrong size")
	}
}

// TestToyStatesAndRewardSamples trains a toy trial for a few steps and
// compares its samples with the exact density of its step.
func TestToyStatesAndRewardSamples(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the shipped toy model for a few steps")
	}
	t.Setenv(EnvRuns, t.TempDir())
	t.Setenv(EnvQuick, "1")
	cfg := tasks.ToyConfig()
	cfg.Batch = 32
	cfg.RefreshEvery = 2
	cfg.EvalEvery = 2
	cfg.EvalSamples = 32
	cfg.W2Times = 2
	cfg.CheckpointEvery = 2
	w2 := cfg
	w2.Alpha = 1
	trials := []Trial{{Name: "α = 0", Task: "toy2d", Config: cfg}, {Name: "α = 1", Task: "toy2d", Config: w2}}
	if _, err := ToyStates("toy", 10, trials...); err == nil || !strings.Contains(err.Error(), "run the cell that trains it") {
		t.Errorf("ToyStates before training: %v", err)
	}
	d, _ := notebookDisplay()
	hs, err := d.RunTrials("toy", 5, trials...)
	if err != nil {
		t.Fatal(err)
	}
	states, err := ToyStates("toy", 200, trials...)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 2 {
		t.Fatalf("%d states", len(states))
	}
	for _, s := range states {
		if s.Step != 5 || s.Refreshes != 2 || len(s.Points) != 200 || s.Exact.Beta != cfg.Tau*2 {
			t.Errorf("%s: step %d, N %d, %d points, β %v; want 5, 2, 200, %v", s.Name, s.Step, s.Refreshes, len(s.Points), s.Exact.Beta, cfg.Tau*2)
		}
		if s.Comparison.TV <= 0 || s.Comparison.TV > 1 {
			t.Errorf("%s: TV %v", s.Name, s.Comparison.TV)
		}
		p, err := s.Plot()
		if err != nil {
			t.Fatal(err)
		}
		// α > 0 is drawn over the density α = 0 would reach; α = 0 with its TV.
		if want := "α=0's q_N"; (s.Alpha > 0) != strings.Contains(p.Title.Text, want) || (s.Alpha == 0) != strings.Contains(p.Title.Text, "TV") {
			t.Errorf("%s: title %q", s.Name, p.Title.Text)
		}
		if !strings.Contains(p.Title.Text, "\n") {
			t.Errorf("%s: title %q on one line; side by side, titles need two", s.Name, p.Title.Text)
		}
	}

	// The toy's reward is r(x) = x₁: every reward is its sample's first coordinate.
	sets, err := TrialRewardSamples("toy", 50, trials...)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sets {
		for i, r := range s.Rewards {
			if r != float64(s.Images.Pix[2*i]) {
				t.Fatalf("%s: sample %d reward %v, x₁ %v", s.Name, i, r, s.Images.Pix[2*i])
			}
		}
		if m := s.Mean(); math.IsNaN(m) {
			t.Errorf("%s: mean %v", s.Name, m)
		}
		if _, err := s.Grid(4, 2, "%.1f"); err == nil {
			t.Error("a grid of 2-D points gave no error")
		}
	}
	if _, err := RewardHistogram("rewards", "reward", 10, sets...); err != nil {
		t.Error(err)
	}
	if _, err := RewardHistogram("rewards", "reward", 10); err == nil {
		t.Error("RewardHistogram of nothing gave no error")
	}

	reward, spread, err := ToyTheory(trials[0], 4, hs...)
	if err != nil || reward == nil || spread == nil {
		t.Fatalf("ToyTheory: %v", err)
	}
	if _, _, err := ToyTheory(trials[0], 0); err == nil {
		t.Error("ToyTheory with maxN 0 gave no error")
	}
}
