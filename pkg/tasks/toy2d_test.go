package tasks

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
)

// gridMass integrates a lattice density (rectangle rule) and its mean.
func gridMass(d [][]float64, g Grid) (mass float64, mean [2]float64) {
	da := g.CellArea()
	for i := range g.Ny {
		for j := range g.Nx {
			x, y := g.At(i, j)
			p := d[i][j] * da
			mass += p
			mean[0] += p * x
			mean[1] += p * y
		}
	}
	return mass, [2]float64{mean[0] / mass, mean[1] / mass}
}

func TestToyMixture(t *testing.T) {
	m := ToyMixture
	mass, mean := gridMass(ToyGrid.Eval(m.Density), ToyGrid)
	if math.Abs(mass-1) > 1e-3 || math.Hypot(mean[0]-m.Mean()[0], mean[1]-m.Mean()[1]) > 1e-3 {
		t.Errorf("p_ref integrates to %g with mean %v on the grid; closed form 1 and %v", mass, mean, m.Mean())
	}
	x := m.Sample(orw.NewRNG(1), 20000)
	c := CompareToy(x, ToyGrid.Eval(m.Density), ToyGrid, m)
	t.Logf("20,000 samples of p_ref: shares %.3f (exact %.3f), TV %.3f", c.Shares, c.ExactShares, c.TV)
	if c.MaxShareError > 0.015 || c.TV > 0.04 || math.Abs(c.Mean[0]-c.ExactMean[0]) > 0.03 {
		t.Errorf("samples do not follow the mixture: %+v", c)
	}
}

// TestTiltedClosedForms checks the closed-form tilts of the mixture against the
// numerical normalisation of exp(β r)·p_ref on the grid.
func TestTiltedClosedForms(t *testing.T) {
	for _, beta := range []float64{0.5, 1, 3} {
		for _, tc := range []struct {
			name   string
			reward orw.Reward
			exact  Mixture
		}{
			{"linear", ToyLinear, ToyMixture.TiltLinear([2]float64{beta, 0})},
			{"quadratic", ToyQuadratic, ToyMixture.TiltQuadratic(beta, ToyQuadraticCenter)},
		} {
			num, err := TiltedGrid(ToyMixture, tc.reward, beta, ToyGrid)
			if err != nil {
				t.Fatal(err)
			}
			exact := ToyGrid.Eval(tc.exact.Density)
			diff, top := 0.0, 0.0
			for i := range num {
				for j := range num[i] {
					diff = math.Max(diff, math.Abs(num[i][j]-exact[i][j]))
					top = math.Max(top, exact[i][j])
				}
			}
			_, mean := gridMass(num, ToyGrid)
			em := tc.exact.Mean()
			if diff > 2e-3*top || math.Hypot(mean[0]-em[0], mean[1]-em[1]) > 2e-3 {
				t.Errorf("%s β=%g: grid and closed form differ by %.2g (peak %.3g); means %v vs %v", tc.name, beta, diff, top, mean, em)
			}
		}
	}
	// Tilting by β1 then β2 is tilting by β1 + β2 (the refreshes compound).
	a := ToyMixture.TiltLinear([2]float64{1, 0}).TiltLinear([2]float64{2, 0})
	b := ToyMixture.TiltLinear([2]float64{3, 0})
	for k := range a.Weights {
		if math.Abs(a.Weights[k]-b.Weights[k]) > 1e-12 || math.Abs(a.Means[k][0]-b.Means[k][0]) > 1e-12 {
			t.Errorf("component %d: two tilts %v, one %v", k, a, b)
		}
	}
}

// normalMass is P(a ≤ X ≤ b) for X ~ N(mu, s²).
func normalMass(mu, s, a, b float64) float64 {
	cdf := func(x float64) float64 { return 0.5 * (1 + math.Erf((x-mu)/(s*math.Sqrt2))) }
	return cdf(b) - cdf(a)
}

