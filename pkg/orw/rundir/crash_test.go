//go:build unix

package rundir

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/ckpt"
	"github.com/orwcfm/orwcfm/pkg/orw/internal/testhooks"
)

// The tests in this file run fine-tuning in child processes (this test binary,
// re-executed with ORW_TEST_CHILD set) so that they can be killed for real.

const (
	childModeEnv = "ORW_TEST_CHILD"
	childDirEnv  = "ORW_TEST_DIR"
	// childStallEnv ("written:3") makes the child stop inside its 3rd atomic
	// write of state.ckpt at that stage, announce it and wait to be killed.
	childStallEnv = "ORW_TEST_STALL"
	// childLimitEnv is the file size limit (RLIMIT_FSIZE) of the "full" child.
	childLimitEnv = "ORW_TEST_FSIZE"
	// childStepsEnv is the step count the "finetune" child runs to (default: no end).
	childStepsEnv = "ORW_TEST_STEPS"
	stallMarker   = "stalled"
)

// crashConfig checkpoints after every step, so that a random kill often lands
// in a checkpoint write.
func crashConfig() orw.Config {
	c := tinyConfig()
	c.CheckpointEvery = 1
	c.EvalEvery = 5
	return c
}

// TestChildProcess is not a test of its own: it is the body of the child
// processes that the crash, lock and disk tests start, and it returns at once
// when the binary was not started as such a child.
func TestChildProcess(t *testing.T) {
	mode, dir := os.Getenv(childModeEnv), os.Getenv(childDirEnv)
	if mode == "" {
		return
	}
	ctx := context.Background()
	switch mode {
	case "finetune":
		if spec := os.Getenv(childStallEnv); spec != "" {
			stage, nth, _ := strings.Cut(spec, ":")
			n, _ := strconv.Atoi(nth)
			count := 0
			testhooks.AtomicWrite = func(s, path string) {
				if s != stage || filepath.Base(path) != stateFile {
					return
				}
				if count++; count == n {
					os.WriteFile(filepath.Join(filepath.Dir(dir), stallMarker), nil, 0o644)
					time.Sleep(time.Hour) // wait for SIGKILL
				}
			}
		}
		r, err := OpenOrCreate(dir, crashConfig(), tinyEnv(t, meanPixel), nil)
		if err != nil {
			t.Fatal(err)
		}
		total := int64(1 << 40)
		if n, err := strconv.ParseInt(os.Getenv(childStepsEnv), 10, 64); err == nil {
			total = n
		}
		if err := r.StepTo(ctx, total); err != nil {
			t.Fatal(err)
		}
		r.Close()
	case "lock":
		r, err := Open(dir, tinyEnv(t, meanPixel))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		os.WriteFile(filepath.Join(filepath.Dir(dir), stallMarker), nil, 0o644)
		time.Sleep(time.Hour) // hold the lock until killed
	case "full", "readonly":
		r, err := Open(dir, tinyEnv(t, meanPixel))
		if err != nil {
			t.Fatal(err)
		}
		if mode == "full" {
			limit, _ := strconv.ParseUint(os.Getenv(childLimitEnv), 10, 64)
			// Writes past the limit fail with EFBIG, as on a full disk; the Go
			// runtime ignores SIGXFSZ, so the write returns the error.
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
				t.Fatal(err)
			}
		} else if os.Geteuid() == 0 {
			// Root ignores permissions: become nobody (the parent gave the run's
			// files to nobody and made the directory read-only).
			if err := syscall.Setgid(65534); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Setuid(65534); err != nil {
				t.Fatal(err)
			}
		}
		err = r.Step(ctx, 4)
		res, _ := json.Marshal(map[string]any{"err": fmt.Sprint(err), "step": r.StepCount()})
		fmt.Printf("RESULT %s\n", res)
	default:
		t.Fatalf("unknown child mode %q", mode)
	}
}

