package experiment

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/orwcfm/orwcfm/pkg/internal/parallel"
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
)

// Grid is a set of runs executed together, Workers at a time.
type Grid struct {
	// Runs are the runs, in the order of the table's rows. Each needs a
	// directory of its own.
	Runs []Run
	// Workers is the number of runs trained at once (1 when below 1).
	// Runs share the compute backend; each worker holds one run's model
	// and buffers.
	Workers int
	// Options apply to every run; with several workers their hooks are
	// called from several goroutines at once.
	Options
}

// Error is the error of one run of a grid.
type Error struct {
	// Run is the run that failed.
	Run Run
	// Step is the step count the run reached (0 if it was never opened).
	Step int64
	// Err is what went wrong; context.Canceled for an interrupted run, which
	// was saved at Step.
	Err error
}

// Error names the run and says what went wrong.
func (e *Error) Error() string { return fmt.Sprintf("run %q (%s): %v", e.Run.Name, e.Run.Dir, e.Err) }

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// Execute executes the grid's runs, Workers at a time, in the order of
// Runs, and returns the results of those that completed (reached their
// steps, or had before and were only read), in that order.
//
// After a run fails no further run starts; the runs under way continue, and
// the error joins one *Error per failed run. When ctx is cancelled the runs
// under way stop after their current step, saved (their *Error wraps
// context.Canceled), no further run starts, and the error says so.
// Executing the grid again resumes it: completed runs are only read,
// interrupted ones continue.
func (g Grid) Execute(ctx context.Context) (*Table, error) {
	if len(g.Runs) == 0 {
		return nil, errors.New("experiment: a grid without runs")
	}
	seen := map[string]int{}
	for i, r := range g.Runs {
		if j, dup := seen[r.Dir]; dup {
			return nil, fmt.Errorf("experiment: runs %d (%q) and %d (%q) share the directory %s", j, g.Runs[j].Name, i, r.Name, r.Dir)
		}
		seen[r.Dir] = i
	}
	opts := g.Options
	if opts.Backend == nil {
		be, err := backends.Default()
		if err != nil {
			return nil, err
		}
		opts.Backend = be
	}
	results := make([]*Result, len(g.Runs))
	errs := make([]error, len(g.Runs))
	// After a failure, or once ctx is done, no further run starts.
	err := parallel.For(len(g.Runs), max(g.Workers, 1), func(i int) error {
		if ctx.Err() != nil {
			return nil
		}
		r := g.Runs[i]
		res, err := r.Execute(ctx, opts)
		if err != nil {
			errs[i] = &Error{Run: r, Step: res.Steps, Err: err}
			return errs[i]
		}
		results[i] = &res
		return nil
	})
	if err != nil && !slices.Contains(errs, err) {
		errs = append(errs, err) // a panic
	}
	t := &Table{}
	for _, r := range results {
		if r != nil {
			t.Rows = append(t.Rows, *r)
		}
	}
	err = errors.Join(errs...)
	if err == nil && ctx.Err() != nil && len(t.Rows) < len(g.Runs) {
		err = fmt.Errorf("experiment: interrupted after %d of %d runs: %w", len(t.Rows), len(g.Runs), ctx.Err())
	}
	return t, err
}
