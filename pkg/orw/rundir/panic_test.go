package rundir

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/train"
)

// TestPanicIsAStepError: a reward that panics, and a hook that panics, become
// errors of that step; the run stays as it was, and carrying on gives the
// same history as a run that never failed.
func TestPanicIsAStepError(t *testing.T) {
	explode := false
	reward := orw.RewardFunc(func(im *orw.Images) ([]float64, error) {
		if explode {
			var r []float64
			_ = r[len(im.Pix)] // index out of range: a bug in the reward
		}
		return meanPixel(im)
	})
	dir := t.TempDir()
	cfg := tinyConfig()
	r, err := Create(filepath.Join(dir, "a"), cfg, tinyEnv(t, reward), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Step(ctx, 2); err != nil {
		t.Fatal(err)
	}
	explode = true
	err = r.Step(ctx, 1)
	if err == nil || !strings.Contains(err.Error(), "step 3") || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("err = %v, want a panic reported as an error of step 3", err)
	}
	if r.StepCount() != 2 {
		t.Fatalf("after the panic the run is at step %d, want 2", r.StepCount())
	}
	explode = false
	// A panicking hook: the step it follows is done and recorded.
	r.Loop().OnStep("bad hook", 1, train.PriorityDisplay, func(l *train.Loop[orw.StepRecord], _ orw.StepRecord) error {
		if l.Step() == 3 {
			panic("display bug")
		}
		return nil
	})
	err = r.Step(ctx, 2)
	if err == nil || !strings.Contains(err.Error(), "bad hook") || !strings.Contains(err.Error(), "display bug") {
		t.Fatalf("err = %v, want the hook's panic, naming the hook", err)
	}
	if n := r.Loop().Remove("bad hook"); n != 1 {
		t.Fatalf("removed %d hooks named \"bad hook\", want 1", n)
	}
	if err := r.StepTo(ctx, 6); err != nil {
		t.Fatal(err)
	}
	sa, ea, err := r.History()
	if err != nil {
		t.Fatal(err)
	}
	weights := r.Trainer().Params()
	r.Close()

	u, err := Create(filepath.Join(dir, "b"), cfg, tinyEnv(t, meanPixel), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if err := u.StepTo(ctx, 6); err != nil {
		t.Fatal(err)
	}
	sb, eb, err := u.History()
	if err != nil {
		t.Fatal(err)
	}
	if !equalJSON(comparableSteps(sa), comparableSteps(sb)) || !equalJSON(comparableEvals(ea), comparableEvals(eb)) {
		t.Fatal("a run that survived two panics differs from one that never failed")
	}
	if !weights.Equal(u.Trainer().Params()) {
		t.Fatal("weights differ")
	}
}
