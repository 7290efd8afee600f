package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/experiment"
	"github.com/orwcfm/orwcfm/pkg/tbevents"
)

// tinySweep writes a sweep file of 2x2 toy runs of four steps under dir.
func tinySweep(t *testing.T, dir string) string {
	t.Helper()
	grid := filepath.Join(dir, "grid.yaml")
	text := "name: tiny\nout: " + filepath.Join(dir, "runs") + `
task: toy2d
steps: 4
seeds: [1, 2]
alpha: [0, 0.5]
batch: 16
refresh-every: 2
eval-every: 2
eval-samples: 16
w2-times: 2
checkpoint-every: 2
sample-steps: 4
`
	if err := os.WriteFile(grid, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return grid
}

func TestSweepRunAndCollect(t *testing.T) {
	dir := t.TempDir()
	grid := tinySweep(t, dir)
	sweepDir := filepath.Join(dir, "runs", "tiny")

	// One point, named by the cluster's variable.
	t.Setenv("SLURM_ARRAY_TASK_ID", "2")
	code, out, errOut := runOrw(t, "sweep", "run", grid)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "[3/4] α=0.5: starting") || strings.Contains(out, "[1/4]") {
		t.Errorf("index 2 ran:\n%s", out)
	}
	// --index wins over the variable; an index outside the grid is an error.
	t.Setenv("JOB_COMPLETION_INDEX", "0")
	code, _, errOut = runOrw(t, "sweep", "run", grid, "--index", "7")
	if code != 1 || !strings.Contains(errOut, "--index 7 is outside the sweep's 4 points (0..3)") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	t.Setenv("SLURM_ARRAY_TASK_ID", "")
	code, out, _ = runOrw(t, "sweep", "run", grid)
	if code != 0 || !strings.Contains(out, "[1/4] α=0: starting") {
		t.Errorf("JOB_COMPLETION_INDEX=0: exit %d\n%s", code, out)
	}
	t.Setenv("JOB_COMPLETION_INDEX", "")

	// The whole grid, two at a time: the two finished runs are skipped.
	code, out, errOut = runOrw(t, "sweep", "run", grid, "-j", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"4 runs in", "[3/4] α=0.5: already finished (4 steps), skipped", "[1/4] α=0: already finished", "[2/4] α=0: starting", "collected 4 runs into"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range experiment.CollectFiles {
		if _, err := os.Stat(filepath.Join(sweepDir, f)); err != nil {
			t.Errorf("sweep run did not write %s", f)
		}
	}
	table, _ := os.ReadFile(filepath.Join(sweepDir, "table.csv"))
	if n := bytes.Count(table, []byte("\n")); n != 5 {
		t.Errorf("table.csv has %d lines:\n%s", n, table)
	}
	for _, d := range mustGlob(t, filepath.Join(sweepDir, "*", "config.json")) {
		if files, _ := tbevents.Files(filepath.Dir(d)); len(files) != 1 {
			t.Errorf("%s: event files %v", filepath.Dir(d), files)
		}
	}

	// orw collect writes the same table elsewhere.
	other := filepath.Join(dir, "collected")
	code, out, errOut = runOrw(t, "collect", sweepDir, "--out", other)
	if code != 0 {
		t.Fatalf("collect: exit %d: %s", code, errOut)
	}
	again, _ := os.ReadFile(filepath.Join(other, "table.csv"))
	if !bytes.Equal(again, table) {
		t.Errorf("collect's table differs:\n%s\n%s", again, table)
	}
	if !strings.Contains(out, "α=0.5  2     4") {
		t.Errorf("collect's summary:\n%s", out)
	}

	// sweep list shows the progress of each point.
	code, out, _ = runOrw(t, "sweep", "list", grid)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 5 {
		t.Fatalf("list: exit %d\n%s", code, out)
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if steps, done := f[len(f)-3], f[len(f)-2]; steps != "4" || done != "4" {
			t.Errorf("list line %q: steps %s done %s", l, steps, done)
		}
	}

	// A run short of its record's steps is left out, or with --partial kept.
	runDir := strings.Fields(lines[2])[len(strings.Fields(lines[2]))-1]
	recPath := filepath.Join(runDir, experiment.SweepFile)
	rec, _ := os.ReadFile(recPath)
	if err := os.WriteFile(recPath, bytes.Replace(rec, []byte(`"steps": 4`), []byte(`"steps": 10`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runOrw(t, "collect", sweepDir, "--out", other)
	if code != 0 || !strings.Contains(errOut, runDir+" is unfinished, at step 4 of 10: left out (--partial includes it)") || !strings.Contains(out, "collected 3 runs") {
		t.Errorf("collect with an unfinished run: exit %d: %s%s", code, out, errOut)
	}
	code, out, errOut = runOrw(t, "collect", "--partial", sweepDir, "--out", other)
	if code != 0 || !strings.Contains(errOut, "included as it is") || !strings.Contains(out, "collected 4 runs") {
		t.Errorf("collect --partial: exit %d: %s%s", code, out, errOut)
	}
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil || len(m) == 0 {
		t.Fatalf("no %s", pattern)
	}
	return m
}

func TestSweepFlagsAndErrors(t *testing.T) {
	dir := t.TempDir()
	grid := tinySweep(t, dir)
	// Flags replace the file's settings; lists become axes.
	code, out, errOut := runOrw(t, "sweep", "list", grid, "--tau", "1,2", "--seeds", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "tau=2 alpha=0.5") || strings.Count(out, "\n") != 5 {
		t.Errorf("list with flags:\n%s", out)
	}
	// Flags alone make a sweep.
	code, out, errOut = runOrw(t, "sweep", "list", "--name", "f", "--task", "toy2d", "--alpha", "0,1", "--out", dir)
	if code != 0 || strings.Count(out, "\n") != 3 {
		t.Errorf("flags only: exit %d: %s%s", code, out, errOut)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sweep"}, 2, ""},
		{[]string{"sweep", "walk"}, 2, `unknown sub-command "walk"`},
		{[]string{"sweep", "emit", "pbs", grid}, 2, "slurm|k8s"},
		{[]string{"sweep", "run"}, 1, "no sweep: give a GRID file"},
		{[]string{"sweep", "run", grid, "other.yaml"}, 2, `unexpected argument "other.yaml"`},
		{[]string{"sweep", "run", grid, "--tau", "1,,2"}, 1, "an empty value"},
		{[]string{"sweep", "run", grid, "--tau", "fast"}, 1, `"fast" is not a number`},
		{[]string{"sweep", "run", grid, "-j", "0"}, 1, "-j must be at least 1"},
		{[]string{"sweep", "run", filepath.Join(dir, "none.yaml")}, 1, "no such file"},
		{[]string{"collect"}, 2, "give the directories"},
		{[]string{"collect", dir, grid}, 1, "--out DIR"},
		{[]string{"collect", t.TempDir()}, 1, "no runs under"},
	} {
		code, _, errOut := runOrw(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d (want %d): %s (want %q)", c.args, code, c.code, errOut, c.want)
		}
	}
}

func TestSweepEmit(t *testing.T) {
	dir := t.TempDir()
	grid := tinySweep(t, dir)
	script := filepath.Join(dir, "job.sh")
	code, _, errOut := runOrw(t, "sweep", "emit", "slurm", grid, "--orw", "/bin/orw", "--dir", dir, "--cpus", "1", "-o", script)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(script)
	if err != nil || !strings.Contains(string(b), "#SBATCH --array=0-3\n") || !strings.Contains(string(b), "exec /bin/orw sweep run -") {
		t.Errorf("script %v:\n%s", err, b)
	}
	if st, err := os.Stat(filepath.Join(dir, "runs", "tiny", "slurm-logs")); err != nil || !st.IsDir() {
		t.Errorf("no log directory: %v", err)
	}
	code, out, errOut := runOrw(t, "sweep", "emit", "k8s", grid, "--image", "me/orwcfm:cpu")
	if code != 1 || !strings.Contains(errOut, "outside the shared volume") {
		t.Errorf("k8s with an out outside the volume: exit %d %s%s", code, out, errOut)
	}
	code, out, errOut = runOrw(t, "sweep", "emit", "k8s", grid, "--out", "runs/sweeps", "--image", "me/orwcfm:cpu")
	if code != 0 || !strings.Contains(out, "image: me/orwcfm:cpu") || !strings.Contains(out, "completionMode: Indexed") {
		t.Errorf("k8s: exit %d: %s%s", code, out, errOut)
	}
}
