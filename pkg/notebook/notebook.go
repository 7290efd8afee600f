// Package notebook shows orwcfm's pictures and runs inside GoNB (Jupyter)
// notebooks, and does something sensible outside them.
//
// In a notebook cell (a process started by the GoNB kernel, see
// gonbui.IsNotebook) Show displays plots, images, sample grids, animations,
// Markdown and tables inline; Progress draws a progress bar that updates in
// place (a train.Display, so that a training loop updates it); Live attaches
// to a run and redraws its reward and W2 curves, class make-up and samples
// while the cell trains it; RunTrials trains the trials of an experiment
// through package experiment (which names their directories and runs them)
// with a progress bar per trial and their curves redrawn as they train.
// Outside a notebook the same calls print a short text summary to standard
// output and write the pictures as PNG files (under OutDir), so notebook
// code also runs as a plain program and in tests.
//
// Every function of this package that displays (Show, RunTrials, Train,
// Slider) waits, before it returns, until GoNB has taken its outputs
// (gonbui.Sync), so that no output is lost when the cell's process ends; a
// cell that displays with gonbui directly needs its own
//
//	defer gonbui.Sync()
//
// Each GoNB cell is a new process: values do not carry over between cells,
// so a run lives in a directory (RunDir) that each cell opens, steps and
// closes. The notebooks run in two sizes: Quick (environment variable
// ORW_QUICK, for tests and CI) and full.
package notebook // import "github.com/orwcfm/orwcfm/pkg/notebook"

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/orwcfm/orwcfm/pkg/experiment"
	"github.com/orwcfm/orwcfm/pkg/orw"
)

// Module is the module path that RepoRoot looks for.
const Module = "github.com/orwcfm/orwcfm"

// Environment variables read by this package.
const (
	// EnvQuick selects the quick size of the notebooks when set to
	// anything but "", "0", "false" or "no".
	EnvQuick = "ORW_QUICK"
	// EnvRuns overrides RunsDir's root directory.
	EnvRuns = "ORW_NOTEBOOK_RUNS"
	// EnvOut overrides OutDir.
	EnvOut = "ORW_NOTEBOOK_OUT"
)

// Quick reports whether the notebooks run in their quick size (ORW_QUICK
// set): a few dozen steps on small batches, enough to see every cell work
// within a minute or two, rather than the full experiment.
func Quick() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(EnvQuick))) {
	case "", "0", "false", "no", "off":
		return false
	}
	return true
}

// Pick returns quick in the quick size and full otherwise.
func Pick[T any](quick, full T) T {
	if Quick() {
		return quick
	}
	return full
}

// Mode is the size of the notebooks, "quick" or "full".
func Mode() string { return Pick("quick", "full") }

// RepoRoot returns the root of the orwcfm checkout that holds the working
// directory (the first parent with a go.mod of module Module), or "" if
// there is none. GoNB runs cells in the notebook's directory, so from
// notebooks/ this is its parent.
func RepoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if isModuleRoot(filepath.Join(dir, "go.mod")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func isModuleRoot(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == Module
		}
	}
	return false
}

// base returns the repository root, or the working directory outside one.
func base() string {
	if r := RepoRoot(); r != "" {
		return r
	}
	return "."
}

// RunsDir is where the notebooks keep their runs: ORW_NOTEBOOK_RUNS if set,
// else runs/notebooks in the repository, with a subdirectory per size
// ("quick" or "full") so that the two never mix.
func RunsDir() string {
	root := os.Getenv(EnvRuns)
	if root == "" {
		root = filepath.Join(base(), "runs", "notebooks")
	}
	return filepath.Join(root, Mode())
}

// OutDir is where pictures go outside a notebook: ORW_NOTEBOOK_OUT if set,
// else out/notebook in the repository.
func OutDir() string {
	if d := os.Getenv(EnvOut); d != "" {
		return d
	}
	return filepath.Join(base(), "out", "notebook")
}

// RunDir returns the directory of a notebook's run: RunsDir()/name-HASH,
// where HASH identifies cfg and the extra strings (a task, a base model);
// see experiment.RunDir. Changing any setting therefore starts a new run in
// a new directory, while running a cell again with the same settings
// reopens, and continues, the same run. name may contain slashes to group
// runs ("02_tau_sweep/tau-0").
func RunDir(name string, cfg orw.Config, extra ...string) string {
	return experiment.RunDir(RunsDir(), name, cfg, extra...)
}

// Fresh removes the run in dir so that the next open starts over. It
// refuses to remove a directory that does not look like a run (one with
// files but no config.json); a missing directory is not an error.
func Fresh(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
			return fmt.Errorf("notebook: Fresh: %s is not a run directory (no config.json); not removing it", dir)
		}
	}
	return os.RemoveAll(dir)
}

// uniqueID returns a fresh id for an output that is updated in place. GoNB
// remembers the ids of a kernel session across cells, so an id must never
// be reused by a later cell, or its updates would land in the old cell.
func uniqueID(kind string) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return "orwcfm-" + kind + "-" + hex.EncodeToString(b[:])
}
