// Package train is the one training loop of the project: pretraining (flows,
// autoencoders, classifiers) and fine-tuning run through the same Loop, which
// steps a Stepper and calls named hooks after each step, at events its owner
// emits (an evaluation) and at the end, in the manner of GoMLX's train.Loop.
// Checkpoints, history files, evaluations, event files and progress bars
// (terminal and notebook) are hooks: the owner of a loop (package rundir)
// registers its own, and its callers add theirs to the same loop.
//
// A step that fails leaves the Stepper as it was before the step (that is the
// Stepper's contract); a panic inside a step or a hook becomes an error of that
// step, naming the hook, instead of ending the process.
package train

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"time"
)

// Stepper is what a Loop trains. Step performs one update and returns its
// record (a fine-tuning StepRecord, a pretraining loss...); when it returns an
// error, the Stepper must be as it was before the call. StepCount is the number
// of updates done so far.
type Stepper[R any] interface {
	Step() (R, error)
	StepCount() int64
}

// Hook is called after a step with the loop and the step's record.
type Hook[R any] func(l *Loop[R], rec R) error

// EndHook is called once when Run returns, with the error Run is about to
// return (nil when the loop reached its total); its own error is joined to it.
type EndHook[R any] func(l *Loop[R], err error) error

type stepHook[R any] struct {
	name     string
	every    int64
	priority int
	fn       Hook[R]
}

// EventHook is called with each event that the loop's owner emits (see
// Emit): package rundir emits its evaluations as rundir.Eval values.
type EventHook[R any] func(l *Loop[R], ev any) error

type eventHook[R any] struct {
	name     string
	priority int
	fn       EventHook[R]
}

type endHook[R any] struct {
	name     string
	priority int
	fn       EndHook[R]
}

// Loop steps a Stepper until its step count reaches Total.
type Loop[R any] struct {
	// Stepper is the model being trained.
	Stepper Stepper[R]
	// Total is the step count Run stops at (a resumed stepper continues to it).
	Total int64
	// Period, when above 0, is how often a costly step recurs: the step
	// whose count is 1 more than a multiple of Period (an online trainer
	// draws a whole refresh period's samples at its first step). Until a
	// Run has timed a whole period, Remaining adds the first step's time
	// for each such step left.
	Period int64

	steps  []stepHook[R]
	events []eventHook[R]
	ends   []endHook[R]
	start  time.Time
	first  int64
	// warm is when the first step of Run ended: the speed is measured
	// from there, without the first step's compilation; firstCost is that
	// step's time.
	warm      time.Time
	firstCost time.Duration
}

// New returns a loop that steps s until its step count reaches total.
func New[R any](s Stepper[R], total int64) *Loop[R] {
	return &Loop[R]{Stepper: s, Total: total}
}

// Priorities order hooks that run at the same step: lower runs first. Hooks
// that record the step (history) run before those that save it (checkpoints),
// and those before the ones that only show it (progress bars, live plots).
const (
	PriorityRecord  = -100
	PrioritySave    = 0
	PriorityDisplay = 100
)

// OnStep attaches fn, called after every step whose count is a multiple of
// every (every <= 1: after each step). Hooks run by priority, then in the
// order they were attached. Hooks may be attached and removed by hooks; the
// change counts from the next step (or event, or end).
func (l *Loop[R]) OnStep(name string, every int64, priority int, fn Hook[R]) {
	l.steps = append(slices.Clip(l.steps), stepHook[R]{name: name, every: max(every, 1), priority: priority, fn: fn})
	slices.SortStableFunc(l.steps, func(a, b stepHook[R]) int { return a.priority - b.priority })
}

// OnEnd attaches fn, called when Run returns (each time), whatever the outcome.
func (l *Loop[R]) OnEnd(name string, priority int, fn EndHook[R]) {
	l.ends = append(slices.Clip(l.ends), endHook[R]{name: name, priority: priority, fn: fn})
	slices.SortStableFunc(l.ends, func(a, b endHook[R]) int { return a.priority - b.priority })
}

// OnEvent attaches fn, called with every event emitted on the loop (Emit),
// by priority, then in the order attached.
func (l *Loop[R]) OnEvent(name string, priority int, fn EventHook[R]) {
	l.events = append(slices.Clip(l.events), eventHook[R]{name: name, priority: priority, fn: fn})
	slices.SortStableFunc(l.events, func(a, b eventHook[R]) int { return a.priority - b.priority })
}

// Emit calls the event hooks with ev, in order, and stops at the first that
// fails: its error (or panic) is returned as a *HookError naming it. A loop
// need not be running to emit (an evaluation between two runs of the loop).
func (l *Loop[R]) Emit(ev any) error {
	for _, h := range l.events {
		if err := callEvent(l, h, ev); err != nil {
			return &HookError{Hook: h.name, Step: l.Step(), Err: err}
		}
	}
	return nil
}

