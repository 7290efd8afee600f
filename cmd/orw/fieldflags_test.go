package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/experiment"
	"github.com/orwcfm/orwcfm/pkg/orw"
)

// TestFieldsAsFlags checks that the *orw.FieldError values of a library
// error are shown with the flags of the command that printed them, and that
// the rest of the text, and fields the command has no flag for, stay.
func TestFieldsAsFlags(t *testing.T) {
	cfg := orw.DefaultConfig()
	finetune := flag.NewFlagSet("finetune", flag.ContinueOnError)
	experiment.BindConfig(finetune, &cfg)
	sample := flag.NewFlagSet("sample", flag.ContinueOnError)
	sample.Int("sample-steps", 0, "")
	bad := orw.DefaultConfig()
	bad.RefreshEvery, bad.Sampler.Steps, bad.Optim.Beta1 = 0, 0, 2
	badErr := bad.Validate()
	_, overflow := orw.ExpWeighting{Tau: 100}.Weights([]float64{0, 1})
	reft := orw.DefaultConfig()
	reft.Method, reft.PoolSize = orw.MethodReFT, 3
	for _, tc := range []struct {
		fs   *flag.FlagSet
		err  error
		want string
	}{
		{finetune, badErr, "invalid fine-tuning config: --refresh-every must be >= 1, got 0; --sample-steps must be in 1..10000, got 0; " +
			"optim: Adam betas must be in [0, 1), got 2 and 0.999"},
		{finetune, reft.Validate(), "invalid fine-tuning config: --pool-size must be in batch..4194304 for reft, got 3"},
		// Wrapped, the field errors are still found.
		{finetune, fmt.Errorf("point 3 (tau=1): %w", badErr), "point 3 (tau=1): invalid fine-tuning config: --refresh-every must be >= 1, got 0; " +
			"--sample-steps must be in 1..10000, got 0; optim: Adam betas must be in [0, 1), got 2 and 0.999"},
		// A command without the flag shows the field.
		{sample, badErr, "invalid fine-tuning config: RefreshEvery must be >= 1, got 0; --sample-steps must be in 1..10000, got 0; " +
			"optim: Adam betas must be in [0, 1), got 2 and 0.999"},
		{nil, badErr, badErr.Error()},
		// The advice of a run-time error names the flags (wrapped, as a failed step wraps it).
		{finetune, fmt.Errorf("step 7: %w", overflow), "step 7: weight exp(τ·r) overflows float32 at samples 1 (τ = 100, reward 1): " +
			"use --tau <= 88.7 for rewards this large, or set --normalize-weights"},
		{nil, overflow, "weight exp(τ·r) overflows float32 at samples 1 (τ = 100, reward 1): use Tau <= 88.7 for rewards this large, or set NormalizeWeights"},
		// Other errors are left as they are, field-like words included.
		{finetune, errors.New("open runs/Tau/Batch-1/x: no such file"), "open runs/Tau/Batch-1/x: no such file"},
	} {
		if got := fieldsAsFlags(tc.err, tc.fs); got != tc.want {
			t.Errorf("fieldsAsFlags(%q) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestBadAlpha checks the one line that orw finetune prints for a bad value
// of a config flag: it names the flag, the value and the rule.
func TestBadAlpha(t *testing.T) {
	code, _, errOut := runOrw(t, "finetune", "--alpha", "-1", "--out", t.TempDir())
	want := "orw finetune: invalid fine-tuning config: --alpha must be a finite number in [0, 1e6], got -1\n"
	if code != 1 || errOut != want {
		t.Errorf("exit %d, stderr %q; want exit 1, %q", code, errOut, want)
	}
}

// TestBadName checks that an unknown name given to a typed flag is told apart
// from other parse errors.
func TestBadName(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
		ok   bool
	}{
		{[]string{"--solver", "heun"}, `--solver: unknown ODE solver "heun"; valid: euler, midpoint, rk4`, true},
		{[]string{"--method=ppo"}, `--method: unknown method "ppo"; valid: orw, rwcfm, raft, reft`, true},
		{[]string{"--tau", "abc"}, "", false},
		{[]string{"--nonsense"}, "", false},
	} {
		cfg := orw.DefaultConfig()
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		experiment.BindConfig(fs, &cfg)
		err := fs.Parse(tc.args)
		if err == nil {
			t.Fatalf("%v parsed", tc.args)
		}
		if msg, ok := badName(fs, err); msg != tc.want || ok != tc.ok {
			t.Errorf("badName(%v) = %q, %v; want %q, %v", tc.args, msg, ok, tc.want, tc.ok)
		}
	}
}
