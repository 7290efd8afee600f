package rundir

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/train"
)

// TestLoopHooks checks the run's own hooks and their order, and what a
// caller's hooks see: each step recorded before them, every evaluation
// (periodic and final) as an Eval event.
func TestLoopHooks(t *testing.T) {
	cfg := tinyConfig() // evaluations every 4 steps, checkpoints every 3
	r, err := Create(filepath.Join(t.TempDir(), "run"), cfg, tinyEnv(t, meanPixel), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want := []string{"step:history", "step:evaluate", "step:checkpoint", "end:checkpoint", "end:evaluate"}
	if got := r.Loop().Hooks(); !slices.Equal(got, want) {
		t.Fatalf("the run's hooks are %v, want %v", got, want)
	}
	var log []string
	l := r.Loop()
	l.OnStep("show", 1, train.PriorityDisplay, func(l *train.Loop[orw.StepRecord], rec orw.StepRecord) error {
		steps, _, err := r.History()
		if err != nil || len(steps) == 0 || steps[len(steps)-1].Step != rec.Step {
			t.Errorf("at step %d the display hook sees a history without the step (%v)", rec.Step, err)
		}
		log = append(log, fmt.Sprintf("step%d", rec.Step))
		return nil
	})
	l.OnEvent("show", train.PriorityDisplay, func(l *train.Loop[orw.StepRecord], ev any) error {
		e, ok := ev.(Eval)
		if !ok || e.Images == nil || e.Record.Step != l.Step() {
			t.Errorf("event %#v at step %d, want an Eval of this step with its images", ev, l.Step())
		}
		log = append(log, fmt.Sprintf("eval%d", e.Record.Step))
		return nil
	})
	l.OnEnd("show", train.PriorityDisplay, func(l *train.Loop[orw.StepRecord], err error) error {
		log = append(log, fmt.Sprintf("end%d", l.Step()))
		return nil
	})
	r.EvaluateAtEnd(true)
	if err := r.StepTo(context.Background(), 5); err != nil {
		t.Fatal(err)
	}
	// The step-4 evaluation comes (from the evaluate hook) before the step-4
	// display; the final evaluation (step 5) before the display's end hook.
	if got, want := strings.Join(log, " "), "step1 step2 step3 eval4 step4 step5 eval5 end5"; got != want {
		t.Errorf("the caller's hooks ran as\n%s\nwant\n%s", got, want)
	}
	_, evals, err := r.History()
	if err != nil || len(evals) != 3 || evals[2].Step != 5 {
		t.Fatalf("evaluations %+v (%v), want those of steps 0, 4 and 5", evals, err)
	}
	// The final evaluation is saved with the run.
	s, err := ReadSaved(r.Dir)
	if err != nil || s.Step != 5 || len(s.Evals) != 3 || len(s.Steps) != 5 {
		t.Fatalf("saved: %+v, %v", s, err)
	}
}

// TestHookErrorStopsTheRun: a caller's hook that fails stops the run after
// that step, with the hook's error, and the run is saved at that step.
func TestHookErrorStopsTheRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	r, err := Create(dir, tinyConfig(), tinyEnv(t, meanPixel), nil)
	if err != nil {
		t.Fatal(err)
	}
	full := errors.New("disk full")
	r.Loop().OnEvent("writer", train.PriorityDisplay, func(*train.Loop[orw.StepRecord], any) error { return full })
	err = r.StepTo(context.Background(), 10)
	var he *train.HookError
	if !errors.Is(err, full) || !errors.As(err, &he) || he.Hook != "writer" || r.StepCount() != 4 {
		t.Fatalf("err = %v at step %d, want the writer's error at step 4 (its first evaluation)", err, r.StepCount())
	}
	r.Close()
	if done, err := Finished(dir, 4); err != nil || !done {
		t.Errorf("Finished(dir, 4) = %v, %v: the run was not saved at the failing step", done, err)
	}
}

// TestFinished: whether a run has finished is read from its last
// checkpoint, without opening the run, also while it is open.
func TestFinished(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if _, err := Finished(dir, 1); err == nil {
		t.Error("Finished of a directory without a run: no error")
	}
	r, err := Create(dir, tinyConfig(), tinyEnv(t, meanPixel), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if done, err := Finished(dir, 0); err != nil || !done {
		t.Errorf("a new run: Finished(0) = %v, %v; want true", done, err)
	}
	if err := r.StepTo(context.Background(), 5); err != nil {
		t.Fatal(err)
	}
	for total, want := range map[int64]bool{4: true, 5: true, 6: false} {
		if done, err := Finished(dir, total); err != nil || done != want {
			t.Errorf("Finished(%d) = %v, %v; want %v", total, done, err, want)
		}
	}
	s, err := ReadSaved(dir)
	if err != nil || s.Step != 5 || len(s.Steps) != 5 || len(s.Evals) != 2 || s.Info.Config.Diff(r.Config()) != nil {
		t.Fatalf("ReadSaved: %+v, %v", s, err)
	}
}
