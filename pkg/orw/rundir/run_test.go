package rundir

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/internal/orwtest"
)

// meanPixel is the black-box reward of the run tests.
var meanPixel = orw.MeanPixel

var (
	tinyConfig = orwtest.TinyConfig
	tinyEnv    = orwtest.TinyEnv
)

// comparable strips the wall-clock fields of step records.
func comparableSteps(s []orw.StepRecord) []orw.StepRecord {
	out := make([]orw.StepRecord, len(s))
	for i, r := range s {
		r.SampleMS, r.TrainMS = 0, 0
		out[i] = r
	}
	return out
}

func comparableEvals(e []orw.EvalRecord) []orw.EvalRecord {
	out := make([]orw.EvalRecord, len(e))
	for i, r := range e {
		r.EvalMS = 0
		out[i] = r
	}
	return out
}

// TestResumeEqualsUninterrupted steps one run 11 times in one go and another in
// three sessions (close and reopen between them, as notebook cells do): history
// and weights must be identical.
func TestResumeEqualsUninterrupted(t *testing.T) {
	for _, method := range orw.Methods {
		t.Run(string(method), func(t *testing.T) {
			cfg := tinyConfig()
			cfg.Method = method
			cfg.StepsPerBatch = 2
			cfg.RefreshEvery = 3
			resumeEqualsUninterrupted(t, cfg)
		})
	}
}

// TestBudgetResumeEqualsUninterrupted is TestResumeEqualsUninterrupted with
// a W2 budget, whose α and smoothed W2 are part of the checkpoint: every
// method, with raw and normalised weights and with ADRPO's per-sample α.
func TestBudgetResumeEqualsUninterrupted(t *testing.T) {
	for _, method := range orw.Methods {
		for _, v := range []struct {
			name      string
			normalize bool
			mode      string
		}{{"raw", false, ""}, {"normalized-advantage", true, "advantage"}} {
			t.Run(string(method)+"-"+v.name, func(t *testing.T) {
				cfg := tinyConfig()
				cfg.Method = method
				cfg.StepsPerBatch = 2
				cfg.RefreshEvery = 3
				cfg.W2Budget, cfg.NormalizeWeights, cfg.AlphaMode = 1e-6, v.normalize, v.mode
				sa := resumeEqualsUninterrupted(t, cfg)
				first, last := sa[0], sa[len(sa)-1]
				if first.Alpha <= 0 || last.Alpha == first.Alpha || last.W2Smoothed <= 0 {
					t.Fatalf("α %g at the first step and %g at the last, smoothed W2 %g: the budget did not act", first.Alpha, last.Alpha, last.W2Smoothed)
				}
			})
		}
	}
}

