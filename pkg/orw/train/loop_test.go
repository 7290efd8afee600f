package train_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/orwcfm/orwcfm/pkg/orw/train"
)

// counter is a Stepper that counts; it fails (unchanged) at step failAt and
// panics at step panicAt (0: never).
type counter struct {
	n               int64
	failAt, panicAt int64
}

func (c *counter) Step() (int64, error) {
	switch c.n + 1 {
	case c.failAt:
		return 0, errors.New("bad step")
	case c.panicAt:
		panic("reward exploded")
	}
	c.n++
	return c.n * 10, nil
}

func (c *counter) StepCount() int64 { return c.n }

func TestLoopHooksOrderAndEvery(t *testing.T) {
	c := &counter{n: 2} // a resumed stepper
	l := train.New[int64](c, 7)
	var log []string
	l.OnStep("show", 1, train.PriorityDisplay, func(l *train.Loop[int64], r int64) error {
		log = append(log, fmt.Sprintf("show%d", l.Step()))
		return nil
	})
	l.OnStep("record", 1, train.PriorityRecord, func(l *train.Loop[int64], r int64) error {
		if r != l.Step()*10 {
			t.Errorf("record hook got %d at step %d", r, l.Step())
		}
		log = append(log, fmt.Sprintf("rec%d", l.Step()))
		return nil
	})
	l.OnStep("save", 3, train.PrioritySave, func(l *train.Loop[int64], _ int64) error {
		log = append(log, fmt.Sprintf("save%d", l.Step()))
		return nil
	})
	l.OnEnd("end", 0, func(l *train.Loop[int64], err error) error {
		log = append(log, fmt.Sprintf("end%d:%v", l.Step(), err))
		return nil
	})
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := "rec3 save3 show3 rec4 show4 rec5 show5 rec6 save6 show6 rec7 show7 end7:<nil>"
	if got := strings.Join(log, " "); got != want {
		t.Errorf("hooks ran as\n%s\nwant\n%s", got, want)
	}
	if l.First() != 2 {
		t.Errorf("First = %d, want 2", l.First())
	}
}

func TestLoopStepErrorAndPanic(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    *counter
		want string
	}{
		{"error", &counter{failAt: 3}, "bad step"},
		{"panic", &counter{panicAt: 3}, "panic: reward exploded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := train.New[int64](tc.c, 10)
			var endErr error
			l.OnEnd("end", 0, func(_ *train.Loop[int64], err error) error { endErr = err; return nil })
			err := l.Run(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if tc.c.n != 2 {
				t.Errorf("the stepper is at step %d, want 2 (the failed step left it as it was)", tc.c.n)
			}
			if endErr == nil {
				t.Error("the end hook did not see the error")
			}
			var p *train.Panic
			if tc.name == "panic" && (!errors.As(err, &p) || len(p.Stack) == 0) {
				t.Errorf("a panic is not reported as *train.Panic with its stack: %#v", err)
			}
		})
	}
}

func TestLoopHookPanicNamesTheHook(t *testing.T) {
	c := &counter{}
	l := train.New[int64](c, 10)
	l.OnStep("live plot", 2, train.PriorityDisplay, func(l *train.Loop[int64], _ int64) error {
		if l.Step() == 4 {
			var m map[string]int
			m["x"] = 1 //lint:ignore SA5000 the test needs a hook that panics
		}
		return nil
	})
	saved := int64(-1)
	l.OnEnd("save", 0, func(l *train.Loop[int64], _ error) error { saved = l.Step(); return nil })
	err := l.Run(context.Background())
	var he *train.HookError
	if !errors.As(err, &he) || he.Hook != "live plot" || he.Step != 4 || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("err = %v, want a HookError of \"live plot\" at step 4 holding the panic", err)
	}
	if saved != 4 {
		t.Errorf("the end hook ran at step %d, want 4", saved)
	}
}

func TestLoopCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := &counter{}
	l := train.New[int64](c, 100)
	l.OnStep("cancel", 5, 0, func(*train.Loop[int64], int64) error { cancel(); return nil })
	if err := l.Run(ctx); !errors.Is(err, context.Canceled) || c.n != 5 {
		t.Fatalf("err = %v at step %d, want context.Canceled at 5", err, c.n)
	}
}

