package experiment_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/orwcfm/orwcfm/pkg/experiment"
	"github.com/orwcfm/orwcfm/pkg/tasks"
)

// A grid of two settings of the 2-D toy task, two seeds each, trained for
// two steps with two workers, gathered into a table. Executing the grid
// again would only read the four finished runs.
func Example() {
	root, err := os.MkdirTemp("", "experiment-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(root)

	cfg := tasks.ToyConfig() // tiny batches, so that the example runs in a second
	cfg.Batch, cfg.EvalSamples, cfg.EvalEvery, cfg.CheckpointEvery, cfg.W2Times = 16, 16, 2, 2, 2
	withW2 := cfg
	withW2.Alpha = 1
	trials := experiment.Seeds([]experiment.Trial{
		{Name: "α = 0", Task: "toy2d", Config: cfg},
		{Name: "α = 1", Task: "toy2d", Config: withW2},
	}, 1, 2)

	grid := experiment.Grid{Runs: experiment.Runs(root, "example", 2, trials...), Workers: 2}
	table, err := grid.Execute(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.Join(experiment.Columns[:8], ","))
	for _, r := range table.Rows {
		dir := filepath.Base(r.RunDir) // the trial's name and a hash of its settings
		fmt.Println(r.Task, r.Method, r.Alpha, r.Seed, r.Steps, dir[:strings.LastIndex(dir, "-")], len(r.ClassFractions))
	}
	// Output:
	// task,method,tau,alpha,refresh_every,steps,normalize_weights,seed
	// toy2d orw 0 1 2 alpha-0 3
	// toy2d orw 0 2 2 alpha-0 3
	// toy2d orw 1 1 2 alpha-1 3
	// toy2d orw 1 2 2 alpha-1 3
}
