package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/ode"
)

func init() {
	register(command{name: "bench", summary: "time the benchmark workloads of docs/benchmarks.md (mlp, unet) with the real trainer and sampler", run: runBench})
}

// BenchResult is one workload's timing, with the JSON keys of
// docs/benchmarks.md ("JSON keys"). Times are medians over the timed rounds;
// the spread is in the *_min and *_max keys.
type BenchResult struct {
	Impl        string  `json:"impl"`
	Model       string  `json:"model"`
	Params      int     `json:"params"`
	Batch       int     `json:"batch"`
	EulerSteps  int     `json:"euler_steps"`
	Rounds      int     `json:"rounds"`
	MsPerRound  float64 `json:"ms_per_round"`
	MsSample    float64 `json:"ms_sample"`
	MsTrainStep float64 `json:"ms_train_step"`
	MsRoundMin  float64 `json:"ms_per_round_min"`
	MsRoundMax  float64 `json:"ms_per_round_max"`
	// MsCompile is the wall time of the untimed warm-up round, graph compilation included.
	MsCompile float64 `json:"ms_warmup"`
	Backend   string  `json:"backend"`
	SIMD      bool    `json:"simd"`
}

func runBench(ctx context.Context, args []string) error {
	fs := newFlags("bench", "time the benchmark workloads of docs/benchmarks.md: 20-step Euler sampling of 64 images from the policy, a mean-pixel reward, exp(tau r) weights and one ORW-CFM-W2 training step per round")
	workloads := fs.String("workload", "mlp,unet", "comma-separated workloads: mlp, unet")
	rounds := fs.Int("rounds", 7, "timed rounds per workload (after one untimed warm-up round)")
	batch := fs.Int("batch", 64, "batch size")
	steps := fs.Int("euler-steps", 20, "Euler steps of the sampler")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *rounds < 1 || *batch < 1 || *steps < 1 {
		return fmt.Errorf("--rounds, --batch and --euler-steps must be positive")
	}
	be, err := backend()
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	for _, w := range strings.Split(*workloads, ",") {
		w = strings.TrimSpace(w)
		if w != "mlp" && w != "unet" {
			return fmt.Errorf("unknown workload %q; valid: mlp, unet", w)
		}
		flow, err := nets.New(nets.DefaultConfig(w, 28, 28, 1))
		if err != nil {
			return err
		}
		gen := &orw.Generator{Flow: flow, Params: nets.Init(flow.Specs(), orw.NewRNG(0).Rand), Sampler: orw.SamplerConfig{Solver: ode.Euler, Steps: *steps}}
		cfg := orw.DefaultConfig()
		cfg.Tau, cfg.Alpha, cfg.Batch = 1, 1, *batch
		cfg.Sampler = gen.Sampler
		tr, err := orw.NewTrainer(cfg, orw.Env{Backend: be, Base: gen, Reward: orw.MeanPixel})
		if err != nil {
			return err
		}
		t0 := time.Now()
		if _, err := tr.Step(); err != nil {
			return err
		}
		res := BenchResult{Impl: "orwcfm-go", Model: w, Params: gen.Params.NumParams(), Batch: *batch, EulerSteps: *steps, Rounds: *rounds,
			MsCompile: msSince(t0), Backend: backends.Config(), SIMD: backends.SIMDEnabled}
		var round, sample, train []float64
		for range *rounds {
			if err := ctx.Err(); err != nil {
				return err
			}
			t := time.Now()
			rec, err := tr.Step()
			if err != nil {
				return err
			}
			round = append(round, msSince(t))
			sample = append(sample, rec.SampleMS)
			train = append(train, rec.TrainMS)
		}
		res.MsPerRound, res.MsSample, res.MsTrainStep = median(round), median(sample), median(train)
		res.MsRoundMin, res.MsRoundMax = slices.Min(round), slices.Max(round)
		if err := enc.Encode(res); err != nil {
			return err
		}
	}
	return nil
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
