package experiment

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
	"github.com/orwcfm/orwcfm/pkg/orw/train"
	"github.com/orwcfm/orwcfm/pkg/tasks"
)

// tinyToy is a toy2d configuration that trains a step in milliseconds.
func tinyToy() orw.Config {
	cfg := tasks.ToyConfig()
	cfg.Batch = 16
	cfg.RefreshEvery = 2
	cfg.EvalEvery = 2
	cfg.EvalSamples = 16
	cfg.W2Times = 2
	cfg.CheckpointEvery = 2
	cfg.Sampler.Steps = 4
	return cfg
}

func TestRunDirNames(t *testing.T) {
	cfg := orw.DefaultConfig()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	h.Write(b)
	for _, e := range []string{"mnist-even", "latent"} {
		h.Write([]byte{0})
		h.Write([]byte(e))
	}
	want := filepath.Join("/runs", "02_tau_sweep", "tau-0-"+hex.EncodeToString(h.Sum(nil))[:8])
	if got := RunDir("/runs", "02_tau_sweep/τ = 0", cfg, "mnist-even", "latent"); got != want {
		t.Errorf("RunDir = %s, want %s", got, want)
	}
	cfg2 := cfg
	cfg2.Tau = 1
	if RunDir("/runs", "x", cfg2) == RunDir("/runs", "x", cfg) || RunDir("/runs", "x", cfg, "a") == RunDir("/runs", "x", cfg) {
		t.Error("RunDir ignores the config or the extras")
	}
	// TrialDir hashes the task and every option that changes the run.
	tr := Trial{Name: "α = 1", Options: tasks.Options{Model: "latent"}, Config: cfg}
	if got, want := TrialDir("/r", "g", tr), RunDir("/r", "g/α = 1", cfg, "mnist-even", "latent", "", "", "false", ""); got != want {
		t.Errorf("TrialDir = %s, want %s", got, want)
	}
	other := tr
	other.Options.Prompt = "a shoe"
	if TrialDir("/r", "g", other) == TrialDir("/r", "g", tr) {
		t.Error("TrialDir ignores the options")
	}
	for in, want := range map[string]string{
		"τ = 0.5, α = 1": "tau-0.5-alpha-1",
		"ORW-CFM-W2":     "ORW-CFM-W2",
		"  ":             "run",
		"a/b":            "a-b",
		"x_y (z)":        "x_y-z",
	} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSeeds(t *testing.T) {
	a, b := Trial{Name: "a"}, Trial{Name: "b"}
	got := Seeds([]Trial{a, b}, 1, 2, 3)
	if len(got) != 6 || got[2].Name != "a" || got[2].Config.Seed != 3 || got[3].Name != "b" || got[3].Config.Seed != 1 {
		t.Errorf("Seeds: %+v", got)
	}
	if (Trial{}).TaskName() != DefaultTask || (Trial{Task: "toy2d"}).TaskName() != "toy2d" {
		t.Error("TaskName")
	}
}

// counter counts the calls of a grid's hooks.
type counter struct{ start, end, skip atomic.Int32 }

func (c *counter) hooks() Hooks {
	return Hooks{
		Start: func(_ Run, run *rundir.Run) error {
			c.start.Add(1)
			run.Loop().OnEnd("count", train.PriorityDisplay, func(*train.Loop[orw.StepRecord], error) error { c.end.Add(1); return nil })
			return nil
		},
		Skip: func(Run, Result) error { c.skip.Add(1); return nil },
	}
}

// TestGrid trains two toy runs with two workers, executes the grid again
// (both are only read), then continues it to more steps.
func TestGrid(t *testing.T) {
	root := t.TempDir()
	w2 := tinyToy()
	w2.Alpha = 1
	trials := []Trial{{Name: "α = 0", Task: "toy2d", Config: tinyToy()}, {Name: "α = 1", Task: "toy2d", Config: w2}}
	var c counter
	grid := Grid{Runs: Runs(root, "grid", 3, trials...), Workers: 2, Options: Options{Hooks: c.hooks()}}
	table, err := grid.Execute(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(table.Rows) != 2 || c.start.Load() != 2 || c.end.Load() != 2 || c.skip.Load() != 0 {
		t.Fatalf("%d rows; hooks: %d starts, %d ends, %d skips", len(table.Rows), c.start.Load(), c.end.Load(), c.skip.Load())
	}
	for i, r := range table.Rows {
		if r.Name != trials[i].Name || r.Task != "toy2d" || r.Method != "orw" || r.Steps != 3 || r.Alpha != trials[i].Config.Alpha || r.Skipped {
			t.Errorf("row %d: %+v", i, r)
		}
		if math.IsNaN(r.FinalReward) || !(r.W2Velocity >= 0) || len(r.ClassFractions) != 3 || r.WallSeconds <= 0 {
			t.Errorf("row %d: reward %v, W2 %v, classes %v, %v s", i, r.FinalReward, r.W2Velocity, r.ClassFractions, r.WallSeconds)
		}
		sum := 0.0
		for _, f := range r.ClassFractions {
			sum += f
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Errorf("row %d: class fractions sum to %v", i, sum)
		}
		if r.History == nil || len(r.History.Steps) != 3 || len(r.History.Evals) != 2 || len(r.History.ClassNames) != 3 {
			t.Errorf("row %d: history %+v", i, r.History)
		}
		if _, err := os.Stat(filepath.Join(r.RunDir, "state.ckpt")); err != nil || filepath.Dir(r.RunDir) != filepath.Join(root, "grid") {
			t.Errorf("row %d: run directory %s: %v", i, r.RunDir, err)
		}
	}
	if table.Rows[0].RunDir == table.Rows[1].RunDir {
		t.Error("two trials share a directory")
	}

	// Again: both runs are finished, so they are only read (no lock, no
	// training), with the same results.
	state := filepath.Join(table.Rows[0].RunDir, "state.ckpt")
	before, _ := os.Stat(state)
	var c2 counter
	grid.Hooks = c2.hooks()
	again, err := grid.Execute(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c2.start.Load() != 0 || c2.skip.Load() != 2 {
		t.Errorf("second execution: %d starts, %d skips; want 0 and 2", c2.start.Load(), c2.skip.Load())
	}
	after, _ := os.Stat(state)
	if !after.ModTime().Equal(before.ModTime()) {
		t.Error("reading a finished run rewrote its state")
	}
	for i := range again.Rows {
		a, b := table.Rows[i], again.Rows[i]
		if !b.Skipped || a.FinalReward != b.FinalReward || a.Steps != b.Steps || a.WallSeconds != b.WallSeconds || len(b.History.Steps) != 3 {
			t.Errorf("row %d read back as %+v, trained as %+v", i, b, a)
		}
	}

	// More steps: the runs continue where they stopped.
	grid.Runs = Runs(root, "grid", 5, trials...)
	grid.Workers = 1
	more, err := grid.Execute(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range more.Rows {
		if r.Skipped || r.Steps != 5 || r.RunDir != table.Rows[i].RunDir || len(r.History.Steps) != 5 {
			t.Fatalf("continued row %d: %+v", i, r)
		}
		for k, s := range r.History.Steps {
			if s.Step != int64(k+1) {
				t.Fatalf("row %d: history record %d is step %d", i, k, s.Step)
			}
		}
	}

	// The table as CSV and as JSON.
	var buf bytes.Buffer
	if err := more.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || strings.Join(recs[0], ",") != strings.Join(Columns, ",") || recs[2][3] != "1" || recs[2][5] != "5" || strings.Count(recs[1][9], ";") != 2 {
		t.Errorf("CSV:\n%v", recs)
	}
	buf.Reset()
	if err := more.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var objs []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &objs); err != nil || len(objs) != 2 || len(objs[0]) != len(Columns) {
		t.Fatalf("JSON %v: %s", err, buf.String())
	}
	for _, k := range Columns {
		if _, ok := objs[1][k]; !ok {
			t.Errorf("JSON row lacks %q", k)
		}
	}
	back, err := ReadJSON(&buf)
	if err != nil || len(back.Rows) != 2 || back.Rows[1].FinalReward != more.Rows[1].FinalReward || back.Rows[1].RunDir != more.Rows[1].RunDir {
		t.Errorf("ReadJSON: %v, %+v", err, back)
	}
	for _, name := range []string{"t.csv", "sub/t.json"} {
		if err := more.WriteFile(filepath.Join(t.TempDir(), name)); err != nil {
			t.Error(err)
		}
	}
	if err := more.WriteFile(filepath.Join(t.TempDir(), "t.txt")); err == nil {
		t.Error("WriteFile of a .txt gave no error")
	}
}

// TestParallelMatchesSequential checks that runs trained side by side end
// as they do one after the other (on the pure-Go backend).
func TestParallelMatchesSequential(t *testing.T) {
	trials := Seeds([]Trial{{Name: "toy", Task: "toy2d", Config: tinyToy()}}, 1, 2)
	var rows [2][]Result
	for i, workers := range []int{1, 2} {
		table, err := Grid{Runs: Runs(t.TempDir(), "g", 2, trials...), Workers: workers}.Execute(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		rows[i] = table.Rows
	}
	for i := range rows[0] {
		a, b := rows[0][i], rows[1][i]
		if a.FinalReward != b.FinalReward || a.W2Velocity != b.W2Velocity || a.Seed != b.Seed {
			t.Errorf("seed %d: sequential reward %v W2 %v, parallel %v %v", a.Seed, a.FinalReward, a.W2Velocity, b.FinalReward, b.W2Velocity)
		}
	}
	if rows[0][0].FinalReward == rows[0][1].FinalReward {
		t.Error("two seeds gave the same reward")
	}
}

// TestInterruptAndErrors interrupts a run, resumes it, and checks the errors
// of bad grids.
func TestInterruptAndErrors(t *testing.T) {
	root := t.TempDir()
	tr := Trial{Name: "toy", Task: "toy2d", Config: tinyToy()}
	r := Runs(root, "int", 6, tr)[0]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ended error
	opts := Options{Hooks: Hooks{
		Start: func(_ Run, run *rundir.Run) error {
			run.Loop().OnStep("cancel", 1, train.PriorityDisplay, func(_ *train.Loop[orw.StepRecord], s orw.StepRecord) error {
				if s.Step == 3 {
					cancel()
				}
				return nil
			})
			run.Loop().OnEnd("ended", train.PriorityDisplay, func(_ *train.Loop[orw.StepRecord], err error) error { ended = err; return nil })
			return nil
		},
	}}
	res, err := r.Execute(ctx, opts)
	if err != context.Canceled || ended != context.Canceled || res.Steps != 3 {
		t.Fatalf("interrupted run: %v (hook saw %v) at step %d; want context.Canceled at step 3", err, ended, res.Steps)
	}
	// A grid interrupted the same way reports the run and its step.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	opts.Hooks.Start = func(_ Run, run *rundir.Run) error {
		run.Loop().OnStep("cancel", 1, train.PriorityDisplay, func(*train.Loop[orw.StepRecord], orw.StepRecord) error { cancel2(); return nil })
		return nil
	}
	_, err = Grid{Runs: []Run{r}, Options: opts}.Execute(ctx2)
	var re *Error
	if !errors.Is(err, context.Canceled) || !errors.As(err, &re) || re.Step != 4 || re.Run.Name != "toy" {
		t.Fatalf("interrupted grid: %v", err)
	}
	// Executing again continues from the saved step.
	res, err = r.Execute(context.Background(), Options{FinalEval: true})
	if err != nil || res.Steps != 6 || len(res.History.Steps) != 6 {
		t.Fatalf("resumed: %v, %+v", err, res)
	}
	if e, _ := res.History.Final(); e.Step != 6 {
		t.Errorf("FinalEval: last evaluation at step %d", e.Step)
	}

	// The same directory with another config is refused, naming the difference.
	bad := r
	bad.Config.Tau = 3
	if _, err := bad.Execute(context.Background(), Options{}); err == nil || !strings.Contains(err.Error(), "it has tau 0.5, the config given has 3") {
		t.Errorf("other config: %v", err)
	}
	if _, err := (Grid{Runs: []Run{r, r}}).Execute(context.Background()); err == nil || !strings.Contains(err.Error(), "share the directory") {
		t.Errorf("two runs in one directory: %v", err)
	}
	if _, err := (Grid{}).Execute(context.Background()); err == nil {
		t.Error("an empty grid gave no error")
	}
	if _, err := (Run{Trial: tr}).Execute(context.Background(), Options{}); err == nil {
		t.Error("a run without a directory gave no error")
	}
	// A failed run stops the grid: the run after it does not start.
	unknown := Run{Trial: Trial{Name: "x", Task: "no-such-task"}, Dir: filepath.Join(root, "x"), Steps: 1}
	later := Runs(root, "later", 1, tr)[0]
	table, err := Grid{Runs: []Run{unknown, later}}.Execute(context.Background())
	if !errors.As(err, &re) || re.Run.Name != "x" || !strings.Contains(err.Error(), "unknown task") || len(table.Rows) != 0 {
		t.Errorf("failing grid: %v, %d rows", err, len(table.Rows))
	}
	if _, err := os.Stat(later.Dir); !os.IsNotExist(err) {
		t.Error("a run started after another failed")
	}
}

func TestTableMissingValues(t *testing.T) {
	r := Run{Trial: Trial{Name: "n", Task: "toy2d", Config: tinyToy()}, Dir: "/d"}.blank()
	tab := &Table{Rows: []Result{r}}
	var buf bytes.Buffer
	if err := tab.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	if line := strings.Split(buf.String(), "\n")[1]; line != "toy2d,orw,0.5,0,2,0,false,1,,,,,,,0,/d" {
		t.Errorf("CSV row %q", line)
	}
	buf.Reset()
	if err := tab.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"final_reward": null`) {
		t.Errorf("JSON %s", buf.String())
	}
	back, err := ReadJSON(&buf)
	if err != nil || !math.IsNaN(back.Rows[0].FinalReward) || back.Rows[0].Task != "toy2d" {
		t.Errorf("read back %v: %+v", err, back)
	}
	if got := (&Table{}).Histories(); got != nil {
		t.Errorf("Histories of an empty table: %v", got)
	}
}
