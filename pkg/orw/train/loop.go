// Package train is the one training loop of the project: pretraining (flows,
// autoencoders, classifiers) and fine-tuning run through the same Loop, which
// steps a Stepper and calls named hooks after each step and at the end, in the
// manner of GoMLX's train.Loop. Checkpoints, history files, evaluations and
// progress bars (terminal and notebook) are hooks.
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

	steps []stepHook[R]
	ends  []endHook[R]
	start time.Time
	first int64
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
// order they were attached.
func (l *Loop[R]) OnStep(name string, every int64, priority int, fn Hook[R]) {
	l.steps = append(l.steps, stepHook[R]{name: name, every: max(every, 1), priority: priority, fn: fn})
	slices.SortStableFunc(l.steps, func(a, b stepHook[R]) int { return a.priority - b.priority })
}

// OnEnd attaches fn, called once when Run returns, whatever the outcome.
func (l *Loop[R]) OnEnd(name string, priority int, fn EndHook[R]) {
	l.ends = append(l.ends, endHook[R]{name: name, priority: priority, fn: fn})
	slices.SortStableFunc(l.ends, func(a, b endHook[R]) int { return a.priority - b.priority })
}

// Step is the stepper's step count.
func (l *Loop[R]) Step() int64 { return l.Stepper.StepCount() }

// Elapsed is the wall time since Run started.
func (l *Loop[R]) Elapsed() time.Duration { return time.Since(l.start) }

// Remaining estimates the time to reach Total from the speed of this Run.
func (l *Loop[R]) Remaining() time.Duration {
	done := l.Step() - l.first
	if done <= 0 {
		return 0
	}
	return time.Duration(float64(l.Elapsed()) / float64(done) * float64(l.Total-l.Step()))
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
// hooks run in every case.
func (l *Loop[R]) Run(ctx context.Context) (err error) {
	l.start, l.first = time.Now(), l.Step()
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

func callEnd[R any](l *Loop[R], h endHook[R], runErr error) (err error) {
	defer Recover(&err)
	return h.fn(l, runErr)
}

func joinErr(a, b error) error { return errors.Join(a, b) }
