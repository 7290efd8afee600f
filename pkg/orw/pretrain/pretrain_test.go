package pretrain_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/internal/orwtest"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/ode"
	"github.com/orwcfm/orwcfm/pkg/orw/optim"
	"github.com/orwcfm/orwcfm/pkg/orw/pretrain"
)

// gaussianData returns n points of N(mean, diag(std²)) in 2-D.
func gaussianData(rng *orw.RNG, n int, mean, std [2]float64) *pretrain.Dataset {
	x := make([]float32, 2*n)
	for i := range n {
		for k := range 2 {
			x[2*i+k] = float32(mean[k] + std[k]*rng.NormFloat64())
		}
	}
	return &pretrain.Dataset{X: x, N: n, Shape: []int{2}}
}

func smallFlow(t testing.TB) nets.Velocity {
	t.Helper()
	f, err := nets.New(nets.Config{Kind: "mlp", Shape: []int{2}, Width: 64, Depth: 2, TimeDim: 16})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestPretrainGaussian pretrains a small flow on a 2-D Gaussian and checks that
// its samples have the data's mean and standard deviation.
func TestPretrainGaussian(t *testing.T) {
	be := orwtest.Backend(t)
	mean, std := [2]float64{2, -1}, [2]float64{0.5, 1.5}
	data := gaussianData(orw.NewRNG(1), 20000, mean, std)
	flow := smallFlow(t)
	params := nets.Init(flow.Specs(), orw.NewRNG(2).Rand)
	oc := optim.Config{LR: 3e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, ClipNorm: 1, DecaySteps: 800}
	if _, err := pretrain.TrainFlow(context.Background(), be, flow, params, data, 256, orw.ExactOT{}, pretrain.FitConfig{Steps: 800, Seed: 3, Optim: oc}); err != nil {
		t.Fatal(err)
	}
	g := &orw.Generator{Flow: flow, Params: params, Sampler: orw.SamplerConfig{Solver: ode.RK4, Steps: 10}, Unbounded: true}
	const m = 4000
	x1 := orwtest.SampleFlowSpace(t, be, g, m, 4)
	for k := range 2 {
		var s, s2 float64
		for i := range m {
			v := float64(x1[2*i+k])
			s += v
			s2 += v * v
		}
		mu := s / m
		sd := math.Sqrt(s2/m - mu*mu)
		if math.Abs(mu-mean[k]) > 0.1 || math.Abs(sd/std[k]-1) > 0.1 {
			t.Errorf("coordinate %d: samples have mean %.3f and std %.3f, data %.3f and %.3f", k, mu, sd, mean[k], std[k])
		}
	}
}

// TestFitResumeEqualsUninterrupted stops a training run half way and resumes it
// from its checkpoint: the weights must equal those of an uninterrupted run.
func TestFitResumeEqualsUninterrupted(t *testing.T) {
	be := orwtest.Backend(t)
	data := gaussianData(orw.NewRNG(1), 2000, [2]float64{1, 1}, [2]float64{1, 1})
	flow := smallFlow(t)
	oc := optim.Config{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, ClipNorm: 1, WarmupSteps: 5, EMADecay: 0.9}
	run := func(path string, steps int64) *pretrain.FitResult {
		params := nets.Init(flow.Specs(), orw.NewRNG(2).Rand)
		res, err := pretrain.TrainFlow(context.Background(), be, flow, params, data, 32, orw.ExactOT{}, pretrain.FitConfig{Steps: steps, Seed: 7, Optim: oc, CheckpointPath: path, CheckpointEvery: 4})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	dir := t.TempDir()
	whole := run(filepath.Join(dir, "a.state"), 20)
	half := run(filepath.Join(dir, "b.state"), 9)
	if half.Step != 9 {
		t.Fatalf("first half stopped at %d", half.Step)
	}
	resumed := run(filepath.Join(dir, "b.state"), 20)
	if !resumed.Resumed || resumed.ResumedFrom != 9 {
		t.Fatalf("did not resume from step 9: %+v", resumed)
	}
	if !whole.Params.Equal(resumed.Params) || !whole.EMA.Equal(resumed.EMA) {
		t.Fatal("resumed weights differ from the uninterrupted run's")
	}
	// A different seed must be refused rather than silently mixed.
	params := nets.Init(flow.Specs(), orw.NewRNG(2).Rand)
	if _, err := pretrain.TrainFlow(context.Background(), be, flow, params, data, 32, orw.ExactOT{}, pretrain.FitConfig{Steps: 30, Seed: 8, Optim: oc, CheckpointPath: filepath.Join(dir, "b.state")}); err == nil {
		t.Fatal("resuming with another seed was accepted")
	}
}
