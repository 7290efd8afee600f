//go:build soak && linux

package rundir

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"
)

// The soak test is not part of the default test run:
//
//	go test -tags soak -run Soak -v -timeout 30m ./pkg/orw/
//
// ORW_SOAK_STEPS sets the number of steps (default 2400).

// vmRSS reads the resident set size of this process in KiB.
func vmRSS(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			n, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// openFiles counts this process's file descriptors.
func openFiles(t *testing.T) int {
	e, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(e)
}

// TestSoak runs a tiny fine-tuning configuration for thousands of steps, in
// sessions of 200 steps with the run closed and reopened between them (as
// notebook cells and resumed jobs do), with an evaluation every 25 steps and a
// checkpoint every 50. After a warm-up of 400 steps it samples RSS (after a GC)
// and the number of open files every 200 steps, and fails if RSS grows by more
// than 10% + 8 MiB over the warm-up level, if any file descriptor leaks or if
// the goroutines grow by more than 4.
func TestSoak(t *testing.T) {
	total := int64(2400)
	if s := os.Getenv("ORW_SOAK_STEPS"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 600 {
			t.Fatalf("ORW_SOAK_STEPS=%q: want a number >= 600", s)
		}
		total = n
	}
	const session, warmup = 200, 400
	cfg := tinyConfig()
	cfg.EvalEvery = 25
	cfg.CheckpointEvery = 50
	dir := filepath.Join(t.TempDir(), "soak")
	env := tinyEnv(t, meanPixel)
	r, err := Create(dir, cfg, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ms runtime.MemStats
	sample := func() (int64, int) {
		runtime.GC()
		debug.FreeOSMemory()
		runtime.ReadMemStats(&ms)
		return vmRSS(t), openFiles(t)
	}
	rss0, fd0 := sample()
	t.Logf("start: RSS %d KiB, %d open files", rss0, fd0)
	var baseRSS int64
	var baseFD, baseG int
	var peakRSS int64
	t0 := time.Now()
	ctx := context.Background()
	for r.StepCount() < total {
		ts := time.Now()
		if err := r.Step(ctx, session); err != nil {
			t.Fatal(err)
		}
		step := r.StepCount()
		// Notebook style: close the run, reopen it, read its history.
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if r, err = Open(dir, env); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.History(); err != nil {
			t.Fatal(err)
		}
		rss, fd := sample()
		g := runtime.NumGoroutine()
		t.Logf("step %5d: RSS %6d KiB (Go heap %5d KiB), %d open files, %d goroutines, %.2f ms/step in this session",
			step, rss, ms.HeapAlloc>>10, fd, g, float64(time.Since(ts).Microseconds())/1000/session)
		switch {
		case step == warmup:
			baseRSS, baseFD, baseG = rss, fd, g
		case step > warmup:
			peakRSS = max(peakRSS, rss)
			if limit := baseRSS + baseRSS/10 + 8<<10; rss > limit {
				t.Errorf("step %d: RSS %d KiB exceeds the tolerance %d KiB (warm-up level %d KiB + 10%% + 8 MiB)", step, rss, limit, baseRSS)
			}
			if fd != baseFD {
				t.Errorf("step %d: %d open files, %d after warm-up: descriptors leak", step, fd, baseFD)
			}
			if g > baseG+4 {
				t.Errorf("step %d: %d goroutines, %d after warm-up: goroutines leak", step, g, baseG)
			}
		}
	}
	r.Close()
	steps, evals, err := ReadHistory(filepath.Join(dir, historyFile), -1)
	if err != nil {
		t.Fatal(err)
	}
	checkHistory(t, steps, evals, total, cfg.EvalEvery)
	rss, fd := sample()
	t.Logf("end: %d steps in %v; RSS %d KiB (warm-up %d KiB, peak after warm-up %d KiB), %d open files (warm-up %d)",
		total, time.Since(t0).Round(time.Second), rss, baseRSS, peakRSS, fd, baseFD)
}
