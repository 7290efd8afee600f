package main

import (
	"encoding/json"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/experiment"
)

// orw finetune --json writes the keys, in the order, that it wrote before
// its summary held an experiment.Outcome (the literal is such an output,
// shortened), and leaves out frechet, the classes and toy when absent.
func TestFinetuneSummaryJSON(t *testing.T) {
	sum := FinetuneSummary{Task: "mnist-even", Method: "orw", Model: "latent", Reward: "even", Tau: 0.5, Seed: 1, Steps: 30,
		Outcome: experiment.Outcome{FinalReward: 0.53, InitialReward: 0.49, ClassFractions: []float64{0.75, 0.25}, ClassNames: []string{"0", "1"},
			ClassEntropy: 0.95, MeanPairwise: 0.29, W2Velocity: 0.02, EmpiricalW2: 0.13, Frechet: 512.5, EvalSamples: 64, WallSeconds: 12.5},
		RunDir: "r", Files: []string{"r/a.png"}}
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	const want = `{
  "task": "mnist-even",
  "method": "orw",
  "model": "latent",
  "reward": "even",
  "tau": 0.5,
  "alpha": 0,
  "seed": 1,
  "steps": 30,
  "final_reward": 0.53,
  "initial_reward": 0.49,
  "class_fractions": [
    0.75,
    0.25
  ],
  "class_names": [
    "0",
    "1"
  ],
  "class_entropy": 0.95,
  "mean_pairwise": 0.29,
  "w2_velocity": 0.02,
  "empirical_w2": 0.13,
  "frechet": 512.5,
  "eval_samples": 64,
  "wall_seconds": 12.5,
  "run_dir": "r",
  "files": [
    "r/a.png"
  ]
}`
	if string(b) != want {
		t.Errorf("summary\n%s\nwant\n%s", b, want)
	}

	sum.Outcome = experiment.Outcome{FinalReward: 1.2, InitialReward: -0.2, ClassEntropy: 0.8, MeanPairwise: 1.6, W2Velocity: 1.1, EmpiricalW2: 1.3, EvalSamples: 1000, WallSeconds: 5}
	b, err = json.Marshal(sum)
	if err != nil {
		t.Fatal(err)
	}
	const toy = `{"task":"mnist-even","method":"orw","model":"latent","reward":"even","tau":0.5,"alpha":0,"seed":1,"steps":30,` +
		`"final_reward":1.2,"initial_reward":-0.2,"class_entropy":0.8,"mean_pairwise":1.6,"w2_velocity":1.1,"empirical_w2":1.3,` +
		`"eval_samples":1000,"wall_seconds":5,"run_dir":"r","files":["r/a.png"]}`
	if string(b) != toy {
		t.Errorf("summary without classes or Fréchet\n%s\nwant\n%s", b, toy)
	}
}