// startChild starts this test binary as a child in mode on dir.
func startChild(t *testing.T, mode, dir string, env ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildProcess$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childModeEnv+"="+mode, childDirEnv+"="+dir)
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out
}

// waitFile waits until path exists, or the child exits, or 30 s pass.
func waitFile(t *testing.T, path string, cmd *exec.Cmd, out *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	t.Fatalf("the child never reached the stall point:\n%s", out)
}

// checkpointStep reads the step of the run's state.ckpt (-1 if there is none).
func checkpointStep(t *testing.T, dir string) int64 {
	t.Helper()
	path := filepath.Join(dir, stateFile)
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return -1
	}
	c, err := ckpt.Read(path)
	if err != nil {
		t.Fatalf("after a kill the checkpoint is unreadable: %v", err)
	}
	var meta runMeta
	if err := json.Unmarshal(c.Meta, &meta); err != nil {
		t.Fatal(err)
	}
	return meta.Step
}

// checkHistory checks that a run's history holds steps 1..step, each once and
// in order, and evaluations at 0, E, 2E, ... ≤ step.
func checkHistory(t *testing.T, steps []orw.StepRecord, evals []orw.EvalRecord, step int64, evalEvery int) {
	t.Helper()
	if int64(len(steps)) != step {
		t.Fatalf("history holds %d steps, the checkpoint is at step %d", len(steps), step)
	}
	for i, s := range steps {
		if s.Step != int64(i+1) {
			t.Fatalf("history record %d is step %d: steps are duplicated or missing", i, s.Step)
		}
	}
	if want := int(step)/evalEvery + 1; len(evals) != want {
		t.Fatalf("history holds %d evaluations at step %d, want %d", len(evals), step, want)
	}
	for i, e := range evals {
		if e.Step != int64(i*evalEvery) {
			t.Fatalf("evaluation %d is at step %d, want %d", i, e.Step, i*evalEvery)
		}
	}
}

