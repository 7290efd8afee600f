package orw_test

import (
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/internal/orwtest"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
)

// The benchmarks time the pieces of one ORW-CFM round on the benchmark
// networks of docs/benchmarks.md (batch 64, 28x28x1): the sampler (20 Euler steps, reported per
// step as well) and the training step. Compare runs with benchstat:
//
//	go test -run '^$' -bench 'Sampler|TrainStep' -count 6 ./pkg/orw/ > new.txt
//	benchstat old.txt new.txt

func benchGenerator(b *testing.B, kind string) *orw.Generator {
	b.Helper()
	flow, err := nets.New(nets.DefaultConfig(kind, 28, 28, 1))
	if err != nil {
		b.Fatal(err)
	}
	return &orw.Generator{Flow: flow, Params: nets.Init(flow.Specs(), orw.NewRNG(0).Rand), Sampler: orw.DefaultConfig().Sampler}
}

func benchmarkSampler(b *testing.B, kind string) {
	be := orwtest.Backend(b)
	g := benchGenerator(b, kind)
	const n = 64
	x0 := make([]float32, n*g.SampleSize())
	rng := orw.NewRNG(1)
	for i := range x0 {
		x0[i] = float32(rng.NormFloat64())
	}
	if _, _, err := g.Sample(be, g.Sampler, nil, x0, n, nil); err != nil { // compiles
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := g.Sample(be, g.Sampler, nil, x0, n, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/float64(g.Sampler.Steps), "ms/euler-step")
}

// BenchmarkSamplerMLP: 64 samples, 20 Euler steps of the benchmark mlp.
func BenchmarkSamplerMLP(b *testing.B) { benchmarkSampler(b, "mlp") }

// BenchmarkSamplerUNet: 64 samples, 20 Euler steps of the benchmark unet.
func BenchmarkSamplerUNet(b *testing.B) { benchmarkSampler(b, "unet") }

// benchmarkTrainStep times Trainer.Step with the policy refreshed only once,
// so that every timed step is one ORW-CFM-W2 gradient step (loss, gradient,
// clipping, Adam) on the same sampled batch.
func benchmarkTrainStep(b *testing.B, kind string) {
	be := orwtest.Backend(b)
	g := benchGenerator(b, kind)
	cfg := orw.DefaultConfig()
	cfg.Tau, cfg.Alpha, cfg.Batch = 1, 1, 64
	cfg.RefreshEvery, cfg.StepsPerBatch = 1<<30, 1<<30
	tr, err := orw.NewTrainer(cfg, orw.Env{Backend: be, Base: g, Reward: orw.MeanPixel})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tr.Step(); err != nil { // samples once and compiles
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := tr.Step(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTrainStepMLP: one training step of the benchmark mlp, batch 64.
func BenchmarkTrainStepMLP(b *testing.B) { benchmarkTrainStep(b, "mlp") }

// BenchmarkTrainStepUNet: one training step of the benchmark unet, batch 64.
func BenchmarkTrainStepUNet(b *testing.B) { benchmarkTrainStep(b, "unet") }
