package experiment

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/metrics"
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

// evaluatorRecord is an evaluator's record with distinct numbers.
func evaluatorRecord() *orw.EvaluatorRecord {
	r, gap := 0.5, 0.25
	return &orw.EvaluatorRecord{Reward: &r, HackingGap: &gap, ClassCounts: []int{3, 1}, Precision: 0.875, Recall: 0.625,
		Density: 1.125, Coverage: 0.375, Vendi: 3.5, Neighbours: 5,
		Image: metrics.ImageStats{Brightness: 0.25, DarkFraction: 0.5, EdgeDensity: 0.125, PixelEntropy: 0.0625}}
}

// The last evaluation's evaluator record is the outcome's, and it goes
// through JSON (the results files, orw finetune --json) whole.
func TestOutcomeEvaluator(t *testing.T) {
	ev := evaluatorRecord()
	h := &runplot.History{Evals: []orw.EvalRecord{
		{Step: 0, Reward: 0.25, Evaluator: &orw.EvaluatorRecord{Precision: 1}},
		{Step: 2, Reward: 0.75, Evaluator: ev},
	}}
	o := OutcomeOf(h, 4)
	if o.Evaluator != ev {
		t.Fatalf("outcome's evaluator %+v, want the last evaluation's", o.Evaluator)
	}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	const want = `"evaluator":{"reward":0.5,"hacking_gap":0.25,"class_counts":[3,1],"precision":0.875,"recall":0.625,"density":1.125,` +
		`"coverage":0.375,"vendi":3.5,"k":5,"image":{"brightness":0.25,"dark_fraction":0.5,"edge_density":0.125,"pixel_entropy":0.0625}}`
	if !strings.Contains(string(b), want) {
		t.Errorf("JSON %s\nlacks %s", b, want)
	}
	var back Outcome
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back.Evaluator, ev) {
		t.Errorf("read back %v: %+v", err, back.Evaluator)
	}
	if o := OutcomeOf(&runplot.History{Evals: []orw.EvalRecord{{Reward: 1}}}, 4); o.Evaluator != nil {
		t.Errorf("an outcome without an evaluator has %+v", o.Evaluator)
	}
}

// A table with an evaluator's row has the evaluator's columns after frechet,
// empty in the rows without one; they read back from JSON.
func TestResultEvaluatorColumns(t *testing.T) {
	base := Result{RunSetting: RunSetting{Task: "mnist-even", Method: "orw", Tau: 0.5, RefreshEvery: 2, Steps: 10}, Seed: 1,
		Outcome: Outcome{FinalReward: 0.75, ClassEntropy: 0.5, W2Velocity: 0.1, EmpiricalW2: 0.2, Frechet: 3, WallSeconds: 2}, RunDir: "/d"}
	with := base
	with.Seed, with.Evaluator = 2, evaluatorRecord()
	tab := &Table{Rows: []Result{base, with}}
	var buf bytes.Buffer
	if err := tab.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	if want := "task,method,tau,alpha,refresh_every,steps,normalize_weights,seed,final_reward,class_fractions,class_entropy,w2_velocity,empirical_w2,frechet," +
		"evaluator_reward,hacking_gap,precision,recall,density,coverage,vendi,wall_seconds,run_dir"; lines[0] != want {
		t.Errorf("CSV header\n%s\nwant\n%s", lines[0], want)
	}
	if want := "mnist-even,orw,0.5,0,2,10,false,1,0.75,,0.5,0.1,0.2,3,,,,,,,,2,/d"; lines[1] != want {
		t.Errorf("CSV row without an evaluator\n%s\nwant\n%s", lines[1], want)
	}
	if want := "mnist-even,orw,0.5,0,2,10,false,2,0.75,,0.5,0.1,0.2,3,0.5,0.25,0.875,0.625,1.125,0.375,3.5,2,/d"; lines[2] != want {
		t.Errorf("CSV row with an evaluator\n%s\nwant\n%s", lines[2], want)
	}
	buf.Reset()
	if err := tab.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var objs []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &objs); err != nil {
		t.Fatal(err)
	}
	if v, ok := objs[0]["coverage"]; !ok || v != nil {
		t.Errorf("row without an evaluator: coverage %v (present %v), want null", v, ok)
	}
	if objs[1]["hacking_gap"] != 0.25 || objs[1]["vendi"] != 3.5 || len(objs[1]) != len(Columns)+len(EvaluatorColumns) {
		t.Errorf("row with an evaluator: %v", objs[1])
	}
	back, err := ReadJSON(&buf)
	if err != nil || len(back.Rows) != 2 {
		t.Fatalf("ReadJSON: %v", err)
	}
	if back.Rows[0].Evaluator != nil {
		t.Errorf("row without an evaluator read back with %+v", back.Rows[0].Evaluator)
	}
	got := back.Rows[1].Evaluator
	if got == nil || *got.Reward != 0.5 || *got.HackingGap != 0.25 || got.Precision != 0.875 || got.Recall != 0.625 ||
		got.Density != 1.125 || got.Coverage != 0.375 || got.Vendi != 3.5 {
		t.Errorf("row with an evaluator read back with %+v", got)
	}

	// Without any evaluator the table keeps the columns it had.
	buf.Reset()
	if err := (&Table{Rows: []Result{base}}).WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	if h := strings.Split(buf.String(), "\n")[0]; h != strings.Join(Columns, ",") {
		t.Errorf("header without an evaluator: %s", h)
	}
}