// TestCrashKillResume kills a fine-tuning process with SIGKILL many times (at
// random moments, and inside checkpoint writes: after the temporary file is
// written and after it is renamed), checks after each kill that the run opens,
// resumes from its last complete checkpoint and has a consistent history, then
// lets the run finish and compares it with an uninterrupted run.
func TestCrashKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("kills 21 child processes; skipped with -short")
	}
	const kills = 21
	rng := rand.New(rand.NewPCG(7, 11)) // seeded: the same kill schedule every time
	base := t.TempDir()
	dir := filepath.Join(base, "run")
	cfg := crashConfig()
	last := int64(-1)
	stalls, random := 0, 0
	for k := range kills {
		os.Remove(filepath.Join(base, stallMarker))
		var env []string
		stage := ""
		if k%3 == 2 { // every third kill lands inside a write of state.ckpt
			stage = []string{"written", "renamed"}[stalls%2]
			env = append(env, fmt.Sprintf("%s=%s:%d", childStallEnv, stage, 1+rng.IntN(4)))
			stalls++
		}
		cmd, out := startChild(t, "finetune", dir, env...)
		if len(env) > 0 {
			waitFile(t, filepath.Join(base, stallMarker), cmd, out)
		} else {
			time.Sleep(time.Duration(30+rng.IntN(450)) * time.Millisecond)
			random++
		}
		cmd.Process.Signal(syscall.SIGKILL)
		werr := cmd.Wait()
		if werr == nil {
			t.Fatalf("kill %d: the child finished before it was killed:\n%s", k, out)
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("kill %d: the child failed on its own (%v):\n%s", k, werr, out)
		}
		step := checkpointStep(t, dir)
		if step < last {
			t.Fatalf("kill %d: the checkpoint went back from step %d to %d", k, last, step)
		}
		last = step
		if step < 0 {
			t.Logf("kill %d: before the first checkpoint", k)
			continue
		}
		if tmp, _ := filepath.Glob(filepath.Join(dir, "."+stateFile+".tmp-*")); stage == "written" && len(tmp) != 1 {
			t.Fatalf("kill %d: killed inside a write, yet %d temporary files", k, len(tmp))
		}
		// The directory opens (the dead process's lock does not block), resumes
		// from the checkpoint and its history matches it.
		r, err := Open(dir, tinyEnv(t, meanPixel))
		if err != nil {
			t.Fatalf("kill %d: the run does not open: %v", k, err)
		}
		if r.StepCount() != step {
			t.Fatalf("kill %d: resumed at step %d, the checkpoint is at %d", k, r.StepCount(), step)
		}
		steps, evals, err := r.History()
		if err != nil {
			t.Fatalf("kill %d: %v", k, err)
		}
		checkHistory(t, steps, evals, step, cfg.EvalEvery)
		// Opening cut the records written after the checkpoint and the
		// temporary files of an interrupted write.
		fs, fe, err := ReadHistory(filepath.Join(dir, historyFile), -1)
		if err != nil || len(fs) != len(steps) || len(fe) != len(evals) {
			t.Fatalf("kill %d: history file not trimmed to the checkpoint: %d steps, %v", k, len(fs), err)
		}
		if tmp, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(tmp) > 0 {
			t.Fatalf("kill %d: temporary files left after opening: %v", k, tmp)
		}
		r.Close()
		if stage == "" {
			stage = "random moment"
		} else {
			stage = "checkpoint write, " + stage
		}
		t.Logf("kill %d (%s): checkpoint at step %d", k, stage, step)
	}
	if last < 5 {
		t.Fatalf("the killed sessions made almost no progress (last checkpoint at step %d): the kills come too early", last)
	}
	// The run finishes a few steps later, and equals an uninterrupted one.
	total := last + 3
	cmd, out := startChild(t, "finetune", dir, fmt.Sprintf("%s=%d", childStepsEnv, total))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the final session failed: %v\n%s", err, out)
	}
	steps, evals, err := ReadHistory(filepath.Join(dir, historyFile), -1)
	if err != nil {
		t.Fatal(err)
	}
	checkHistory(t, steps, evals, total, cfg.EvalEvery)
	ref, err := Create(filepath.Join(base, "ref"), cfg, tinyEnv(t, meanPixel), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	if err := ref.StepTo(context.Background(), total); err != nil {
		t.Fatal(err)
	}
	rs, re, _ := ref.History()
	if !equalJSON(comparableSteps(rs), comparableSteps(steps)) || !equalJSON(comparableEvals(re), comparableEvals(evals)) {
		t.Fatal("the killed and resumed run's history differs from an uninterrupted run's")
	}
	t.Logf("%d kills (%d at random moments, %d inside checkpoint writes); the run finished at step %d with the uninterrupted history", kills, random, stalls, total)
}

// TestStaleLockAfterKill: a process holding a run is refused to others; once it
// is killed, the run opens at once (flock dies with its process).
func TestStaleLockAfterKill(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "run")
	r, err := Create(dir, tinyConfig(), tinyEnv(t, meanPixel), nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	cmd, out := startChild(t, "lock", dir)
	waitFile(t, filepath.Join(base, stallMarker), cmd, out)
	_, err = Open(dir, tinyEnv(t, meanPixel))
	want := fmt.Sprintf("in use by process %d", cmd.Process.Pid)
	if err == nil || !strings.Contains(err.Error(), want) {
		cmd.Process.Kill()
		t.Fatalf("open while the child holds the run: %v, want %q", err, want)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	// The .lock file is still there, with the dead process's pid in it.
	if b, err := os.ReadFile(filepath.Join(dir, ".lock")); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(cmd.Process.Pid) {
		t.Fatalf(".lock after the kill: %q, %v", b, err)
	}
	t0 := time.Now()
	r, err = Open(dir, tinyEnv(t, meanPixel))
	if err != nil {
		t.Fatalf("the killed process's lock blocks the run: %v", err)
	}
	r.Close()
	if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("opening after the kill took %v", d)
	}
}