// resumeEqualsUninterrupted runs cfg 11 steps in one go and in three
// sessions, fails unless both have the same history and weights, and
// returns the history's steps.
func resumeEqualsUninterrupted(t *testing.T, cfg orw.Config) []orw.StepRecord {
	t.Helper()
	ctx := context.Background()
	a, err := Create(filepath.Join(t.TempDir(), "a"), cfg, tinyEnv(t, meanPixel), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Step(ctx, 11); err != nil {
		t.Fatal(err)
	}
	dirB := filepath.Join(t.TempDir(), "b")
	b, err := Create(dirB, cfg, tinyEnv(t, meanPixel), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{4, 5, 2} {
		if err := b.Step(ctx, n); err != nil {
			t.Fatal(err)
		}
		b.Close()
		if b, err = Open(dirB, tinyEnv(t, meanPixel)); err != nil {
			t.Fatal(err)
		}
	}
	defer b.Close()
	defer a.Close()
	sa, ea, err := a.History()
	if err != nil {
		t.Fatal(err)
	}
	sb, eb, err := b.History()
	if err != nil {
		t.Fatal(err)
	}
	if len(sa) != 11 || len(ea) != 3 {
		t.Fatalf("history has %d steps and %d evaluations, want 11 and 3", len(sa), len(ea))
	}
	if !equalJSON(comparableSteps(sa), comparableSteps(sb)) || !equalJSON(comparableEvals(ea), comparableEvals(eb)) {
		t.Fatalf("histories differ:\n%+v\n%+v", sa[len(sa)-1], sb[len(sb)-1])
	}
	if !a.Trainer().Params().Equal(b.Trainer().Params()) {
		t.Fatal("weights differ")
	}
	for i, s := range sa {
		if s.Step != int64(i+1) {
			t.Fatalf("record %d has step %d", i, s.Step)
		}
	}
	return sa
}

// equalJSON reports whether a and b encode to the same JSON, byte for byte
// (float64 values print in their shortest exact form, so this is bit identity).
func equalJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// TestHistoryAfterCrash appends a half-written line and records past the last
// checkpoint (what a SIGKILL can leave); opening the run must drop them.
func TestHistoryAfterCrash(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r")
	r, err := Create(dir, tinyConfig(), tinyEnv(t, meanPixel), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Step(context.Background(), 5); err != nil {
		t.Fatal(err)
	}
	r.Close()
	f, err := os.OpenFile(filepath.Join(dir, historyFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"kind":"train","step":6}` + "\n" + `{"kind":"tra`)
	f.Close()
	r, err = Open(dir, tinyEnv(t, meanPixel))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	steps, _, err := r.History()
	if err != nil || len(steps) != 5 || r.StepCount() != 5 {
		t.Fatalf("after reopening: %d steps in history, step count %d, err %v", len(steps), r.StepCount(), err)
	}
	if err := r.Step(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	steps, _, _ = r.History()
	if len(steps) != 6 || steps[5].Step != 6 {
		t.Fatalf("history after one more step: %d records", len(steps))
	}
}

func TestSecondOpenIsRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r")
	r, err := Create(dir, tinyConfig(), tinyEnv(t, meanPixel), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, tinyEnv(t, meanPixel))
	if err == nil || !strings.Contains(err.Error(), "in use by process") {
		t.Fatalf("second open: %v", err)
	}
	r.Close()
	r2, err := Open(dir, tinyEnv(t, meanPixel))
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	r2.Close()
}

// TestBadRewards checks each bad reward gives an error naming the problem, and
// leaves the run as it was before the failed step.
func TestBadRewards(t *testing.T) {
	cases := []struct {
		name   string
		reward orw.RewardFunc
		tau    float64
		want   string
	}{
		{"nan", func(im *orw.Images) ([]float64, error) {
			r, _ := meanPixel(im)
			r[3] = math.NaN()
			return r, nil
		}, 2, "NaN at samples 3"},
		{"inf", func(im *orw.Images) ([]float64, error) {
			r, _ := meanPixel(im)
			r[0], r[5] = math.Inf(1), math.Inf(-1)
			return r, nil
		}, 2, "infinite values at samples 0, 5"},
		{"length", func(im *orw.Images) ([]float64, error) {
			r, _ := meanPixel(im)
			return r[1:], nil
		}, 2, "returned 15 values for a batch of 16"},
		{"overflow", func(im *orw.Images) ([]float64, error) {
			r, _ := meanPixel(im)
			r[7] = 100
			return r, nil
		}, 2, "use Tau <= 0.887"},
		{"error", func(im *orw.Images) ([]float64, error) {
			return nil, errors.New("classifier exploded")
		}, 2, "classifier exploded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.Tau = tc.tau
			dir := filepath.Join(t.TempDir(), "r")
			calls := 0
			reward := orw.RewardFunc(func(im *orw.Images) ([]float64, error) {
				calls++
				if calls <= 3 || im.N != cfg.Batch { // the evaluation batch and the first steps are fine
					return meanPixel(im)
				}
				return tc.reward(im)
			})
			r, err := Create(dir, cfg, tinyEnv(t, reward), nil)
			if err != nil {
				t.Fatal(err)
			}
			err = r.Step(context.Background(), 5)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			good := r.StepCount()
			r.Close()
			r, err = Open(dir, tinyEnv(t, meanPixel))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			steps, _, _ := r.History()
			if r.StepCount() != good || int64(len(steps)) != good {
				t.Fatalf("after the failure: step %d, %d history records, want %d", r.StepCount(), len(steps), good)
			}
			if err := r.Step(context.Background(), 2); err != nil {
				t.Fatalf("the run does not continue after a failed step: %v", err)
			}
		})
	}
}

// TestOpenOrCreateNamesDifferences: OpenOrCreate on an existing run with
// another config names the difference.
func TestOpenOrCreateNamesDifferences(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r")
	r, err := Create(dir, tinyConfig(), tinyEnv(t, meanPixel), nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	other := tinyConfig()
	other.Tau = 3
	other.Batch = 4
	want := "run " + dir + " was made with another config: it has batch 16, the config given has 4; tau 2, the config given has 3: " +
		"use another directory, or the run's own config (Info.Config, as ReadRunInfo reads it) to continue it"
	if _, err := OpenOrCreate(dir, other, tinyEnv(t, meanPixel), nil); err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
}

// TestBaseSamples: BaseSamples draws from the base model with the noise of
// Samples, so that after training it shows what Samples showed at step 0.
func TestBaseSamples(t *testing.T) {
	r, err := Create(filepath.Join(t.TempDir(), "r"), tinyConfig(), tinyEnv(t, meanPixel), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	start, err := r.Samples(4, 7)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Step(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	base, err := r.BaseSamples(4, 7)
	if err != nil {
		t.Fatal(err)
	}
	after, err := r.Samples(4, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(base.Pix, start.Pix) {
		t.Error("BaseSamples after training differ from Samples at step 0")
	}
	if slices.Equal(after.Pix, start.Pix) {
		t.Error("Samples did not change in 3 steps: the test shows nothing")
	}
}
