//go:build linux

package rundir

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
)

// Failed writes are provoked for real in a child process (see TestChildProcess):
//
//   - disk full: the child lowers its file size limit (RLIMIT_FSIZE) below the
//     size of a checkpoint, so the kernel fails the write part-way with EFBIG,
//     as a full disk fails it with ENOSPC; this works for root too, and needs
//     no small file system to be mounted;
//   - read-only directory: the run directory is made 0555; root ignores
//     permissions, so when the tests run as root the child drops to the user
//     nobody (setuid 65534) after opening the run, as a user whose directory
//     was made read-only would be.
//
// Each time the error must name the file it could not write, state.ckpt must
// keep the previous checkpoint byte for byte, no temporary file may remain,
// and the run must reopen at the previous checkpoint and continue.

// prepareFailRun makes a run at dir stepped to step 2 and returns the bytes of
// its state.ckpt.
func prepareFailRun(t *testing.T, dir string) []byte {
	t.Helper()
	r, err := Create(dir, tinyConfig(), tinyEnv(t, meanPixel), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Step(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	r.Close()
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// childResult runs a child in mode and returns the error it reported.
func childResult(t *testing.T, mode, dir string, env ...string) (string, int64) {
	t.Helper()
	cmd, out := startChild(t, mode, dir, env...)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	_, after, ok := strings.Cut(out.String(), "RESULT ")
	if !ok {
		t.Fatalf("child printed no result:\n%s", out)
	}
	var res struct {
		Err  string `json:"err"`
		Step int64  `json:"step"`
	}
	line, _, _ := strings.Cut(after, "\n")
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		t.Fatal(err)
	}
	return res.Err, res.Step
}

// checkKept checks that a failed write left the previous checkpoint: same
// bytes, no temporary files, and the run reopens there and continues.
func checkKept(t *testing.T, dir string, before []byte) {
	t.Helper()
	after, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("the previous checkpoint was clobbered (%d bytes before, %d after, %v)", len(before), len(after), err)
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(tmp) > 0 {
		t.Fatalf("temporary files left behind: %v", tmp)
	}
	r, err := Open(dir, tinyEnv(t, meanPixel))
	if err != nil {
		t.Fatalf("the run does not reopen after the failed write: %v", err)
	}
	defer r.Close()
	steps, evals, err := r.History()
	if err != nil {
		t.Fatal(err)
	}
	if r.StepCount() != 2 {
		t.Fatalf("reopened at step %d, want the previous checkpoint's 2", r.StepCount())
	}
	checkHistory(t, steps, evals, 2, tinyConfig().EvalEvery)
	if err := r.Step(context.Background(), 3); err != nil {
		t.Fatalf("the run does not continue: %v", err)
	}
}

func TestDiskFullKeepsCheckpoint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	before := prepareFailRun(t, dir)
	st, err := os.Stat(filepath.Join(dir, historyFile))
	if err != nil {
		t.Fatal(err)
	}
	// Room for the history's next records, not for a whole checkpoint.
	limit := st.Size() + 4096
	if int64(len(before)) <= limit {
		t.Fatalf("the checkpoint (%d bytes) is smaller than the limit %d: the test would not fail a write", len(before), limit)
	}
	msg, step := childResult(t, "full", dir, fmt.Sprintf("%s=%d", childLimitEnv, limit))
	path := filepath.Join(dir, stateFile)
	if !strings.Contains(msg, "cannot write "+path) || !strings.Contains(msg, "file too large") {
		t.Fatalf("error %q does not name %s and the cause", msg, path)
	}
	if strings.Count(msg, "cannot write") != 1 {
		t.Fatalf("error repeats itself: %q", msg)
	}
	t.Logf("disk full at step %d: %s", step, msg)
	checkKept(t, dir, before)
}

func TestReadOnlyRunDirKeepsCheckpoint(t *testing.T) {
	// Not t.TempDir: its parents are private to root, and the child may run as nobody.
	base, err := os.MkdirTemp("", "orw-readonly-")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "run")
	t.Cleanup(func() {
		os.Chmod(dir, 0o755)
		os.RemoveAll(base)
	})
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	before := prepareFailRun(t, dir)
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	msg, step := childResult(t, "readonly", dir)
	path := filepath.Join(dir, stateFile)
	if !strings.Contains(msg, "cannot write "+path) || !strings.Contains(msg, "permission denied") {
		t.Fatalf("error %q does not name %s and the cause", msg, path)
	}
	t.Logf("read-only directory at step %d (euid %d): %s", step, os.Geteuid(), msg)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	checkKept(t, dir, before)
}

// TestFailedCreateLeavesNoHalfRun: when creating a run fails (here the reward
// fails at the first evaluation), the directory holds no half-made run, so
// that the same command with a fixed setting can use it.
func TestFailedCreateLeavesNoHalfRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	broken := orw.RewardFunc(func(*orw.Images) ([]float64, error) { return nil, fmt.Errorf("reward service down") })
	if _, err := Create(dir, tinyConfig(), tinyEnv(t, broken), nil); err == nil || !strings.Contains(err.Error(), "reward service down") {
		t.Fatalf("create with a failing reward: %v", err)
	}
	for _, f := range []string{configFile, historyFile, stateFile, poolFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Fatalf("a failed create left %s behind", f)
		}
	}
	other := tinyConfig()
	other.Tau = 1
	r, err := OpenOrCreate(dir, other, tinyEnv(t, meanPixel), nil)
	if err != nil {
		t.Fatalf("the directory cannot be reused: %v", err)
	}
	r.Close()
}
