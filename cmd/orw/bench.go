package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/compute"
	"gonum.org/v1/gonum/stat"

	"github.com/orwcfm/orwcfm/internal/suggest"
	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/ode"
	"github.com/orwcfm/orwcfm/pkg/tasks"
)

func init() {
	register(command{name: "bench", summary: "time the benchmark workloads of docs/benchmarks.md (mlp, unet, latent) with the real trainer and sampler", run: runBench})
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
	// MsRoundMean is the mean round: the PyTorch reference reports means
	// (its total time over its rounds), so ratios with it are taken of means.
	MsRoundMean float64 `json:"ms_per_round_mean"`
	// MsCompile is the wall time of the untimed warm-up round, graph compilation included.
	MsCompile float64 `json:"ms_warmup"`
	Backend   string  `json:"backend"`
	SIMD      bool    `json:"simd"`
	// DecoderParams and ClassifierParams are the sizes of the frozen decoder and
	// classifier (workload latent only).
	DecoderParams    int `json:"decoder_params,omitempty"`
	ClassifierParams int `json:"classifier_params,omitempty"`
}

// benchWorkloads are the workloads of docs/benchmarks.md.
var benchWorkloads = []string{"mlp", "unet", "latent"}

// benchRun is one workload ready to time: a trainer at step 0 and what to report.
type benchRun struct {
	tr  *orw.Trainer
	res BenchResult
}

func runBench(ctx context.Context, args []string) error {
	fs := newFlags("bench", "time the benchmark workloads of docs/benchmarks.md: per round, sample a batch from the policy with 20 Euler steps, score it, weight it and take one ORW-CFM-W2 training step (mlp and unet: 64 images and a mean-pixel reward; latent: one step of the mnist-even main job on random weights)")
	workloads := fs.String("workload", strings.Join(benchWorkloads, ","), "comma-separated workloads: "+strings.Join(benchWorkloads, ", "))
	rounds := fs.Int("rounds", 7, "timed rounds per workload (after one untimed warm-up round)")
	batch := fs.Int("batch", 0, "batch size (default: 64 for mlp and unet, 128 for latent)")
	steps := fs.Int("euler-steps", 20, "Euler steps of the sampler")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed rounds (all workloads) to this file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *rounds < 1 || *batch < 0 || *steps < 1 {
		return fmt.Errorf("--rounds and --euler-steps must be positive and --batch must not be negative")
	}
	var names []string
	for _, w := range strings.Split(*workloads, ",") {
		w = strings.TrimSpace(w)
		if !slices.Contains(benchWorkloads, w) {
			return suggest.Unknown("workload", w, benchWorkloads)
		}
		names = append(names, w)
	}
	be, err := backend()
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	for i, w := range names {
		b := *batch
		if b == 0 {
			b = 64
			if w == "latent" {
				b = 128
			}
		}
		sampler := orw.SamplerConfig{Solver: ode.Euler, Steps: *steps}
		var run benchRun
		if w == "latent" {
			run, err = latentBench(be, b, sampler)
		} else {
			run, err = pixelBench(be, w, b, sampler)
		}
		if err != nil {
			return err
		}
		res := run.res
		res.Impl, res.Model, res.Batch, res.EulerSteps, res.Rounds = "orwcfm-go", w, b, *steps, *rounds
		res.Backend, res.SIMD = backends.Config(), backends.SIMDEnabled
		if err := run.time(ctx, &res, *cpuProfile, i); err != nil {
			return err
		}
		if err := enc.Encode(res); err != nil {
			return err
		}
	}
	return nil
}

// time times res.Rounds rounds of the workload after an untimed warm-up
// round, into res; with a profile path, the timed rounds of workload i are
// profiled (startProfile).
func (run benchRun) time(ctx context.Context, res *BenchResult, profile string, i int) error {
	t0 := time.Now()
	if _, err := run.tr.Step(); err != nil {
		return err
	}
	res.MsCompile = msSince(t0)
	var prof *os.File
	if profile != "" {
		var err error
		if prof, err = startProfile(profile, i); err != nil {
			return err
		}
	}
	var round, sample, train []float64
	for range res.Rounds {
		if err := ctx.Err(); err != nil {
			return err
		}
		t := time.Now()
		rec, err := run.tr.Step()
		if err != nil {
			return err
		}
		round = append(round, msSince(t))
		sample = append(sample, rec.SampleMS)
		train = append(train, rec.TrainMS)
	}
	if prof != nil {
		pprof.StopCPUProfile()
		if err := prof.Close(); err != nil {
			return err
		}
	}
	res.MsPerRound, res.MsSample, res.MsTrainStep = median(round), median(sample), median(train)
	res.MsRoundMin, res.MsRoundMax, res.MsRoundMean = slices.Min(round), slices.Max(round), stat.Mean(round, nil)
	return nil
}

