package paper

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/experiment"
)

func TestSpearman(t *testing.T) {
	for _, tc := range []struct {
		x, y []float64
		want float64
	}{
		{[]float64{0, 1, 2, 3}, []float64{10, 5, 2, 1}, -1},             // strictly decreasing
		{[]float64{0, 1, 2, 3}, []float64{1, 4, 9, 16}, 1},              // monotone, not linear
		{[]float64{1, 2, 3, 4, 5}, []float64{2, 1, 4, 3, 5}, 0.8},       // 1 − 6·Σd²/(n(n²−1)) = 1 − 6·4/120
		{[]float64{0, 0.01, 0.1, 1}, []float64{5, 5, 4, 3}, -0.9486833}, // a tie: mean ranks 3.5, 3.5, 2, 1
	} {
		if got := Spearman(tc.x, tc.y); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("Spearman(%v, %v) = %.7f, want %.7f", tc.x, tc.y, got, tc.want)
		}
	}
	if !math.IsNaN(Spearman([]float64{1, 2}, []float64{3, 3})) {
		t.Error("a constant variable has no rank correlation")
	}
}

// results builds a results file with the given settings (label, α, final rewards per seed, class fractions).
func results(settings ...SettingResult) *Results {
	return &Results{Experiment: "x", Title: "X", Settings: settings}
}

func runs(rewards []float64, fractions []float64) []RunResult {
	var out []RunResult
	for i, r := range rewards {
		out = append(out, RunResult{Seed: uint64(i + 1), Outcome: experiment.Outcome{FinalReward: r, InitialReward: 0.5, ClassFractions: fractions}})
	}
	return out
}

func TestChecks(t *testing.T) {
	collapsed := []float64{0.75, 0, 0.05, 0, 0.05, 0, 0.05, 0, 0.1, 0}
	diverse := []float64{0.2, 0, 0.19, 0, 0.11, 0, 0.2, 0, 0.25, 0.05}
	r := results(
		SettingResult{Label: "τ = 0", RunSetting: experiment.RunSetting{Method: "orw"}, Runs: runs([]float64{0.51, 0.52}, nil)},
		SettingResult{Label: "τ = 10", RunSetting: experiment.RunSetting{Method: "orw"}, Runs: runs([]float64{0.99, 0.985}, collapsed)},
		SettingResult{Label: "α = 0.1", RunSetting: experiment.RunSetting{Method: "orw", Alpha: 0.1}, Runs: runs([]float64{0.96, 0.95}, diverse)},
		SettingResult{Label: "off", RunSetting: experiment.RunSetting{Method: "rwcfm"}, Runs: runs([]float64{0.93, 0.94}, nil)},
	)
	if v, ok := checkTauZero(r); !ok {
		t.Errorf("τ = 0 at +0.015 failed: %s", v)
	}
	if v, ok := checkCollapse("τ = 10")(r); !ok {
		t.Errorf("collapse failed: %s", v)
	}
	if v, ok := checkCollapse("α = 0.1")(r); ok {
		t.Errorf("a diverse setting passed as collapsed: %s", v)
	}
	if v, ok := checkDiverse("α = 0.1")(r); !ok {
		t.Errorf("diverse setting failed: %s", v)
	}
	if v, ok := checkDiverse("τ = 10")(r); ok {
		t.Errorf("collapsed setting passed as diverse: %s", v)
	}
	if v, ok := checkOnlineAbove(r); ok || !strings.Contains(v, "offline 0.935") {
		// The first "orw" setting is the last one found: α = 0.1 at 0.955, 0.02 above.
		t.Errorf("online 0.955 against offline 0.935 passed the 0.03 margin: %s", v)
	}
	if _, ok := checkCollapse("missing")(r); ok {
		t.Error("a missing setting passed")
	}
}

