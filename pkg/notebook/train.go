package notebook

import (
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
	"github.com/orwcfm/orwcfm/pkg/tasks"
)

// OpenTrial opens the run of trial t of experiment group, in its directory
// TrialDir(group, t), creating it the first time. Close it when done: a
// run is locked while it is open.
func OpenTrial(group string, t Trial) (*rundir.Run, error) {
	backend, err := backends.Default()
	if err != nil {
		return nil, err
	}
	return tasks.OpenOrCreateRunWith(backend, TrialDir(group, t), t.TaskName(), t.Options, t.Config)
}

// Train trains the run of trial t of experiment group for steps more steps
// (creating the run the first time) while a live view shows it: a progress
// bar, and the dashboard of Live redrawn three times over the cell and at
// every evaluation. It closes the run when done, so that each training cell
// of a notebook is the one line
//
//	must.M(notebook.Train(group, trial, steps))
//
// and running the cell again continues the run. An interrupt stops the run
// after its current step, saved.
func Train(group string, t Trial, steps int) error {
	d := Default()
	defer d.sync()
	run, err := OpenTrial(group, t)
	if err != nil {
		return err
	}
	live := d.Live(run, max(steps/3, 1))
	err = live.Step(steps)
	return firstErr(err, live.Close(), run.Close())
}

// firstErr returns the first of errs that is not nil.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
