package experiment

import (
	"bytes"
	"context"
	"image/png"
	"slices"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
	"github.com/orwcfm/orwcfm/pkg/tbevents"
)

// scalarsAt collects the scalar values of events by tag and step.
func scalarsAt(evs []tbevents.Event) map[string]map[int64]float32 {
	out := map[string]map[int64]float32{}
	for _, e := range evs {
		for _, v := range e.Values {
			if !v.HasSimple {
				continue
			}
			if out[v.Tag] == nil {
				out[v.Tag] = map[int64]float32{}
			}
			out[v.Tag][e.Step] = v.Simple
		}
	}
	return out
}

// A run with TensorBoard files: they hold every step's and evaluation's
// values as the history records them (as float32), and a sample picture
// at each evaluation; a resumed session starts its own file with a
// SessionLog START at its first new step.
func TestTensorBoardFiles(t *testing.T) {
	dir := t.TempDir()
	r := Run{Trial: Trial{Name: "tb", Task: "toy2d", Config: tinyToy()}, Dir: dir, Steps: 4}
	if _, err := r.Execute(context.Background(), Options{FinalEval: true, TensorBoard: true}); err != nil {
		t.Fatal(err)
	}
	files, err := tbevents.Files(dir)
	if err != nil || len(files) != 1 {
		t.Fatalf("event files %v, %v", files, err)
	}
	evs, err := tbevents.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].FileVersion != tbevents.FileVersion {
		t.Errorf("first event %+v", evs[0])
	}
	steps, evals, err := rundir.ReadHistory(dir+"/history.jsonl", -1)
	if err != nil {
		t.Fatal(err)
	}
	check := func(sc map[string]map[int64]float32, stepsWant []int64) {
		t.Helper()
		for _, s := range steps {
			if !slices.Contains(stepsWant, s.Step) {
				continue
			}
			for tag, want := range map[string]float64{"train/reward_mean": s.RewardMean, "train/loss": s.Loss, "train/w2": s.W2, "train/ess": s.ESS, "train/lr": s.LR} {
				if got, ok := sc[tag][s.Step]; !ok || got != float32(want) {
					t.Errorf("%s at step %d = %v (present %v), want %v", tag, s.Step, got, ok, float32(want))
				}
			}
		}
		for _, e := range evals {
			if !slices.Contains(stepsWant, e.Step) {
				continue
			}
			for tag, want := range map[string]float64{"eval/reward": e.Reward, "eval/w2_velocity": e.W2Velocity, "eval/empirical_w2": e.EmpiricalW2, "eval/class_entropy": e.ClassEntropy, "eval/class/left": float64(e.ClassCounts[0]) / 16} {
				if got, ok := sc[tag][e.Step]; !ok || got != float32(want) {
					t.Errorf("%s at step %d = %v (present %v), want %v", tag, e.Step, got, ok, float32(want))
				}
			}
		}
	}
	sc := scalarsAt(evs)
	if len(steps) != 4 || len(evals) != 3 {
		t.Fatalf("history: %d steps, %d evaluations", len(steps), len(evals))
	}
	check(sc, []int64{0, 1, 2, 3, 4})
	if n := len(sc["train/loss"]); n != 4 {
		t.Errorf("%d loss values, want 4", n)
	}
	var imageSteps []int64
	for _, e := range evs {
		for _, v := range e.Values {
			if v.Image == nil {
				continue
			}
			imageSteps = append(imageSteps, e.Step)
			img, err := png.Decode(bytes.NewReader(v.Image.Encoded))
			if err != nil || v.Tag != "samples" || img.Bounds().Dx() != v.Image.Width || img.Bounds().Dy() != v.Image.Height {
				t.Errorf("image at step %d: %q %dx%d, %v", e.Step, v.Tag, v.Image.Width, v.Image.Height, err)
			}
		}
	}
	if !slices.Equal(imageSteps, []int64{0, 2, 4}) {
		t.Errorf("images at steps %v, want 0, 2, 4", imageSteps)
	}

	// Resume to step 6: a second file, opened by a SessionLog START at 5.
	r.Steps = 6
	if _, err := r.Execute(context.Background(), Options{FinalEval: true, TensorBoard: true}); err != nil {
		t.Fatal(err)
	}
	files, _ = tbevents.Files(dir)
	if len(files) != 2 {
		t.Fatalf("event files after resuming: %v", files)
	}
	evs2, err := tbevents.ReadFile(files[1])
	if err != nil {
		t.Fatal(err)
	}
	if len(evs2) < 3 || evs2[0].FileVersion != tbevents.FileVersion || !evs2[1].SessionStart || evs2[1].Step != 5 {
		t.Fatalf("resumed file starts %+v", evs2[:min(len(evs2), 2)])
	}
	steps, evals, _ = rundir.ReadHistory(dir+"/history.jsonl", -1)
	sc2 := scalarsAt(evs2)
	check(sc2, []int64{5, 6})
	if _, ok := sc2["train/loss"][4]; ok || len(sc2["train/loss"]) != 2 {
		t.Errorf("the resumed file holds steps %v", sc2["train/loss"])
	}
}