// TestReport writes the page from a results file and checks its tables.
func TestReport(t *testing.T) {
	dir := t.TempDir()
	f := 12.5
	r := &Results{Experiment: "alpha-ablation", Title: "α ablation", PaperText: "the paper", Differences: "ours", Command: "orw reproduce alpha-ablation",
		WallSeconds: 3, RunSeconds: 125, Machine: "m", Date: "2026-12-01",
		Settings: []SettingResult{{Label: "α = 0", RunSetting: experiment.RunSetting{Method: "orw", Tau: 10, RefreshEvery: 25, Steps: 2000}, ClassNames: []string{"0", "1"},
			Runs: []RunResult{{Seed: 1, Outcome: experiment.Outcome{FinalReward: 0.9, ClassFractions: []float64{0.8, 0.2}, Frechet: f, WallSeconds: 50}},
				{Seed: 2, Outcome: experiment.Outcome{FinalReward: 1.0, ClassFractions: []float64{0.6, 0.4}, WallSeconds: 75}}}}},
		Checks:   []CheckResult{{Claim: "c1", Value: "v1", OK: true}, {Claim: "c2", Value: "v2"}},
		Frontier: []FrontierPoint{{Alpha: 0.1, Reward: 0.95, ClassEntropy: 0.8, EarlyStep: 400, EarlyEntropy: 0.9, EarlyReward: 0.96}, {Alpha: 1, Reward: 0.99, ClassEntropy: 0.9, EarlyStep: -1, EarlyEntropy: -1}},
	}
	if err := WriteResults(filepath.Join(dir, "alpha-ablation.json"), r); err != nil {
		t.Fatal(err)
	}
	// A second experiment reads the α = 0 runs (the same setting, trained
	// once) and has one run of its own.
	shared := r.Settings[0]
	shared.Label = "ORW-CFM"
	raft := SettingResult{Label: "RAFT", RunSetting: experiment.RunSetting{Method: "raft", Tau: 10, RefreshEvery: 25, Steps: 2000},
		Runs: []RunResult{{Seed: 1, Outcome: experiment.Outcome{WallSeconds: 100}}}}
	base := &Results{Experiment: "baselines", Title: "Baselines", RunSeconds: 225, Date: "2026-12-01", Settings: []SettingResult{shared, raft}}
	if err := WriteResults(filepath.Join(dir, "baselines.json"), base); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Report(&b, dir, "results"); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		"| [alpha-ablation](#α-ablation) | 1 of 2 | full | 2 min 5 s | 2026-12-01 |",
		"counts 2 runs more than once: the 3 distinct runs\nbehind this page trained for 3 min 45 s summed over runs.",
		"| α = 0 | orw | 10 | 0 | 25 | 2000 | 2 | 0.95 ± 0.05 |",
		"| 12.5 |",   // one seed has a Fréchet distance
		"| 0: 70% |", // the largest class of the mean fractions
		"| 0.1 | 0.950 | 0.800 | 400 | 0.960 | 0.900 |",
		"| 1 | 0.990 | 0.900 | never | – | – |",
		"| c2 | v2 | **no** |",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
}

// TestToyQuick runs the toy experiment at the quick size end to end: runs,
// comparisons with the exact density, panel and results file; a second call
// only reads the runs and gives the same numbers.
func TestToyQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 10 small toy runs (about 20 s); run without -short")
	}
	dir := t.TempDir()
	e, err := Lookup("toy2d-theory")
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Size: Size{Quick: true}, Seeds: 2, Workers: 2, RunsDir: filepath.Join(dir, "runs"), Out: filepath.Join(dir, "results"), Command: "test"}
	r, err := Reproduce(context.Background(), e, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Settings) != 5 || len(r.Settings[0].Runs) != 2 || r.Settings[3].Runs[0].Toy == nil || r.Settings[3].Runs[0].Toy.Refreshes != 4 {
		t.Fatalf("results: %+v", r.Settings)
	}
	if _, err := os.Stat(filepath.Join(dir, "results", "toy2d-theory", "shares.png")); err != nil {
		t.Fatal(err)
	}
	back, err := ReadResults(filepath.Join(dir, "results", "toy2d-theory.json"))
	if err != nil || len(back.Checks) != 2 {
		t.Fatalf("results file: %v, %+v", err, back)
	}
	if _, _, err := e.Trials(o.Size, 1, o.RunsDir); err == nil || !strings.Contains(err.Error(), "steps") {
		t.Errorf("Trials of the toy, whose settings differ in steps: %v, want an error", err)
	}
	again, err := Reproduce(context.Background(), e, o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range r.Settings {
		for j := range r.Settings[i].Runs {
			a, b := r.Settings[i].Runs[j], again.Settings[i].Runs[j]
			if a.FinalReward != b.FinalReward || a.Toy.MaxShareError != b.Toy.MaxShareError {
				t.Fatalf("%s seed %d: a second reproduction differs", r.Settings[i].Label, a.Seed)
			}
		}
	}
}

