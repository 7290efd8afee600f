package orw_test

import (
	"context"
	"math"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/internal/orwtest"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/ode"
	"github.com/orwcfm/orwcfm/pkg/orw/optim"
	"github.com/orwcfm/orwcfm/pkg/orw/ot"
	"github.com/orwcfm/orwcfm/pkg/orw/pretrain"
)

// The paper's Lemma 1 in the form we test (docs/method.md, "4 The theory"): without regularisation
// and with a (near) perfect learner, each refresh of the policy multiplies the
// density by w = exp(τr), so after N refreshes q_N ∝ exp(τ·N·r)·p_ref. For a
// Gaussian mixture p_ref = Σ_k π_k N(μ_k, σ²I) and a linear reward r(x) = c·x/(τN)
// this is again a Gaussian mixture, in closed form:
//
//	q_N = Σ_k π'_k N(μ_k + σ²c, σ²I),  π'_k ∝ π_k exp(c·μ_k + σ²‖c‖²/2),  c = τN·e_1.

type mixture struct {
	mu    [][2]float64
	sigma float64
	pi    []float64
}

var toyMixture = mixture{mu: [][2]float64{{-2, 0}, {2, 0}, {0, 2}}, sigma: 0.5, pi: []float64{0.4, 0.3, 0.3}}

// sample draws n points.
func (m mixture) sample(rng *orw.RNG, n int) []float32 {
	x := make([]float32, 2*n)
	for i := range n {
		u, k := rng.Float64(), 0
		for acc := m.pi[0]; u > acc && k < len(m.pi)-1; {
			k++
			acc += m.pi[k]
		}
		for d := range 2 {
			x[2*i+d] = float32(m.mu[k][d] + m.sigma*rng.NormFloat64())
		}
	}
	return x
}

// tilt returns the mixture multiplied by exp(c·x), normalised.
func (m mixture) tilt(c [2]float64) mixture {
	t := mixture{sigma: m.sigma}
	s2 := m.sigma * m.sigma
	z := 0.0
	for k, mu := range m.mu {
		w := m.pi[k] * math.Exp(c[0]*mu[0]+c[1]*mu[1]+s2*(c[0]*c[0]+c[1]*c[1])/2)
		t.pi = append(t.pi, w)
		t.mu = append(t.mu, [2]float64{mu[0] + s2*c[0], mu[1] + s2*c[1]})
		z += w
	}
	for k := range t.pi {
		t.pi[k] /= z
	}
	return t
}

// fractions assigns points to the nearest component of m and returns the shares.
func (m mixture) fractions(x []float32) []float64 {
	f := make([]float64, len(m.mu))
	n := len(x) / 2
	for i := range n {
		best, bd := 0, math.Inf(1)
		for k, mu := range m.mu {
			d := math.Hypot(float64(x[2*i])-mu[0], float64(x[2*i+1])-mu[1])
			if d < bd {
				best, bd = k, d
			}
		}
		f[best] += 1 / float64(n)
	}
	return f
}

func meanX(x []float32) float64 {
	s := 0.0
	for i := 0; i < len(x); i += 2 {
		s += float64(x[i])
	}
	return s / float64(len(x)/2)
}

// firstCoordinate is the linear reward r(x) = x_1 on 1×1 "images" with 2 channels.
var firstCoordinate = orw.RewardFunc(func(im *orw.Images) ([]float64, error) {
	r := make([]float64, im.N)
	for i := range r {
		r[i] = float64(im.At(i)[0])
	}
	return r, nil
})

