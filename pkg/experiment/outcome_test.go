package experiment

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

// OutcomeOf takes the last evaluation's metrics, the first's reward and the
// history's summed times.
func TestOutcomeOf(t *testing.T) {
	h := &runplot.History{
		Steps: []orw.StepRecord{{Step: 1, SampleMS: 100, TrainMS: 50}, {Step: 2, TrainMS: 250}},
		Evals: []orw.EvalRecord{
			{Step: 0, Reward: 0.25, ClassCounts: []int{2, 2}, EvalMS: 100},
			{Step: 2, Reward: 0.75, ClassCounts: []int{3, 1}, ClassEntropy: 0.8, MeanPairwise: 0.4, W2Velocity: 0.1, EmpiricalW2: 0.2, Frechet: 12.5, EvalMS: 500},
		},
	}
	got := OutcomeOf(h, 4)
	want := Outcome{FinalReward: 0.75, InitialReward: 0.25, ClassFractions: []float64{0.75, 0.25}, ClassEntropy: 0.8, MeanPairwise: 0.4,
		W2Velocity: 0.1, EmpiricalW2: 0.2, Frechet: 12.5, EvalSamples: 4, WallSeconds: 1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("OutcomeOf:\n got %+v\nwant %+v", got, want)
	}

	// Without evaluations every metric is NaN, the wall time still counts.
	none := OutcomeOf(&runplot.History{Steps: h.Steps}, 4)
	for name, v := range map[string]float64{"final": none.FinalReward, "initial": none.InitialReward, "entropy": none.ClassEntropy,
		"pairwise": none.MeanPairwise, "w2": none.W2Velocity, "empirical": none.EmpiricalW2} {
		if !math.IsNaN(v) {
			t.Errorf("no evaluation: %s = %g, want NaN", name, v)
		}
	}
	if none.Frechet != 0 || none.ClassFractions != nil || none.WallSeconds != 0.4 || none.EvalSamples != 4 {
		t.Errorf("no evaluation: %+v", none)
	}

	// With a W2 budget the last step's α and smoothed W2 are the outcome's.
	budget := &runplot.History{Steps: []orw.StepRecord{{Step: 1, Alpha: 1, W2Smoothed: 0.01}, {Step: 2, Alpha: 1.5, W2Smoothed: 0.02}}, Evals: h.Evals}
	if o := OutcomeOf(budget, 4); o.FinalAlpha != 1.5 || o.W2Smoothed != 0.02 {
		t.Errorf("budget: final α %g, smoothed W2 %g; want 1.5, 0.02", o.FinalAlpha, o.W2Smoothed)
	}
	if got.FinalAlpha != 0 || got.W2Smoothed != 0 {
		t.Errorf("no budget: final α %g, smoothed W2 %g; want 0 (absent)", got.FinalAlpha, got.W2Smoothed)
	}
}

// An Outcome embedded in a struct writes its keys in its place, in the
// order and with the omissions of the summaries written before it existed.
func TestOutcomeJSON(t *testing.T) {
	type embedding struct {
		Seed uint64 `json:"seed"`
		Outcome
		RunDir string `json:"run_dir"`
	}
	o := Outcome{FinalReward: 0.75, InitialReward: 0.25, ClassFractions: []float64{0.75, 0.25}, ClassNames: []string{"a", "b"},
		ClassEntropy: 0.8, MeanPairwise: 0.4, W2Velocity: 0.1, EmpiricalW2: 0.2, Frechet: 12.5, EvalSamples: 4, WallSeconds: 1.5}
	b, err := json.Marshal(embedding{Seed: 3, Outcome: o, RunDir: "d"})
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"seed":3,"final_reward":0.75,"initial_reward":0.25,"class_fractions":[0.75,0.25],"class_names":["a","b"],` +
		`"class_entropy":0.8,"mean_pairwise":0.4,"w2_velocity":0.1,"empirical_w2":0.2,"frechet":12.5,"eval_samples":4,"wall_seconds":1.5,"run_dir":"d"}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
	var back embedding
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back.Outcome, o) || back.Seed != 3 || back.RunDir != "d" {
		t.Errorf("read back %v: %+v", err, back)
	}

	// Without classes and without a Fréchet distance those keys are absent.
	o.ClassFractions, o.ClassNames, o.Frechet = nil, nil, 0
	b, err = json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"class_fractions", "class_names", "frechet"} {
		if strings.Contains(string(b), `"`+k+`"`) {
			t.Errorf("%s written: %s", k, b)
		}
	}
}

// A table row keeps its columns: a Fréchet distance that was not measured
// is an empty field and null, and the Outcome's other fields are not columns.
func TestResultColumns(t *testing.T) {
	r := Result{Name: "n", RunSetting: RunSetting{Task: "toy2d", Method: "orw", Tau: 0.5, RefreshEvery: 2, Steps: 10}, Seed: 1,
		Outcome: Outcome{FinalReward: 1.25, InitialReward: 0.5, ClassEntropy: 0.5, MeanPairwise: 0.3, W2Velocity: 0.1, EmpiricalW2: 0.2, EvalSamples: 8, WallSeconds: 2},
		RunDir:  "/d"}
	tab := &Table{Rows: []Result{r}}
	var buf bytes.Buffer
	if err := tab.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	if line := strings.Split(buf.String(), "\n")[1]; line != "toy2d,orw,0.5,0,2,10,false,1,1.25,,0.5,0.1,0.2,,2,/d" {
		t.Errorf("CSV row %q", line)
	}
	buf.Reset()
	if err := tab.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	const want = `[
  {
    "task": "toy2d",
    "method": "orw",
    "tau": 0.5,
    "alpha": 0,
    "refresh_every": 2,
    "steps": 10,
    "normalize_weights": false,
    "seed": 1,
    "final_reward": 1.25,
    "class_fractions": null,
    "class_entropy": 0.5,
    "w2_velocity": 0.1,
    "empirical_w2": 0.2,
    "frechet": null,
    "wall_seconds": 2,
    "run_dir": "/d"
  }
]
`
	if buf.String() != want {
		t.Errorf("JSON\n%s\nwant\n%s", buf.String(), want)
	}
	back, err := ReadJSON(&buf)
	if err != nil || len(back.Rows) != 1 {
		t.Fatalf("ReadJSON: %v", err)
	}
	g := back.Rows[0]
	if g.RunSetting != r.RunSetting || g.Seed != 1 || g.FinalReward != 1.25 || g.Frechet != 0 || g.WallSeconds != 2 || g.RunDir != "/d" ||
		!math.IsNaN(g.InitialReward) || !math.IsNaN(g.MeanPairwise) {
		t.Errorf("read back %+v", g)
	}
}
