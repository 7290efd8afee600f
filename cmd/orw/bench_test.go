package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBenchLatent runs the latent workload (one step of the mnist-even main job
// on random weights) for one round and checks its JSON against the
// specification in docs/benchmarks.md: the three networks' parameter counts,
// the main job's batch, and every key of the other workloads.
func TestBenchLatent(t *testing.T) {
	code, out, errOut := runOrw(t, "bench", "--workload", "latent", "--rounds", "1", "--euler-steps", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	want := map[string]float64{"params": 607760, "decoder_params": 82180, "classifier_params": 467818, "batch": 128, "euler_steps": 2, "rounds": 1}
	for k, v := range want {
		if res[k] != v {
			t.Errorf("%s = %v, want %v", k, res[k], v)
		}
	}
	for _, k := range []string{"impl", "model", "ms_per_round", "ms_sample", "ms_train_step", "ms_per_round_min", "ms_per_round_max", "ms_per_round_mean", "ms_warmup", "backend", "simd"} {
		if _, ok := res[k]; !ok {
			t.Errorf("the latent workload's JSON lacks %q", k)
		}
	}
	if lo, m, hi := res["ms_per_round_min"].(float64), res["ms_per_round_mean"].(float64), res["ms_per_round_max"].(float64); lo > m || m > hi {
		t.Errorf("mean round %v outside [min %v, max %v]", m, lo, hi)
	}
	if res["ms_train_step"].(float64) <= 0 || res["ms_sample"].(float64) <= 0 {
		t.Errorf("times must be positive: %v", res)
	}
}

func TestBenchBadWorkload(t *testing.T) {
	code, _, errOut := runOrw(t, "bench", "--workload", "latnet")
	if code == 0 || !strings.Contains(errOut, `unknown workload "latnet"; did you mean "latent"? valid: mlp, unet, latent`) {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}
