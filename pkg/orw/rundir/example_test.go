package rundir_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/internal/orwtest"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
)

// A run directory survives its process: create a run, step it, close it, and
// Open resumes it from its last checkpoint, with its history, as a notebook
// cell or a restarted job does. (The tiny generator and config of the
// project's tests stand in for a task's.)
func ExampleOpen() {
	tmp, err := os.MkdirTemp("", "orw-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "run")
	cfg := orwtest.TinyConfig() // evaluation every 4 steps, a checkpoint every 3
	env, err := orwtest.NewTinyEnv(orw.MeanPixel)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()

	// The first session: 5 steps, then the process goes away.
	r, err := rundir.Create(dir, cfg, env, map[string]string{"task": "example"})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := r.Step(ctx, 5); err != nil {
		fmt.Println(err)
		return
	}
	r.Close()

	// The second session reopens the directory where the first left off, and
	// carries on.
	r, err = rundir.Open(dir, env)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	report := func() {
		steps, evals, err := r.History()
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("step %d: %d step records, %d evaluations (at steps", r.StepCount(), len(steps), len(evals))
		for _, e := range evals {
			fmt.Printf(" %d", e.Step)
		}
		fmt.Println(")")
	}
	report()
	if err := r.Step(ctx, 3); err != nil {
		fmt.Println(err)
		return
	}
	report()
	// Output:
	// step 5: 5 step records, 2 evaluations (at steps 0 4)
	// step 8: 8 step records, 3 evaluations (at steps 0 4 8)
}
