package main

import (
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/experiment"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
)

// pngSize is the width and height of a PNG file.
func pngSize(t *testing.T, path string) (int, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c.Width, c.Height
}

// finetuneJSON runs orw finetune with args and --json --quiet, and returns
// its summary; it fails the test when orw fails.
func finetuneJSON(t *testing.T, args ...string) FinetuneSummary {
	t.Helper()
	code, out, errOut := runOrw(t, append(append([]string{"finetune"}, args...), "--json", "--quiet")...)
	if code != 0 {
		t.Fatalf("orw finetune %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	var sum FinetuneSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	return sum
}

// TestFinetuneContinues: orw finetune --out DIR on an existing run
// continues it with the settings it records, to --steps or to the steps it
// was last trained to; the flags given are compared with the run's, a
// matching one is accepted, and a conflict names the run's value and the
// flag as it was typed. A run whose reward is not registered in orw says
// how to register it.
func TestFinetuneContinues(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	sum := finetuneJSON(t, "--task", "toy2d", "--batch", "16", "--eval-samples", "16", "--eval-every", "2", "--checkpoint-every", "2", "--steps", "4", "--out", dir)
	if sum.Steps != 4 {
		t.Fatalf("made a run of %d steps", sum.Steps)
	}
	// The before/after picture of a point task: two scatters of 5 × 4.5
	// inches at 96 dpi, 12 pixels apart and around.
	if w, h := pngSize(t, filepath.Join(dir, beforeAfterFile)); w != 2*480+3*12 || h != 432+2*12 {
		t.Errorf("%s is %d×%d, want 996×456", beforeAfterFile, w, h)
	}

	// No flags but --steps: the run's own settings (task toy2d, batch 16),
	// not the defaults of the flags (mnist-even, batch 128).
	sum = finetuneJSON(t, "--out", dir, "--steps", "6")
	info, err := rundir.ReadRunInfo(dir)
	if err != nil || sum.Task != "toy2d" || sum.Steps != 6 || info.Config.Batch != 16 {
		t.Fatalf("continued with --steps 6: task %s, %d steps, batch %d (%v)", sum.Task, sum.Steps, info.Config.Batch, err)
	}
	// No flags at all: to the steps it was last trained to.
	if sum = finetuneJSON(t, "--out", dir); sum.Steps != 6 {
		t.Errorf("continued without flags to step %d, want 6", sum.Steps)
	}
	// Flags that agree with the run, the task's own reward named among them.
	if sum = finetuneJSON(t, "--out", dir, "--task", "toy2d", "-batch", "16", "--tau=0.5", "--reward", "toy-linear"); sum.Steps != 6 {
		t.Errorf("continued with matching flags to step %d, want 6", sum.Steps)
	}

	code, _, errOut := runOrw(t, "finetune", "--out", dir, "-batch", "32", "--tau", "2", "--quiet")
	want := "orw finetune: run " + dir + " has batch 16, the flag -batch gives 32; tau 0.5, the flag --tau gives 2: " +
		"leave these flags out to continue the run with its own settings, or give another --out for a new run\n"
	if code != 1 || errOut != want {
		t.Errorf("conflicting flags: exit %d, stderr\n%q\nwant\n%q", code, errOut, want)
	}
	code, _, errOut = runOrw(t, "finetune", "--out", dir, "--reward", "toy-box", "--quiet")
	if want := `run ` + dir + ` has reward toy-linear, the flag --reward gives toy-box: leave the flag out`; code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("another reward: exit %d, %q; want %q", code, errOut, want)
	}

	// A run made by a program that registered its own reward.
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.Replace(string(b), `"model": "mlp"`, `"model": "mlp", "reward_override": "three-minus-five"`, 1))
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runOrw(t, "finetune", "--out", dir, "--quiet")
	want = `orw finetune: reward "three-minus-five" of run ` + dir + ` is not registered in this program: ` +
		`call tasks.RegisterReward(&tasks.RewardDef{Name: "three-minus-five", …}) before opening the run, or open it from the program that registers it` + "\n"
	if code != 1 || errOut != want {
		t.Errorf("a reward orw does not know: exit %d, stderr\n%q\nwant\n%q", code, errOut, want)
	}
}

