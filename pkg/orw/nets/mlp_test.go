package nets

import (
	"strings"
	"testing"
)

// TestMLPBenchParams checks the parameter count of the "mlp" benchmark network
// (docs/benchmarks.md, "Workload mlp") exactly.
func TestMLPBenchParams(t *testing.T) {
	v, err := New(DefaultConfig("mlp", 28, 28, 1))
	if err != nil {
		t.Fatal(err)
	}
	if n := NumParams(v.Specs()); n != 3837712 {
		t.Fatalf("mlp has %d parameters, docs/benchmarks.md says 3,837,712", n)
	}
	// The latent flow of the shipped MNIST generator: 16-d codes, 3x512.
	v, err = New(Config{Kind: "mlp", Shape: []int{16}, Width: 512, Depth: 3, TimeDim: 128})
	if err != nil {
		t.Fatal(err)
	}
	want := (16+128)*512 + 512 + 2*(512*512+512) + 512*16 + 16
	if n := NumParams(v.Specs()); n != want {
		t.Fatalf("latent mlp has %d parameters, want %d", n, want)
	}
}

func TestNewErrors(t *testing.T) {
	for want, cfg := range map[string]Config{
		"unknown network kind": {Kind: "transformer", Shape: []int{4}},
		"no sample shape":      {Kind: "mlp"},
		"non-positive":         {Kind: "mlp", Shape: []int{0, 3}},
		"TimeDim":              {Kind: "mlp", Shape: []int{4}, TimeDim: 3},
		"NumClasses":           {Kind: "mlp", Shape: []int{4}, NumClasses: -1},
	} {
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: err = %v, want it to mention %q", cfg, err, want)
		}
	}
}