// A finished run read again writes nothing, and a run trained without
// event files gets its history written when event files are first asked
// for.
func TestTensorBoardBackfill(t *testing.T) {
	dir := t.TempDir()
	r := Run{Trial: Trial{Name: "tb", Task: "toy2d", Config: tinyToy()}, Dir: dir, Steps: 4}
	if _, err := r.Execute(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
	if files, _ := tbevents.Files(dir); len(files) != 0 {
		t.Fatalf("files without the option: %v", files)
	}
	if res, err := r.Execute(context.Background(), Options{TensorBoard: true}); err != nil || !res.Skipped {
		t.Fatalf("finished run: skipped %v, %v", res.Skipped, err)
	}
	if files, _ := tbevents.Files(dir); len(files) != 0 {
		t.Fatalf("a run only read wrote %v", files)
	}
	r.Steps = 6
	if _, err := r.Execute(context.Background(), Options{TensorBoard: true}); err != nil {
		t.Fatal(err)
	}
	files, _ := tbevents.Files(dir)
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	evs, err := tbevents.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	sc := scalarsAt(evs)
	for _, s := range []int64{1, 2, 3, 4, 5, 6} {
		if _, ok := sc["train/loss"][s]; !ok {
			t.Errorf("no loss at step %d", s)
		}
	}
	for _, e := range evs {
		if e.SessionStart {
			t.Errorf("a session start in the first file, at step %d", e.Step)
		}
	}
	if !strings.HasPrefix(files[0], dir) {
		t.Errorf("file %s outside the run", files[0])
	}
}

// An evaluation with an evaluator's record writes its numbers under
// evaluator/, coverage/ and image/; one without writes none of them.
func TestTensorBoardEvaluator(t *testing.T) {
	dir := t.TempDir()
	w, err := tbevents.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	tb := &tbRun{w: w}
	ev := evaluatorRecord()
	if err := tb.scalars(orw.EvalRecord{Step: 10, Reward: 0.75, Evaluator: ev}); err != nil {
		t.Fatal(err)
	}
	if err := tb.scalars(orw.EvalRecord{Step: 20, Reward: 0.8}); err != nil {
		t.Fatal(err)
	}
	if err := tb.close(); err != nil {
		t.Fatal(err)
	}
	files, _ := tbevents.Files(dir)
	evs, err := tbevents.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	sc := scalarsAt(evs)
	for tag, want := range map[string]float64{
		"evaluator/reward": 0.5, "evaluator/hacking_gap": 0.25,
		"coverage/precision": 0.875, "coverage/recall": 0.625, "coverage/density": 1.125, "coverage/coverage": 0.375, "coverage/vendi": 3.5,
		"image/brightness": 0.25, "image/dark_fraction": 0.5, "image/edge_density": 0.125, "image/pixel_entropy": 0.0625,
	} {
		if got, ok := sc[tag][10]; !ok || got != float32(want) {
			t.Errorf("%s at step 10 = %v (present %v), want %v", tag, got, ok, want)
		}
		if _, ok := sc[tag][20]; ok {
			t.Errorf("%s written for an evaluation without an evaluator", tag)
		}
	}
	if sc["eval/reward"][20] != 0.8 {
		t.Errorf("eval/reward at step 20: %v", sc["eval/reward"])
	}
}
