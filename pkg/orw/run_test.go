package orw

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// meanPixel is the black-box reward of the run tests.
var meanPixel = MeanPixel

// parityJudge sorts images into two classes by the sign of their mean pixel.
type parityJudge struct{}

func (parityJudge) ClassNames() []string { return []string{"dark", "bright"} }
func (parityJudge) Classify(im *Images) ([]int, error) {
	r, _ := meanPixel(im)
	c := make([]int, len(r))
	for i, x := range r {
		if x > 0 {
			c[i] = 1
		}
	}
	return c, nil
}

func tinyConfig() Config {
	c := DefaultConfig()
	c.Batch = 16
	c.Tau = 2
	c.EvalEvery = 4
	c.EvalSamples = 12
	c.W2Times = 2
	c.CheckpointEvery = 3
	c.PoolSize = 64
	c.Optim.LR = 1e-3
	c.Sampler = SamplerConfig{Solver: "euler", Steps: 4}
	return c
}

func tinyEnv(t testing.TB, reward Reward) Env {
	return Env{Backend: testBackend(t), Base: tinyLatentGenerator(t), Reward: reward, Judge: parityJudge{}}
}

// comparable strips the wall-clock fields of step records.
func comparableSteps(s []StepRecord) []StepRecord {
	out := make([]StepRecord, len(s))
	for i, r := range s {
		r.SampleMS, r.TrainMS = 0, 0
		out[i] = r
	}
	return out
}

func comparableEvals(e []EvalRecord) []EvalRecord {
	out := make([]EvalRecord, len(e))
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
	for _, method := range Methods {
		t.Run(method, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.Method = method
			cfg.StepsPerBatch = 2
			cfg.RefreshEvery = 3
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
			if !equalParams(a.tr.params, b.tr.params) {
				t.Fatal("weights differ")
			}
			for i, s := range sa {
				if s.Step != int64(i+1) {
					t.Fatalf("record %d has step %d", i, s.Step)
				}
			}
		})
	}
}

func equalJSON(a, b any) bool {
	return strings.EqualFold(mustJSON(a), mustJSON(b))
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
		reward RewardFunc
		tau    float64
		want   string
	}{
		{"nan", func(im *Images) ([]float64, error) {
			r, _ := meanPixel(im)
			r[3] = math.NaN()
			return r, nil
		}, 2, "NaN at samples 3"},
		{"inf", func(im *Images) ([]float64, error) {
			r, _ := meanPixel(im)
			r[0], r[5] = math.Inf(1), math.Inf(-1)
			return r, nil
		}, 2, "infinite values at samples 0, 5"},
		{"length", func(im *Images) ([]float64, error) {
			r, _ := meanPixel(im)
			return r[1:], nil
		}, 2, "returned 15 values for a batch of 16"},
		{"overflow", func(im *Images) ([]float64, error) {
			r, _ := meanPixel(im)
			r[7] = 100
			return r, nil
		}, 2, "use tau <= 0.887"},
		{"error", func(im *Images) ([]float64, error) {
			return nil, errors.New("classifier exploded")
		}, 2, "classifier exploded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.Tau = tc.tau
			dir := filepath.Join(t.TempDir(), "r")
			calls := 0
			reward := RewardFunc(func(im *Images) ([]float64, error) {
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

func TestConfigValidation(t *testing.T) {
	bad := map[string]func(*Config){
		"unknown method":   func(c *Config) { c.Method = "ppo" },
		"tau must be":      func(c *Config) { c.Tau = -1 },
		"alpha must be":    func(c *Config) { c.Alpha = math.NaN() },
		"batch must be":    func(c *Config) { c.Batch = 0 },
		"refresh-every":    func(c *Config) { c.RefreshEvery = 0 },
		"keep-fraction":    func(c *Config) { c.KeepFraction = 1.5 },
		"unknown coupling": func(c *Config) { c.Coupling = "sinkhorn" },
		"learning rate":    func(c *Config) { c.Optim.LR = 0 },
		"pool-size":        func(c *Config) { c.Method = MethodReFT; c.PoolSize = 3 },
	}
	for want, mutate := range bad {
		c := DefaultConfig()
		mutate(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v", want, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
	// OpenOrCreate on an existing run with another config names the difference.
	dir := filepath.Join(t.TempDir(), "r")
	r, err := Create(dir, tinyConfig(), tinyEnv(t, meanPixel), nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	other := tinyConfig()
	other.Tau = 3
	if _, err := OpenOrCreate(dir, other, tinyEnv(t, meanPixel), nil); err == nil || !strings.Contains(err.Error(), "tau: 2 → 3") {
		t.Fatalf("err = %v", err)
	}
}

// TestWeightsClosedForm checks the weightings against their definitions.
func TestWeightsClosedForm(t *testing.T) {
	r := []float64{0, 0.5, 1, -1}
	w, err := ExpWeighting{Tau: 2}.Weights(r)
	if err != nil {
		t.Fatal(err)
	}
	for i := range r {
		if math.Abs(w[i]-math.Exp(2*r[i])) > 1e-12 {
			t.Fatalf("w[%d] = %g, want exp(2·%g)", i, w[i], r[i])
		}
	}
	wn, err := ExpWeighting{Tau: 2, Normalize: true}.Weights(r)
	if err != nil {
		t.Fatal(err)
	}
	mean := 0.0
	for i := range wn {
		mean += wn[i] / float64(len(wn))
		if math.Abs(wn[i]/wn[0]-w[i]/w[0]) > 1e-12 {
			t.Fatalf("normalised weights are not proportional to exp(τr)")
		}
	}
	if math.Abs(mean-1) > 1e-12 {
		t.Fatalf("normalised weights have mean %g", mean)
	}
	// Normalised weights never overflow.
	if _, err := (ExpWeighting{Tau: 1000, Normalize: true}).Weights([]float64{1, 2}); err != nil {
		t.Fatal(err)
	}
	ratio, ess := WeightStats([]float64{1, 1, 1, 1})
	if ratio != 1 || ess != 4 {
		t.Fatalf("uniform weights: ratio %g ess %g", ratio, ess)
	}
}

func TestMethodSpecs(t *testing.T) {
	for _, tc := range []struct {
		method string
		online bool
		keep   float64
		weight string
	}{
		{MethodORW, true, 1, "exp"}, {MethodRWCFM, false, 1, "exp"},
		{MethodRAFT, true, 0.25, "uniform"}, {MethodReFT, false, 0.25, "uniform"},
	} {
		c := DefaultConfig()
		c.Method = tc.method
		s := c.Spec()
		if s.Online != tc.online || s.Keep != tc.keep || s.Weighting.Name() != tc.weight {
			t.Errorf("%s: %+v", tc.method, s)
		}
	}
}