func TestTextBar(t *testing.T) {
	var b bytes.Buffer
	c := &counter{}
	l := train.New[int64](c, 4)
	train.AttachProgress(l, train.NewTextBarTo(&b, "demo", false), 1, func(r int64) string { return fmt.Sprintf("r=%d", r) })
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "demo ") || !strings.Contains(out, "4/4 r=40") || !strings.Contains(out, "████████████████████████") {
		t.Errorf("progress output:\n%s", out)
	}
}

// slowFirst is a Stepper whose first step takes first (compiling, as a
// trainer's first step does) and the others after; with period > 0 the
// steps 1 + k·period take first too (an online trainer's draws ahead).
type slowFirst struct {
	n            int64
	first, after time.Duration
	period       int64
}

func (s *slowFirst) Step() (int64, error) {
	if s.n == 0 || (s.period > 0 && s.n%s.period == 0) {
		time.Sleep(s.first)
	} else {
		time.Sleep(s.after)
	}
	s.n++
	return s.n, nil
}

func (s *slowFirst) StepCount() int64 { return s.n }

// TestTimeLeftWaitsForTheSpeed: the bar shows "time left –" until
// EstimateSteps steps have followed the first, then an estimate from the
// speed after the first step, which a slow first step (compilation) does
// not inflate. (Measured from the start of the loop, the estimate at step 6
// of 10 would be (300 ms + 5 ms)/6·4 ≈ 200 ms.)
func TestTimeLeftWaitsForTheSpeed(t *testing.T) {
	var b bytes.Buffer
	s := &slowFirst{first: 300 * time.Millisecond, after: time.Millisecond}
	l := train.New[int64](s, 10)
	left := map[int64]time.Duration{}
	l.OnStep("estimate", 1, train.PriorityRecord, func(l *train.Loop[int64], _ int64) error {
		left[l.Step()] = l.Remaining()
		return nil
	})
	train.AttachProgress(l, train.NewTextBarTo(&b, "demo", true), 1, nil)
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\r\033[K")[1:]
	if len(lines) != 11 { // 10 updates and the final line
		t.Fatalf("%d lines: %q", len(lines), lines)
	}
	for i, line := range lines {
		step := int64(min(i+1, 10))
		unknown := strings.HasSuffix(strings.TrimSpace(line), "time left –")
		if want := step <= train.EstimateSteps; unknown != want {
			t.Errorf("step %d: %q; want an unknown time left: %v", step, line, want)
		}
		if step <= train.EstimateSteps && left[step] >= 0 {
			t.Errorf("step %d: Remaining() = %v, want negative (unknown)", step, left[step])
		}
	}
	if d := left[train.EstimateSteps+1]; d < 0 || d > 100*time.Millisecond {
		t.Errorf("time left at step %d: %v, want the speed of the steps after the first (4 × about 1 ms)", train.EstimateSteps+1, d)
	}
	if !strings.HasSuffix(strings.TrimSpace(lines[10]), "time left 0s") {
		t.Errorf("final line %q", lines[10])
	}
}

// TestTimeLeftCountsPeriods: with a Period, the steps that recur at its
// start (here 11 and 21, 100 ms each, the others 1 ms) count in the
// estimate before the loop has timed one of them. (Without them the
// estimate at step 6 of 30 would be 24 × 1 ms.)
func TestTimeLeftCountsPeriods(t *testing.T) {
	s := &slowFirst{first: 100 * time.Millisecond, after: time.Millisecond, period: 10}
	l := train.New[int64](s, 30)
	l.Period = 10
	var left time.Duration
	l.OnStep("estimate", 1, train.PriorityRecord, func(l *train.Loop[int64], _ int64) error {
		if l.Step() == train.EstimateSteps+1 {
			left = l.Remaining()
		}
		return nil
	})
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The sleeps overshoot on a busy machine: the bounds are wide, but the
	// lower one is far above the 24 ms of the steps alone.
	if left < 200*time.Millisecond || left > time.Second {
		t.Errorf("time left at step %d: %v, want about 2 × 100 ms + 24 × 1 ms", train.EstimateSteps+1, left)
	}
}

// TestTextBarFinalStatus: the bar's last line shows what the end hooks
// before it did (a final evaluation), not the status of the last step.
func TestTextBarFinalStatus(t *testing.T) {
	var b bytes.Buffer
	l := train.New[int64](&counter{}, 3)
	final := "none"
	l.OnEnd("final evaluation", train.PrioritySave, func(*train.Loop[int64], error) error {
		final = "0.9"
		return nil
	})
	train.AttachProgress(l, train.NewTextBarTo(&b, "demo", false), 1, func(r int64) string { return fmt.Sprintf("r=%d eval=%s", r, final) })
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, "3/3 r=30 eval=0.9 ") {
		t.Errorf("last line %q, want the status after the end hooks", last)
	}
}