func TestTheoryTiltedMixture(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three small flows (about 20 s on 2 idle cores); run without -short")
	}
	be := orwtest.Backend(t)
	flow, err := nets.New(nets.Config{Kind: "mlp", Shape: []int{2}, Width: 128, Depth: 3, TimeDim: 16})
	if err != nil {
		t.Fatal(err)
	}
	data := &pretrain.Dataset{X: toyMixture.sample(orw.NewRNG(1), 50000), N: 50000, Shape: []int{2}}
	params := nets.Init(flow.Specs(), orw.NewRNG(2).Rand)
	oc := optim.Config{LR: 2e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, ClipNorm: 1, DecaySteps: 1500}
	if _, err := pretrain.TrainFlow(context.Background(), be, flow, params, data, 256, orw.ExactOT{}, pretrain.FitConfig{Steps: 1500, Seed: 3, Optim: oc}); err != nil {
		t.Fatal(err)
	}
	base := &orw.Generator{Flow: flow, Params: params, Sampler: orw.SamplerConfig{Solver: ode.Midpoint, Steps: 8}, Unbounded: true}
	draw := func(g *orw.Generator) []float32 {
		return orwtest.SampleFlowSpace(t, be, g, 4000, 11)
	}
	const tol = 0.05
	baseFr := toyMixture.fractions(draw(base))
	for k := range baseFr {
		if math.Abs(baseFr[k]-toyMixture.pi[k]) > tol {
			t.Fatalf("the pretrained toy model is off: component shares %.3f, p_ref %.3f", baseFr, toyMixture.pi)
		}
	}

	const tau, refreshes, K = 0.5, 2, 400
	finetune := func(alpha float64) []float32 {
		cfg := orw.DefaultConfig()
		cfg.Tau, cfg.Alpha = tau, alpha
		cfg.Batch = 256
		cfg.RefreshEvery = K
		cfg.Optim = optim.Config{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, ClipNorm: 1}
		cfg.Sampler = base.Sampler
		cfg.EvalEvery, cfg.EvalSamples, cfg.W2Times, cfg.CheckpointEvery = 10000, 64, 2, 10000
		tr, err := orw.NewTrainer(cfg, orw.Env{Backend: be, Base: base, Reward: firstCoordinate})
		if err != nil {
			t.Fatal(err)
		}
		for range refreshes * K {
			if _, err := tr.Step(); err != nil {
				t.Fatal(err)
			}
		}
		return draw(base.WithParams(tr.Params()))
	}
	want := toyMixture.tilt([2]float64{tau * refreshes, 0})
	x0 := finetune(0)
	fr, mx := toyMixture.fractions(x0), meanX(x0)
	wantMean := 0.0
	for k := range want.pi {
		wantMean += want.pi[k] * want.mu[k][0]
	}
	t.Logf("alpha=0: component shares %.3f (exact %.3f), mean x %.3f (exact %.3f)", fr, want.pi, mx, wantMean)
	// The fine-tuned shares vary with the seed more than the pretrained
	// model's: over seeds 1-5, with the online draws made per step and made
	// per block alike, the rewarded component's share was 0.805-0.845 (exact
	// 0.862) and the mean x 1.73-2.07 (exact 1.93). The tolerances cover that
	// spread; the reference's share of that component is 0.3.
	const tolShare, tolMean = 0.07, 0.25
	for k := range fr {
		if math.Abs(fr[k]-want.pi[k]) > tolShare {
			t.Errorf("alpha=0: component %d has share %.3f, the tilted density %.3f (tolerance %.2f)", k, fr[k], want.pi[k], tolShare)
		}
	}
	if math.Abs(mx-wantMean) > tolMean {
		t.Errorf("alpha=0: mean x %.3f, exact %.3f (tolerance %.2f)", mx, wantMean, tolMean)
	}

	// α > 0 pulls the samples back toward p_ref: less mass moves to the rewarded mode.
	x2 := finetune(2)
	fr2 := toyMixture.fractions(x2)
	t.Logf("alpha=2: component shares %.3f", fr2)
	if !(fr2[1] < fr[1]-0.1 && fr2[1] > baseFr[1]) {
		t.Errorf("alpha=2 should sit between p_ref and the tilted density: rewarded share %.3f (alpha=0 %.3f, p_ref %.3f)", fr2[1], fr[1], baseFr[1])
	}
	w0, _ := ot.EmpiricalW2(points(x0[:1000]), points(draw(base)[:1000]))
	w2, _ := ot.EmpiricalW2(points(x2[:1000]), points(draw(base)[:1000]))
	t.Logf("empirical W2 to the reference: alpha=0 %.3f, alpha=2 %.3f", w0, w2)
	if !(w2 < w0) {
		t.Errorf("alpha=2 should be closer to the reference in W2: %.3f vs %.3f", w2, w0)
	}
}

func points(x []float32) [][]float64 {
	p := make([][]float64, len(x)/2)
	for i := range p {
		p[i] = []float64{float64(x[2*i]), float64(x[2*i+1])}
	}
	return p
}
