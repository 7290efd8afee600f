package notebook

import (
	"os"
	"path/filepath"

	"github.com/orwcfm/orwcfm/pkg/experiment/paper"
)

// EnvReproduceRuns names the environment variable that moves the run
// directories of the paper's experiments (see PaperTrials).
const EnvReproduceRuns = "ORW_REPRODUCE_RUNS"

// reproduceRunsDir is where the paper's experiments keep their runs:
// ORW_REPRODUCE_RUNS if set, else `orw reproduce`'s own default in the
// repository (runs/reproduce, or runs/reproduce-quick in the quick size).
func reproduceRunsDir() string {
	if d := os.Getenv(EnvReproduceRuns); d != "" {
		return d
	}
	return filepath.Join(base(), paper.DefaultRunsDir(paper.Size{Quick: Quick()}))
}

// PaperTrials returns the runs of the paper's experiment name (`orw
// reproduce NAME`, package paper) at the notebook's size as trials, seeds
// 1..seeds of each setting, named by the settings' labels, and their number
// of steps. Their run directories are the command's (EnvReproduceRuns, else
// its default), so
// RunTrials reads the runs that `orw reproduce` trained (and trains those it
// did not, which the command then reads): a notebook and the command show
// the same runs.
func PaperTrials(name string, seeds int) ([]Trial, int64, error) {
	e, err := paper.Lookup(name)
	if err != nil {
		return nil, 0, err
	}
	return e.Trials(paper.Size{Quick: Quick()}, seeds, reproduceRunsDir())
}