// TestTrialsAreReproduceRuns checks that an experiment's trials (what the
// notebooks run) are the runs that Reproduce trained: the same directories,
// named by the settings' labels, with their seeds.
func TestTrialsAreReproduceRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 2 small Fashion-MNIST runs (a few seconds); run without -short")
	}
	dir := t.TempDir()
	e, err := Lookup("prompt-alignment")
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Size: Size{Quick: true}, Seeds: 1, Workers: 2, RunsDir: filepath.Join(dir, "runs"), Out: filepath.Join(dir, "results"), Command: "test"}
	r, err := Reproduce(context.Background(), e, o)
	if err != nil {
		t.Fatal(err)
	}
	trials, steps, err := e.Trials(o.Size, o.Seeds, o.RunsDir)
	if err != nil || steps != 20 || len(trials) != len(r.Settings) {
		t.Fatalf("Trials: %d trials of %d steps, %v; want %d of 20", len(trials), steps, err, len(r.Settings))
	}
	dirs, err := filepath.Glob(filepath.Join(o.RunsDir, "*"))
	if err != nil || len(dirs) != len(trials) {
		t.Fatalf("run directories %v (%v)", dirs, err)
	}
	for i, tr := range trials {
		if tr.Name != r.Settings[i].Label || tr.Config.Seed != 1 || tr.Config.Alpha != r.Settings[i].Alpha {
			t.Errorf("trial %d: %q seed %d alpha %g, want %q seed 1 alpha %g", i, tr.Name, tr.Config.Seed, tr.Config.Alpha, r.Settings[i].Label, r.Settings[i].Alpha)
		}
		if tr.Dir == "" || !slices.Contains(dirs, tr.Dir) {
			t.Errorf("trial %q: directory %q is not one that Reproduce trained (%v)", tr.Name, tr.Dir, dirs)
		}
	}
	if _, _, err := e.Trials(o.Size, 0, o.RunsDir); err == nil {
		t.Error("Trials with 0 seeds: no error")
	}
}

// The results files committed under docs/results read into their runs'
// outcomes: a judged task's runs with their Fréchet distance, a toy's
// (null Fréchet) with 0 and their comparison with the exact densities.
func TestReadCommittedResults(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "docs", "results")
	main, err := ReadResults(filepath.Join(dir, "main-job.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := main.setting("defaults")
	if s == nil || s.Task != "mnist-even" || s.Method != "orw" || s.Steps != 2000 || len(s.ClassNames) != 10 || len(s.Runs) == 0 {
		t.Fatalf("main-job's defaults: %+v", s)
	}
	r := s.Runs[0]
	if r.Seed != 1 || r.InitialReward != 0.49606222332824373 || r.FinalReward != 0.9713868713542244 || len(r.ClassFractions) != 10 ||
		r.Frechet != 484.14109655203276 || r.WallSeconds != 259.81700799999976 || r.ClassNames != nil {
		t.Errorf("main-job's first run: %+v", r)
	}
	toy, err := ReadResults(filepath.Join(dir, "toy2d-theory.json"))
	if err != nil {
		t.Fatal(err)
	}
	r = toy.Settings[0].Runs[0]
	if r.Frechet != 0 || r.Toy == nil || r.FinalReward != 1.1082510759001598 || len(r.ClassFractions) != 3 {
		t.Errorf("toy2d-theory's first run: %+v", r)
	}
}

// A run of a results file in the format written before RunResult held an
// experiment.Outcome reads back, and writes back the same values (a
// Fréchet distance that was not measured is left out rather than null).
func TestRunResultFormat(t *testing.T) {
	const old = `{"seed": 2, "initial_reward": 0.5, "final_reward": 0.75, "class_fractions": [0.25, 0.75], "class_entropy": 0.8,
		"w2_velocity": 0.125, "empirical_w2": 0.25, "frechet": null, "wall_seconds": 9.5}`
	var r RunResult
	if err := json.Unmarshal([]byte(old), &r); err != nil {
		t.Fatal(err)
	}
	want := RunResult{Seed: 2, Outcome: experiment.Outcome{InitialReward: 0.5, FinalReward: 0.75, ClassFractions: []float64{0.25, 0.75},
		ClassEntropy: 0.8, W2Velocity: 0.125, EmpiricalW2: 0.25, WallSeconds: 9.5}}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("read %+v, want %+v", r, want)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	const written = `{"seed":2,"final_reward":0.75,"initial_reward":0.5,"class_fractions":[0.25,0.75],"class_entropy":0.8,` +
		`"mean_pairwise":0,"w2_velocity":0.125,"empirical_w2":0.25,"eval_samples":0,"wall_seconds":9.5}`
	if string(b) != written {
		t.Errorf("wrote\n%s\nwant\n%s", b, written)
	}
	var oldForm, newForm map[string]any
	if json.Unmarshal([]byte(old), &oldForm) != nil || json.Unmarshal(b, &newForm) != nil {
		t.Fatal("not JSON")
	}
	for k, v := range oldForm {
		if nv, ok := newForm[k]; (ok || v != nil) && !reflect.DeepEqual(nv, v) {
			t.Errorf("%s: old %v, new %v", k, v, nv)
		}
	}
}
