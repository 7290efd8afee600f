//go:build unix

package rundir

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
)

// TestSameSeedSameHistory: two fresh runs with the same seed and config on the
// same backend have identical histories and weights, in this process and in
// another process with a different GOMAXPROCS; another seed gives another history.
func TestSameSeedSameHistory(t *testing.T) {
	const steps = 12
	cfg := crashConfig()
	run := func(name string, seed uint64) ([]orw.StepRecord, []orw.EvalRecord, *Run) {
		c := cfg
		c.Seed = seed
		r, err := Create(filepath.Join(t.TempDir(), name), c, tinyEnv(t, meanPixel), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		if err := r.StepTo(context.Background(), steps); err != nil {
			t.Fatal(err)
		}
		s, e, err := r.History()
		if err != nil {
			t.Fatal(err)
		}
		return comparableSteps(s), comparableEvals(e), r
	}
	sa, ea, ra := run("a", cfg.Seed)
	sb, eb, rb := run("b", cfg.Seed)
	if !equalJSON(sa, sb) || !equalJSON(ea, eb) || !ra.Trainer().Params().Equal(rb.Trainer().Params()) {
		t.Fatal("two runs with the same seed differ")
	}
	sc, _, _ := run("c", cfg.Seed+1)
	if equalJSON(sa, sc) {
		t.Fatal("runs with different seeds have the same history: the seed is not used")
	}
	// The same run in a child process with one thread.
	dir := filepath.Join(t.TempDir(), "child")
	cmd, out := startChild(t, "finetune", dir, fmt.Sprintf("%s=%d", childStepsEnv, steps), "GOMAXPROCS=1")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	sd, ed, err := ReadHistory(filepath.Join(dir, historyFile), -1)
	if err != nil {
		t.Fatal(err)
	}
	if !equalJSON(sa, comparableSteps(sd)) || !equalJSON(ea, comparableEvals(ed)) {
		t.Fatal("the same run in another process (GOMAXPROCS=1) has another history")
	}
}