// TestTiltedBox checks the box reward's tilt: the box's mass becomes
// e^β m / (e^β m + 1 − m), m its mass under p_ref (closed form with erf).
func TestTiltedBox(t *testing.T) {
	g := Grid{XMin: -5, XMax: 5, YMin: -4, YMax: 6, Nx: 1001, Ny: 1001}
	b := ToyBoxRegion
	m := 0.0
	for k, mu := range ToyMixture.Means {
		s := ToyMixture.Sigmas[k]
		m += ToyMixture.Weights[k] * normalMass(mu[0], s, b[0], b[1]) * normalMass(mu[1], s, b[2], b[3])
	}
	for _, beta := range []float64{0, 1, 2} {
		d, err := TiltedGrid(ToyMixture, ToyBox, beta, g)
		if err != nil {
			t.Fatal(err)
		}
		in := 0.0
		for i := range g.Ny {
			for j := range g.Nx {
				if x, y := g.At(i, j); x >= b[0] && x <= b[1] && y >= b[2] && y <= b[3] {
					in += d[i][j] * g.CellArea()
				}
			}
		}
		want := math.Exp(beta) * m / (math.Exp(beta)*m + 1 - m)
		if math.Abs(in-want) > 5e-3 {
			t.Errorf("β=%g: box mass %.4f on the grid, closed form %.4f", beta, in, want)
		}
	}
}

func TestCompareToy(t *testing.T) {
	tilted := ToyMixture.TiltLinear([2]float64{1, 0})
	exact := ToyGrid.Eval(tilted.Density)
	good := CompareToy(tilted.Sample(orw.NewRNG(3), 4000), exact, ToyGrid, ToyMixture)
	bad := CompareToy(ToyMixture.Sample(orw.NewRNG(3), 4000), exact, ToyGrid, ToyMixture)
	t.Logf("exact samples: TV %.3f, max share error %.3f; p_ref samples: TV %.3f, max share error %.3f", good.TV, good.MaxShareError, bad.TV, bad.MaxShareError)
	if good.TV > 0.08 || good.MaxShareError > 0.03 {
		t.Errorf("exact samples compare badly: %+v", good)
	}
	if bad.TV < 0.2 || bad.MaxShareError < 0.1 {
		t.Errorf("p_ref samples compare well with the tilted density: %+v", bad)
	}
}

// TestToyTaskMatchesExactDensity fine-tunes the shipped toy model with the
// toy2d task's defaults (ORW, α = 0, τ = 0.5, two refreshes of K = 400 steps)
// and compares the samples with exp(τ·N·r)·p_ref/Z, N = 2, in closed form.
func TestToyTaskMatchesExactDensity(t *testing.T) {
	if testing.Short() {
		t.Skip("fine-tunes for 800 steps (about 20 s on 2 busy cores); run without -short")
	}
	be := testBackend(t)
	task := mustTask(t, "toy2d")
	cfg := task.Defaults()
	cfg.EvalEvery, cfg.EvalSamples, cfg.CheckpointEvery = 10000, 64, 10000
	run, err := OpenOrCreateRunWith(be, filepath.Join(t.TempDir(), "toy"), "toy2d", Options{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	if err := run.StepTo(context.Background(), task.Steps); err != nil {
		t.Fatal(err)
	}
	x, err := run.Samples(4000, 5)
	if err != nil {
		t.Fatal(err)
	}
	n := ToyRefreshes(task.Steps, cfg.RefreshEvery)
	exact := ToyMixture.TiltLinear([2]float64{cfg.Tau * float64(n), 0})
	c := CompareToy(x.Pix, ToyGrid.Eval(exact.Density), ToyGrid, ToyMixture)
	t.Logf("after %d refreshes: shares %.3f (exact %.3f), mean %.3f (exact %.3f), TV %.3f", n, c.Shares, c.ExactShares, c.Mean, c.ExactMean, c.TV)
	if c.MaxShareError > 0.05 || math.Abs(c.Mean[0]-c.ExactMean[0]) > 0.15 || math.Abs(c.Mean[1]-c.ExactMean[1]) > 0.15 || c.TV > 0.2 {
		t.Errorf("the fine-tuned toy model is off the exact tilted density (tolerances: shares 0.05, mean 0.15, TV 0.2)")
	}
	// The samples must single out N: the tilts of one refresh less or more are
	// further off (their right-mode shares are about 0.64 and 0.95).
	for _, m := range []int64{n - 1, n + 1} {
		other := ToyMixture.TiltLinear([2]float64{cfg.Tau * float64(m), 0})
		o := CompareToy(x.Pix, ToyGrid.Eval(other.Density), ToyGrid, ToyMixture)
		if o.MaxShareError <= c.MaxShareError || o.TV <= c.TV {
			t.Errorf("the samples fit N = %d refreshes (share error %.3f, TV %.3f) as well as N = %d (%.3f, %.3f)", m, o.MaxShareError, o.TV, n, c.MaxShareError, c.TV)
		}
	}
}
