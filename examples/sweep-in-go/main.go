// Command sweep-in-go runs a grid of fine-tuning runs from Go: the
// mnist-even task over the inverse temperature τ and the W2 weight α, two
// runs at a time (experiment.Grid), gathered into a table (table.csv,
// table.json) with the trade-off plots of orw collect (reward_vs_alpha.png,
// w2_vs_alpha.png, pareto.png), and samples.png, one row of samples per
// setting from the same noise.
//
//	go run ./examples/sweep-in-go        # τ ∈ {2, 10} × α ∈ {0, 0.1, 1}, 300 steps each
//	go run ./examples/sweep-in-go -tiny  # a few steps of small batches (the tests)
//
// The runs live in OUT/runs, one directory per setting named after it and a
// hash of its settings: running the sweep again only reads the finished runs,
// continues interrupted ones and trains new settings. docs/library.md ("Your
// own grid") walks through it; orw sweep runs the same grids from the command
// line or a YAML file (docs/sweeps.md).
package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/gomlx/compute"

	"github.com/orwcfm/orwcfm/pkg/experiment"
	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
	"github.com/orwcfm/orwcfm/pkg/orw/train"
	"github.com/orwcfm/orwcfm/pkg/tasks"
	"github.com/orwcfm/orwcfm/pkg/vis"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

// The grid: every τ with every α.
var (
	taus   = []float64{2, 10}
	alphas = []float64{0, 0.1, 1}
)

// pictureSeed is the noise of samples.png.
const pictureSeed = 7

func main() {
	out := flag.String("out", "runs/examples/sweep-in-go", "directory of the runs, the table and the plots")
	steps := flag.Int64("steps", 300, "fine-tuning steps per run")
	workers := flag.Int("j", 2, "runs trained at once")
	tiny := flag.Bool("tiny", false, "a few steps of small batches, to check that everything works (the tests)")
	flag.Parse()
	if *tiny {
		*steps = 4
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := sweep(ctx, *out, settings(*tiny), *steps, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "sweep-in-go:", err)
		os.Exit(1)
	}
}

// config is the MNIST setting family of orw reproduce's ablations (where
// τ = 10): mnist-even's defaults with the policy refreshed every K = 25
// steps and the weights normalised to mean 1, so that one α means the same
// at every τ; evaluated on 500 samples every 100 steps.
func config(tiny bool) orw.Config {
	cfg := tasks.MNISTEvenConfig()
	cfg.RefreshEvery, cfg.NormalizeWeights = 25, true
	cfg.EvalEvery, cfg.EvalSamples, cfg.CheckpointEvery = 100, 500, 100
	if tiny {
		cfg.Batch, cfg.RefreshEvery, cfg.EvalEvery, cfg.EvalSamples, cfg.CheckpointEvery = 16, 2, 2, 32, 2
	}
	return cfg
}

// settings are the grid's trials, τ × α; tiny keeps the first τ and the
// smallest and largest α.
func settings(tiny bool) []experiment.Trial {
	tauValues, alphaValues := taus, alphas
	if tiny {
		tauValues, alphaValues = taus[:1], []float64{alphas[0], alphas[len(alphas)-1]}
	}
	var trials []experiment.Trial
	for _, tau := range tauValues {
		for _, alpha := range alphaValues {
			cfg := config(tiny)
			cfg.Tau, cfg.Alpha = tau, alpha
			trials = append(trials, experiment.Trial{Name: fmt.Sprintf("τ=%g α=%g", tau, alpha), Task: "mnist-even", Config: cfg})
		}
	}
	return trials
}

// sweep trains the trials' runs to steps, workers at a time, and writes the
// table, the plots and samples.png into out.
func sweep(ctx context.Context, out string, trials []experiment.Trial, steps int64, workers int) error {
	backend, err := backends.Default()
	if err != nil {
		return err
	}
	grid := experiment.Grid{
		Runs:    experiment.Runs(filepath.Join(out, "runs"), "sweep-in-go", steps, trials...),
		Workers: workers,
		Options: experiment.Options{Backend: backend, FinalEval: true, Hooks: experiment.Hooks{Start: logEvaluations, Skip: logSkipped}},
	}
	fmt.Printf("sweep-in-go: %d runs of %d steps, %d at a time\n", len(grid.Runs), steps, max(workers, 1))
	table, err := grid.Execute(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("\n%-12s %8s %8s %14s\n", "setting", "reward", "W2", "digit entropy")
	for _, r := range table.Rows {
		fmt.Printf("%-12s %8.3f %8.4f %14.2f\n", r.Name, r.FinalReward, r.W2Velocity, r.ClassEntropy)
	}
	files, skipped, err := experiment.WriteCollected(table, out)
	if err != nil {
		return err
	}
	for _, s := range skipped {
		fmt.Println("sweep-in-go: no plot:", s)
	}
	picture := filepath.Join(out, "samples.png")
	if err := samplesPicture(picture, table, backend); err != nil {
		return err
	}
	fmt.Println("sweep-in-go: wrote")
	for _, f := range append(files, picture) {
		fmt.Println("  " + f)
	}
	return nil
}

// logEvaluations says that a run starts training and prints a line at each
// of its evaluations (experiment.Hooks.Start): with several runs training at
// once, lines rather than progress bars.
func logEvaluations(r experiment.Run, run *rundir.Run) error {
	fmt.Printf("%s: training from step %d to %d in %s\n", r.Name, run.StepCount(), r.Steps, r.Dir)
	run.Loop().OnEvent("sweep-in-go log", train.PriorityDisplay, func(_ *train.Loop[orw.StepRecord], e any) error {
		if ev, ok := e.(rundir.Eval); ok {
			rec := ev.Record
			fmt.Printf("%s: step %d, reward %.3f, W2 %.4f, digit entropy %.2f\n", r.Name, rec.Step, rec.Reward, rec.W2Velocity, rec.ClassEntropy)
		}
		return nil
	})
	return nil
}

// logSkipped says that a run had finished before and was only read
// (experiment.Hooks.Skip).
func logSkipped(r experiment.Run, _ experiment.Result) error {
	fmt.Printf("%s: finished before, only read (%s)\n", r.Name, r.Dir)
	return nil
}

// samplesPicture writes 16 samples of each row's fine-tuned model, one row
// per setting, all from the same noise.
func samplesPicture(path string, table *experiment.Table, backend compute.Backend) error {
	var rows []image.Image
	for _, r := range table.Rows {
		g, err := tasks.RunGenerator(r.RunDir)
		if err != nil {
			return err
		}
		im, err := tasks.SampleImages(backend, g, g.Sampler, 16, pictureSeed)
		if err != nil {
			return err
		}
		grid, err := runplot.SampleGrid(im, 16, 16, 2, nil)
		if err != nil {
			return err
		}
		rows = append(rows, vis.Titled(grid, fmt.Sprintf("%s: reward %.3f, W2 %.4f", r.Name, r.FinalReward, r.W2Velocity)))
	}
	return vis.SavePNG(path, vis.Grid(rows, 1, vis.GridOptions{Scale: 1, Pad: 4}))
}