// startProfile starts the CPU profile of workload i: the file itself for the
// first workload, the file with a suffix ".i" for the others.
func startProfile(path string, i int) (*os.File, error) {
	if i > 0 {
		path = fmt.Sprintf("%s.%d", path, i)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// pixelBench is the mlp or unet workload: a pixel-space flow on random weights,
// tau = alpha = 1 and the mean-pixel reward (docs/benchmarks.md, "What one round is").
func pixelBench(be compute.Backend, kind string, batch int, sampler orw.SamplerConfig) (benchRun, error) {
	flow, err := nets.New(nets.DefaultConfig(kind, 28, 28, 1))
	if err != nil {
		return benchRun{}, err
	}
	gen := &orw.Generator{Flow: flow, Params: nets.Init(flow.Specs(), orw.NewRNG(0).Rand), Sampler: sampler}
	cfg := orw.DefaultConfig()
	cfg.Tau, cfg.Alpha, cfg.Batch = 1, 1, batch
	cfg.Sampler = sampler
	tr, err := orw.NewTrainer(cfg, orw.Env{Backend: be, Base: gen, Reward: orw.MeanPixel})
	if err != nil {
		return benchRun{}, err
	}
	return benchRun{tr: tr, res: BenchResult{Params: gen.Params.NumParams()}}, nil
}

// latentBench is the latent workload: one step of the mnist-even main job with
// its own settings (tasks.MNISTEvenConfig) and its own networks (the latent
// flow, the autoencoder's decoder, the digit classifier behind the even-digit
// reward), on random weights (docs/benchmarks.md, "Workload latent").
func latentBench(be compute.Backend, batch int, sampler orw.SamplerConfig) (benchRun, error) {
	rng := orw.NewRNG(0)
	flow, err := nets.New(nets.Config{Kind: "mlp", Shape: []int{16}, TimeDim: 128, Width: 512, Depth: 3})
	if err != nil {
		return benchRun{}, err
	}
	ae, err := nets.NewAutoencoder(nets.DefaultAutoencoderConfig(28, 28, 1))
	if err != nil {
		return benchRun{}, err
	}
	clfNet, err := nets.NewClassifier(nets.DefaultClassifierConfig(10, 28, 28, 1))
	if err != nil {
		return benchRun{}, err
	}
	aeParams := nets.Init(append(ae.EncoderSpecs(), ae.DecoderSpecs()...), rng.Rand)
	mean, std := make([]float32, 16), make([]float32, 16)
	for i := range std {
		std[i] = 1
	}
	gen, err := orw.NewLatentGenerator(ae, aeParams, mean, std, flow, nets.Init(flow.Specs(), rng.Rand), sampler)
	if err != nil {
		return benchRun{}, err
	}
	clf := &tasks.Classifier{Net: clfNet, Params: nets.Init(clfNet.Specs(), rng.Rand)}
	cfg := tasks.MNISTEvenConfig()
	// Every round draws its own batch: the main job draws the K = 100 batches of
	// a refresh period at once, in the same chunks (orw.Trainer.Step), so a
	// round costs what one of its steps costs.
	cfg.Batch, cfg.Sampler, cfg.RefreshEvery = batch, sampler, 1
	reward := tasks.ClassSetReward{Backend: be, Classifier: clf, Classes: tasks.EvenDigits}
	tr, err := orw.NewTrainer(cfg, orw.Env{Backend: be, Base: gen, Reward: reward})
	if err != nil {
		return benchRun{}, err
	}
	dec := 0
	for _, s := range ae.DecoderSpecs() {
		dec += s.Size()
	}
	return benchRun{tr: tr, res: BenchResult{Params: gen.Params.NumParams(), DecoderParams: dec, ClassifierParams: clf.Params.NumParams()}}, nil
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
