package paper

import (
	"fmt"
	"math"

	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
	"github.com/orwcfm/orwcfm/pkg/tasks"
)

// Tolerances of the tilted-density check, the same as pkg/orw's theory test:
// every component share within 0.05 of the exact tilted mixture's.
const toyShareTolerance = 0.05

// toySamples is the number of samples compared with the exact density.
const toySamples = 4000

// toyExperiment is the theorem on the 2-D toy: after N refreshes without W2
// the model's density is the tilted exp(τ·N·r)·p_ref/Z (N = 1..4), and α > 0
// pulls it back toward p_ref.
func toyExperiment() *Experiment {
	return &Experiment{
		Name:  "toy2d-theory",
		Title: "The tilted-density theorem on a 2-D mixture",
		Paper: "Without regularisation and with a perfect learner, each policy refresh multiplies the density by exp(τ·r): " +
			"after N refreshes q_N ∝ exp(τ·N·r)·p_ref, collapsing onto the reward's maximum as N grows (Lemma 1); W2 regularisation limits the drift.",
		PaperValues: map[string]any{"q_N": "exp(tau*N*r) * p_ref / Z"},
		Differences: "A 3-component Gaussian mixture with the linear reward r = x, a 3x128 MLP flow (shipped), τ = 0.5, K = 400 steps of batch 256 per refresh; " +
			"4,000 samples compared with the exact tilted density on a lattice. The paper states the theorem; it has no such figure.",
		Settings: func(s Size) ([]Setting, error) {
			t, err := tasks.Lookup("toy2d")
			if err != nil {
				return nil, err
			}
			var out []Setting
			for n := int64(1); n <= 4; n++ {
				c := t.Defaults()
				k := int64(c.RefreshEvery)
				if s.Quick {
					c.RefreshEvery, c.EvalEvery, c.CheckpointEvery, c.EvalSamples = 5, 5, 5, 64
					k = 5
				}
				out = append(out, Setting{Label: fmt.Sprintf("N = %d", n), Task: "toy2d", Config: c, Steps: n * k})
			}
			c := t.Defaults()
			c.Alpha = 2
			k := int64(c.RefreshEvery)
			if s.Quick {
				c.RefreshEvery, c.EvalEvery, c.CheckpointEvery, c.EvalSamples = 5, 5, 5, 64
				k = 5
			}
			out = append(out, Setting{Label: "N = 2, α = 2", Task: "toy2d", Config: c, Steps: 2 * k})
			return out, nil
		},
		Checks: []Check{
			{fmt.Sprintf("α = 0: every component share within %.2f of the exact tilted mixture's, for N = 1 to 4 (means over seeds)", toyShareTolerance), checkToyShares},
			{"α = 2 pulls the shares back toward p_ref: a smaller largest share error to p_ref than α = 0 at N = 2", checkToyPullBack},
		},
		Panels: []Panel{PanelToyShares},
	}
}

// toyCompare samples the run's current model and compares the samples with
// the exact tilted density after the run's refreshes; with alsoRef it also
// compares them with p_ref (β = 0).
func toyCompare(run *rundir.Run, st Setting, seed uint64) (*ToyResult, error) {
	t, err := tasks.Lookup(st.Task)
	if err != nil {
		return nil, err
	}
	imgs, err := run.Samples(toySamples, seed+0x7a)
	if err != nil {
		return nil, err
	}
	n := tasks.ToyRefreshes(run.StepCount(), st.Config.RefreshEvery)
	exact, err := tasks.ExactToyDensity(t, st.Options, st.Config.Tau*float64(n))
	if err != nil {
		return nil, err
	}
	ref, err := tasks.ExactToyDensity(t, st.Options, 0)
	if err != nil {
		return nil, err
	}
	c := tasks.CompareToy(imgs.Pix, exact, tasks.ToyGrid, tasks.ToyMixture)
	r := tasks.CompareToy(imgs.Pix, ref, tasks.ToyGrid, tasks.ToyMixture)
	return &ToyResult{Refreshes: n, Shares: c.Shares, ExactShares: c.ExactShares, MaxShareError: c.MaxShareError,
		RefShares: r.ExactShares, MaxRefError: r.MaxShareError, TV: c.TV}, nil
}

// ToyResult compares a toy run's samples with the exact densities.
type ToyResult struct {
	// Refreshes is N; Shares the samples' fractions per mixture component,
	// ExactShares those of the tilted density exp(τ·N·r)·p_ref/Z and
	// RefShares those of p_ref.
	Refreshes   int64     `json:"refreshes"`
	Shares      []float64 `json:"shares"`
	ExactShares []float64 `json:"exact_shares"`
	RefShares   []float64 `json:"ref_shares"`
	// MaxShareError is the largest |share − exact share|, MaxRefError the
	// largest |share − p_ref share|; TV the total variation to the tilted density.
	MaxShareError float64 `json:"max_share_error"`
	MaxRefError   float64 `json:"max_ref_error"`
	TV            float64 `json:"tv"`
}

// checkToyShares: every α = 0 setting's mean share error is within tolerance.
func checkToyShares(r *Results) (string, bool) {
	ok, found := true, 0
	var parts []string
	for _, s := range r.Settings {
		if s.Alpha != 0 {
			continue
		}
		shares, exact := meanShares(s)
		if shares == nil {
			continue
		}
		found++
		worst := 0.0
		for k := range shares {
			worst = math.Max(worst, math.Abs(shares[k]-exact[k]))
		}
		parts = append(parts, fmt.Sprintf("%s: max error %.3f", s.Label, worst))
		ok = ok && worst <= toyShareTolerance
	}
	return joinParts(parts), ok && found == 4
}

// checkToyPullBack: at N = 2 the α = 2 run is closer to p_ref than the α = 0 run.
func checkToyPullBack(r *Results) (string, bool) {
	var with, without float64 = math.NaN(), math.NaN()
	for _, s := range r.Settings {
		var errs []float64
		for _, run := range s.Runs {
			if run.Toy != nil && run.Toy.Refreshes == 2 {
				errs = append(errs, run.Toy.MaxRefError)
			}
		}
		if len(errs) == 0 {
			continue
		}
		if s.Alpha > 0 {
			with = mean(errs)
		} else {
			without = mean(errs)
		}
	}
	return fmt.Sprintf("largest share error to p_ref at N = 2: α = 2 %.3f, α = 0 %.3f", with, without), with < without
}

// meanShares averages the toy shares of a setting's runs (nil without any).
func meanShares(s SettingResult) (shares, exact []float64) {
	n := 0
	for _, run := range s.Runs {
		if run.Toy == nil {
			continue
		}
		if shares == nil {
			shares = make([]float64, len(run.Toy.Shares))
			exact = make([]float64, len(run.Toy.ExactShares))
		}
		for k := range shares {
			shares[k] += run.Toy.Shares[k]
			exact[k] += run.Toy.ExactShares[k]
		}
		n++
	}
	for k := range shares {
		shares[k] /= float64(n)
		exact[k] /= float64(n)
	}
	return shares, exact
}

// isPoints reports whether a setting's task draws points rather than images.
func isPoints(task string) bool {
	t, err := tasks.Lookup(task)
	return err == nil && t.Points
}
