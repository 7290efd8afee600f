package main

import (
	"flag"
	"io"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/experiment"
	"github.com/orwcfm/orwcfm/pkg/orw"
)

// TestFieldsAsFlags checks the translation of library errors, which name
// orw.Config fields, into the flags of the command that printed them.
func TestFieldsAsFlags(t *testing.T) {
	cfg := orw.DefaultConfig()
	finetune := flag.NewFlagSet("finetune", flag.ContinueOnError)
	experiment.BindConfig(finetune, &cfg)
	sample := flag.NewFlagSet("sample", flag.ContinueOnError)
	sample.Int("sample-steps", 0, "")
	for _, tc := range []struct {
		fs        *flag.FlagSet
		msg, want string
	}{
		{finetune, "invalid fine-tuning config: RefreshEvery must be >= 1, got 0; Sampler.Steps must be in 1..10000, got 0",
			"invalid fine-tuning config: --refresh-every must be >= 1, got 0; --sample-steps must be in 1..10000, got 0"},
		{finetune, "the loss is NaN: lower Tau or the learning rate, or set NormalizeWeights.",
			"the loss is NaN: lower --tau or the learning rate, or set --normalize-weights."},
		{finetune, "PoolSize must be in batch..4194304 for reft, got 3", "--pool-size must be in batch..4194304 for reft, got 3"},
		{finetune, "reft keeps no samples: raise PoolSize or KeepFraction", "reft keeps no samples: raise --pool-size or --keep-fraction"},
		// Fields without a flag, other words and names inside file names stay.
		{finetune, "Optim.Beta1 and Optim.LR, Tau2, orw.Config.Tau", "Optim.Beta1 and --lr, Tau2, orw.Config.Tau"},
		{finetune, "open runs/Tau/Batch-1/x: no such file", "open runs/Tau/Batch-1/x: no such file"},
		// A command without the flag shows the field.
		{sample, "Tau must be a finite number; Sampler.Steps must be in 1..10000", "Tau must be a finite number; --sample-steps must be in 1..10000"},
		{nil, "Tau must be", "Tau must be"},
	} {
		if got := fieldsAsFlags(tc.msg, tc.fs); got != tc.want {
			t.Errorf("fieldsAsFlags(%q) = %q, want %q", tc.msg, got, tc.want)
		}
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
		{[]string{"--solver", "heun"}, `--solver: unknown ODE solver "heun": valid solvers are euler, midpoint, rk4`, true},
		{[]string{"--method=ppo"}, `--method: unknown method "ppo" (valid: orw, rwcfm, raft, reft)`, true},
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