// Remove detaches every hook named name (step, event and end hooks) and
// returns how many there were.
func (l *Loop[R]) Remove(name string) int {
	n := len(l.steps) + len(l.events) + len(l.ends)
	// New slices, not edits in place: a hook may remove hooks while Run or
	// Emit goes through the old ones.
	l.steps = slices.DeleteFunc(slices.Clone(l.steps), func(h stepHook[R]) bool { return h.name == name })
	l.events = slices.DeleteFunc(slices.Clone(l.events), func(h eventHook[R]) bool { return h.name == name })
	l.ends = slices.DeleteFunc(slices.Clone(l.ends), func(h endHook[R]) bool { return h.name == name })
	return n - len(l.steps) - len(l.events) - len(l.ends)
}

// Hooks lists the names of the attached hooks in the order they run:
// step hooks, then event hooks, then end hooks, each prefixed by its kind
// ("step:", "event:", "end:").
func (l *Loop[R]) Hooks() []string {
	var names []string
	for _, h := range l.steps {
		names = append(names, "step:"+h.name)
	}
	for _, h := range l.events {
		names = append(names, "event:"+h.name)
	}
	for _, h := range l.ends {
		names = append(names, "end:"+h.name)
	}
	return names
}

// Step is the stepper's step count.
func (l *Loop[R]) Step() int64 { return l.Stepper.StepCount() }

// Elapsed is the wall time since Run started.
func (l *Loop[R]) Elapsed() time.Duration { return time.Since(l.start) }

// The time left is estimated once EstimateSteps steps of a Run have
// followed its first, or EstimateAfter has passed since the first ended
// (slow steps): the first step compiles the step's graphs, which can take
// many times longer than a step, so the speed is measured after it.
const (
	EstimateSteps = 5
	EstimateAfter = 3 * time.Second
)

// Remaining estimates the time to reach Total from the speed of this Run
// since its first step ended, and, while the Run has not timed a whole
// Period, the first step's time for each costly step left (Period). It is
// negative, unknown, until the estimate can be trusted (EstimateSteps,
// EstimateAfter), and 0 at Total.
func (l *Loop[R]) Remaining() time.Duration {
	step := l.Step()
	left := l.Total - step
	if left <= 0 {
		return 0
	}
	timed := step - l.first - 1 // steps since the first ended
	since := time.Since(l.warm)
	if l.warm.IsZero() || timed < 1 || (timed < EstimateSteps && since < EstimateAfter) {
		return -1
	}
	d := time.Duration(float64(since) / float64(timed) * float64(left))
	if p := l.Period; p > 0 && timed < p {
		costly := (l.Total-1)/p - (step-1)/p // steps 1 + k·Period in (step, Total]
		d += time.Duration(costly) * l.firstCost
	}
	return d
}

// First is the step count at which Run started (above 0 for a resumed run).
func (l *Loop[R]) First() int64 { return l.first }

// HookError is the error of a hook (or of a panic inside one).
type HookError struct {
	Hook string
	Step int64
	Err  error
}

func (e *HookError) Error() string { return fmt.Sprintf("step %d: %s: %v", e.Step, e.Hook, e.Err) }
func (e *HookError) Unwrap() error { return e.Err }

// Panic is a panic recovered inside a step or a hook, with its stack.
type Panic struct {
	Value any
	Stack []byte
}

func (p *Panic) Error() string { return fmt.Sprintf("panic: %v", p.Value) }

// Recover turns a panic into an error: call it deferred with a pointer to the
// function's error result.
func Recover(err *error) {
	if p := recover(); p != nil {
		*err = &Panic{Value: p, Stack: debug.Stack()}
	}
}

// Run steps until Total, or until ctx is cancelled (it then stops after the
// current step and returns ctx.Err()), a step fails, or a hook fails. The end
// hooks run in every case, each with the error so far (Run's, joined with
// the errors of the end hooks before it). A loop can be run again (to a
// greater Total): its hooks stay attached.
func (l *Loop[R]) Run(ctx context.Context) (err error) {
	l.start, l.first, l.warm = time.Now(), l.Step(), time.Time{}
	defer func() {
		for _, h := range l.ends {
			if herr := callEnd(l, h, err); herr != nil {
				err = joinErr(err, &HookError{Hook: h.name, Step: l.Step(), Err: herr})
			}
		}
	}()
	for l.Step() < l.Total {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := l.step()
		if err != nil {
			return err
		}
		n := l.Step()
		if n == l.first+1 {
			l.warm = time.Now()
			l.firstCost = l.warm.Sub(l.start)
		}
		for _, h := range l.steps {
			if n%h.every != 0 {
				continue
			}
			if err := callStep(l, h, rec); err != nil {
				return &HookError{Hook: h.name, Step: n, Err: err}
			}
		}
	}
	return nil
}

func (l *Loop[R]) step() (rec R, err error) {
	defer Recover(&err)
	return l.Stepper.Step()
}

func callStep[R any](l *Loop[R], h stepHook[R], rec R) (err error) {
	defer Recover(&err)
	return h.fn(l, rec)
}

func callEvent[R any](l *Loop[R], h eventHook[R], ev any) (err error) {
	defer Recover(&err)
	return h.fn(l, ev)
}

func callEnd[R any](l *Loop[R], h endHook[R], runErr error) (err error) {
	defer Recover(&err)
	return h.fn(l, runErr)
}

func joinErr(a, b error) error { return errors.Join(a, b) }