// TestFinetuneProgressBar: the bar labels its numbers (the training
// batch's reward and the evaluation's) and shows no time left until the
// speed is measured; its last line shows the final evaluation, made after
// the last step.
func TestFinetuneProgressBar(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	code, out, errOut := runOrw(t, "finetune", "--task", "toy2d", "--batch", "16", "--eval-samples", "16", "--eval-every", "5", "--steps", "8", "--out", dir, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var sum FinetuneSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	first, last := lines[0], lines[len(lines)-1]
	for _, want := range []string{"toy2d ", " 1/8 batch reward ", ", eval reward ", ", w2 ", " steps/s, "} {
		if !strings.Contains(first, want) {
			t.Errorf("first line %q lacks %q", first, want)
		}
	}
	if !strings.HasSuffix(first, "elapsed, time left –") {
		t.Errorf("first line %q: want no estimate of the time left after one step", first)
	}
	if !strings.Contains(last, " 8/8 batch reward ") || !strings.HasSuffix(last, "elapsed, time left 0s") {
		t.Errorf("last line %q", last)
	}
	if want := fmt.Sprintf(", eval reward %.3f,", sum.FinalReward); !strings.Contains(last, want) {
		t.Errorf("last line %q lacks the final evaluation's %q", last, want)
	}
}

// TestSweepContinues: a sweep records its grid in its directory
// (grid.json), and orw sweep run DIR, or --name, continues it: --steps
// extends its runs, a flag that agrees with it is accepted, and a conflict
// names the sweep's values and the flag as typed. Each run writes its
// final sample grid.
func TestSweepContinues(t *testing.T) {
	dir := t.TempDir()
	grid := tinySweep(t, dir)
	sweepDir := filepath.Join(dir, "runs", "tiny")
	if code, _, errOut := runOrw(t, "sweep", "run", grid, "--seeds", "1"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(sweepDir, experiment.SweepGridFile)); err != nil {
		t.Fatalf("the sweep did not record its grid: %v", err)
	}
	runs := mustGlob(t, filepath.Join(sweepDir, "*", "config.json"))
	for _, c := range runs {
		final := filepath.Join(filepath.Dir(c), "samples", "final.png")
		if w, h := pngSize(t, final); w != 480 || h != 432 {
			t.Errorf("%s is %d×%d, want a 480×432 scatter", final, w, h)
		}
	}

	code, out, errOut := runOrw(t, "sweep", "run", sweepDir, "--steps", "6")
	if code != 0 || strings.Count(out, "at step 4 of 6") != 2 || !strings.Contains(out, "collected 2 runs") {
		t.Fatalf("continued to 6 steps: exit %d: %s%s", code, out, errOut)
	}
	code, out, errOut = runOrw(t, "sweep", "run", "--name", "tiny", "--out", filepath.Join(dir, "runs"))
	if code != 0 || strings.Count(out, "already finished (6 steps), skipped") != 2 {
		t.Errorf("continued by --name: exit %d: %s%s", code, out, errOut)
	}
	code, out, errOut = runOrw(t, "sweep", "run", sweepDir, "--alpha", "0,0.50", "--batch", "16", "--seeds", "1")
	if code != 0 || strings.Count(out, "skipped") != 2 {
		t.Errorf("matching flags: exit %d: %s%s", code, out, errOut)
	}

	code, _, errOut = runOrw(t, "sweep", "run", sweepDir, "--alpha", "0,1", "-batch", "32", "--tau", "2")
	want := "orw sweep: sweep " + sweepDir + " has alpha 0,0.5, the flag --alpha gives 0,1; batch 16, the flag -batch gives 32; " +
		"no tau (the default), the flag --tau gives 2: leave these flags out to continue the sweep with its own settings, or give another --name for a new sweep\n"
	if code != 1 || errOut != want {
		t.Errorf("conflicting flags: exit %d, stderr\n%q\nwant\n%q", code, errOut, want)
	}
	code, _, errOut = runOrw(t, "sweep", "run", t.TempDir())
	if code != 1 || !strings.Contains(errOut, "holds no grid.json") {
		t.Errorf("a directory without a sweep: exit %d: %s", code, errOut)
	}
}