func TestLoopEventsByPriorityAndErrors(t *testing.T) {
	l := train.New[int64](&counter{}, 0)
	var log []string
	l.OnEvent("show", train.PriorityDisplay, func(_ *train.Loop[int64], ev any) error {
		log = append(log, fmt.Sprintf("show:%v", ev))
		return nil
	})
	l.OnEvent("record", train.PriorityRecord, func(_ *train.Loop[int64], ev any) error {
		log = append(log, fmt.Sprintf("record:%v", ev))
		if ev == "bad" {
			return errors.New("cannot record")
		}
		return nil
	})
	if err := l.Emit("eval"); err != nil {
		t.Fatal(err)
	}
	err := l.Emit("bad")
	var he *train.HookError
	if !errors.As(err, &he) || he.Hook != "record" || !strings.Contains(err.Error(), "cannot record") {
		t.Fatalf("err = %v, want a HookError of \"record\"", err)
	}
	if got, want := strings.Join(log, " "), "record:eval show:eval record:bad"; got != want {
		t.Errorf("event hooks ran as %q, want %q (the failed hook stops the others)", got, want)
	}
}

func TestLoopHookErrorStopsTheLoop(t *testing.T) {
	c := &counter{}
	l := train.New[int64](c, 10)
	var ended error
	l.OnStep("writer", 1, train.PriorityDisplay, func(l *train.Loop[int64], _ int64) error {
		if l.Step() == 3 {
			return errors.New("disk full")
		}
		return nil
	})
	l.OnEnd("end", 0, func(_ *train.Loop[int64], err error) error { ended = err; return nil })
	err := l.Run(context.Background())
	var he *train.HookError
	if !errors.As(err, &he) || he.Hook != "writer" || he.Step != 3 || c.n != 3 || ended != err {
		t.Fatalf("err = %v at step %d (end hook saw %v), want the writer's error at step 3", err, c.n, ended)
	}
}

func TestLoopRemoveAndRunAgain(t *testing.T) {
	c := &counter{}
	l := train.New[int64](c, 2)
	var log []string
	hook := func(name string) {
		l.OnStep(name, 1, 0, func(l *train.Loop[int64], _ int64) error {
			log = append(log, fmt.Sprintf("%s%d", name, l.Step()))
			return nil
		})
	}
	hook("a")
	hook("b")
	// An end hook that removes hooks, itself included, while the end hooks run.
	l.OnEnd("b", 0, func(l *train.Loop[int64], _ error) error { l.Remove("b"); return nil })
	l.OnEnd("a", 1, func(l *train.Loop[int64], _ error) error { log = append(log, "end"); return nil })
	if got, want := strings.Join(l.Hooks(), " "), "step:a step:b end:b end:a"; got != want {
		t.Errorf("Hooks() = %q, want %q", got, want)
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(l.Hooks(), " "), "step:a end:a"; got != want {
		t.Errorf("after the end hook removed \"b\": %q, want %q", got, want)
	}
	l.Total = 3
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(log, " "), "a1 b1 a2 b2 end a3 end"; got != want {
		t.Errorf("hooks ran as %q, want %q", got, want)
	}
	if l.First() != 2 {
		t.Errorf("the second Run started at %d, want 2", l.First())
	}
	if n := l.Remove("a"); n != 2 || len(l.Hooks()) != 0 {
		t.Errorf("Remove(\"a\") = %d leaving %v, want 2 and none", n, l.Hooks())
	}
}
