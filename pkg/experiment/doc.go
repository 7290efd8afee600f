// Package experiment is the experiment layer: it turns settings into runs
// on disk, trains them, and gathers their results.
//
// A Trial is one setting: a task (package tasks) with its options and a
// fine-tuning configuration (orw.Config, whose Seed is the run's seed).
// Trials that share a Name are seeds of one setting (see Seeds). A Run is
// a trial with its run directory and the number of steps to train it to;
// TrialDir and RunDir name directories so that the same settings always
// find the same directory again, and other settings get another one.
//
// Run.Execute trains one run: it opens (or creates) the run directory,
// steps it to its total and closes it. Runs are resumable: a run that was
// interrupted continues from its last checkpoint, and a run that has
// already reached its total is not opened at all, only read. A Grid
// executes many runs with N workers and collects one Result per run into
// a Table, which writes itself as CSV or JSON. A Result is a run's
// RunSetting, seed and Outcome: where the run ended (its last evaluation's
// metrics and its wall time), the one record of a run's end that orw
// finetune --json and the results files of orw reproduce embed too, so
// that a new metric is a field of Outcome.
//
// A Sweep is a grid of runs read from a YAML or JSON file or built from
// flags (orw sweep): its points are Runs, executed together as a Grid or
// one at a time by index, as cluster engines do (package cluster writes
// their job files). Collect gathers run directories, finished or under
// way, into a Table, and WriteCollected writes it with the trade-off plots.
// With Options.TensorBoard each run also writes TensorBoard event files
// (package tbevents).
//
// The layer shows nothing itself: Hooks.Start hands callers each open run,
// and they register their hooks (progress bars, live plots, sample grids)
// on its training loop (rundir.Run.Loop), as orw finetune and the
// notebooks' trials (package notebook) do; the event files are hooks on
// the same loop.
//
// Layering: commands and notebooks call this package; it calls package
// tasks (environments, rewards, base models), package vis/runplot (run
// histories) and package orw and its sub-packages (run directories).
package experiment // import "github.com/orwcfm/orwcfm/pkg/experiment"
