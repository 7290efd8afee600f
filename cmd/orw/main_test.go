package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/tasks"
	"github.com/orwcfm/orwcfm/pkg/tasks/datasets"
)

// runOrw runs the command in-process and returns its exit code, stdout and stderr.
func runOrw(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	outF, _ := os.Create(filepath.Join(dir, "stdout"))
	errF, _ := os.Create(filepath.Join(dir, "stderr"))
	oldOut, oldErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = outF, errF
	code := run(args)
	os.Stdout, os.Stderr = oldOut, oldErr
	outF.Close()
	errF.Close()
	o, _ := os.ReadFile(outF.Name())
	e, _ := os.ReadFile(errF.Name())
	return code, string(o), string(e)
}

func TestInfoJSON(t *testing.T) {
	code, out, _ := runOrw(t, "info", "--json")
	var info map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &info) != nil {
		t.Fatalf("exit %d, output %q", code, out)
	}
	for _, k := range []string{"backend", "simd", "go_version", "num_cpu"} {
		if _, ok := info[k]; !ok {
			t.Errorf("orw info --json lacks %q", k)
		}
	}
}

func TestSampleIDXAndSeed(t *testing.T) {
	dir := t.TempDir()
	idx := filepath.Join(dir, "s.idx")
	if code, _, errOut := runOrw(t, "sample", "-n", "5", "--seed", "3", "--out", idx); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	imgs, err := datasets.ReadIDXImages(idx)
	if err != nil {
		t.Fatal(err)
	}
	if imgs.N != 5 || imgs.H != 28 || imgs.W != 28 {
		t.Fatalf("idx holds %dx%dx%d", imgs.N, imgs.H, imgs.W)
	}
	a, b := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")
	runOrw(t, "sample", "-n", "9", "--seed", "3", "--out", a)
	runOrw(t, "sample", "-n", "9", "--seed", "3", "--out", b)
	pa, _ := os.ReadFile(a)
	pb, _ := os.ReadFile(b)
	if len(pa) == 0 || !bytes.Equal(pa, pb) {
		t.Fatal("the same seed gave different grids")
	}
	c := filepath.Join(dir, "c.png")
	runOrw(t, "sample", "-n", "9", "--seed", "4", "--out", c)
	if pc, _ := os.ReadFile(c); bytes.Equal(pa, pc) {
		t.Fatal("different seeds gave the same grid")
	}
}

func TestEvalJSON(t *testing.T) {
	code, out, errOut := runOrw(t, "eval", "--task", "mnist", "-n", "300", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		Acc       float64   `json:"classifier_test_accuracy"`
		Samples   int       `json:"samples"`
		TopProb   float64   `json:"mean_top_prob"`
		Fractions []float64 `json:"class_fractions"`
		Evaluator *struct {
			Acc       float64   `json:"test_accuracy"`
			Agreement float64   `json:"agreement"`
			Fractions []float64 `json:"class_fractions"`
			Even      *float64  `json:"even_reward"`
			Coverage  *struct {
				Precision, Recall, Density, Coverage, Vendi float64
				K                                           int `json:"k"`
			} `json:"coverage"`
		} `json:"evaluator"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Samples != 300 || len(rep.Fractions) != 10 || rep.Acc < 0.99 || rep.TopProb < 0.9 {
		t.Fatalf("eval report: %+v", rep)
	}
	if e := rep.Evaluator; e == nil || e.Acc < 0.985 || e.Agreement < 0.8 || len(e.Fractions) != 10 || e.Even == nil {
		t.Fatalf("eval report's evaluator: %+v", rep.Evaluator)
	}
	// The base model's samples against the test split, in the evaluator's
	// features: a good generator covers most of it.
	if c := rep.Evaluator.Coverage; c == nil || c.K != 5 || c.Precision < 0.5 || c.Recall < 0.5 || c.Coverage < 0.5 || c.Vendi < 3 {
		t.Fatalf("eval report's coverage: %+v", rep.Evaluator.Coverage)
	}
}

func TestBadInvocations(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"; valid: bench, collect, eval`},
		{[]string{"finetune", "--task", "mnist-odd"}, 1, `unknown task "mnist-odd"; valid: cifar10-jpeg, fashion-jpeg`},
		{[]string{"finetune", "--tau", "-1"}, 1, "tau must be"},
		{[]string{"finetune", "--method", "dpo"}, 1, "unknown method \"dpo\"; valid: orw, rwcfm, raft, reft"},
		{[]string{"finetune", "--nonsense"}, 2, "flag provided but not defined"},
		{[]string{"sample", "--model", "vae"}, 1, "unknown model \"vae\""},
		{[]string{"sample", "--out", "x.jpg", "-n", "2"}, 1, "use a .png"},
		{[]string{"sample", "--run", "/nonexistent/run"}, 1, "does not exist"},
		{[]string{"eval", "--task", "imagenet"}, 1, "valid: mnist, fashion, cifar10"},
		{[]string{"sample", "extra"}, 2, "unexpected argument"},
	} {
		code, _, errOut := runOrw(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("orw %s: exit %d, stderr %q; want exit %d mentioning %q", strings.Join(tc.args, " "), code, errOut, tc.code, tc.want)
		}
		if strings.Count(strings.TrimSpace(errOut), "\n") > 0 && tc.code == 1 {
			t.Errorf("orw %s: error is not one line: %q", strings.Join(tc.args, " "), errOut)
		}
	}
}

// TestFinetuneSmoke runs a short fine-tuning job end to end and checks its outputs.
func TestFinetuneSmoke(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	code, out, errOut := runOrw(t, "finetune", "--tau", "5", "--steps", "20", "--eval-every", "10", "--eval-samples", "64", "--out", dir, "--json", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var sum FinetuneSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if sum.Steps != 20 || len(sum.ClassFractions) != 10 || sum.RunDir != dir || !(sum.FinalReward > 0) || !(sum.W2Velocity > 0) {
		t.Fatalf("summary: %+v", sum)
	}
	for _, f := range []string{"samples/start.png", "samples/final.png", "before-after.png", "reward.png", "w2.png", "classes.png", "history.jsonl", "state.ckpt"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("missing output %s", f)
		}
	}
	// Before and after: 4 rows of 8 digits each (28 pixels, doubled), titled,
	// side by side with 12 pixels around, as docs/tasks/mnist-even.png.
	if w, h := pngSize(t, filepath.Join(dir, "before-after.png")); w != 932 || h != 274 {
		t.Errorf("before-after.png is %d×%d, want 932×274", w, h)
	}
	// Running it again with more steps resumes the run.
	code, out, errOut = runOrw(t, "finetune", "--tau", "5", "--steps", "30", "--eval-every", "10", "--eval-samples", "64", "--out", dir, "--json", "--quiet")
	if code != 0 {
		t.Fatalf("resume: exit %d: %s", code, errOut)
	}
	json.Unmarshal([]byte(out), &sum)
	if sum.Steps != 30 {
		t.Fatalf("resumed run ended at step %d", sum.Steps)
	}
	// Another config on the same directory is refused with the difference named.
	code, _, errOut = runOrw(t, "finetune", "--steps", "30", "--tau", "9", "--eval-every", "10", "--eval-samples", "64", "--out", dir, "--quiet")
	if code != 1 || !strings.Contains(errOut, "run "+dir+" has tau 5, the flag --tau gives 9: leave the flag out") {
		t.Fatalf("config change: exit %d, %q", code, errOut)
	}
	// Sampling from the run works while it is not open.
	png := filepath.Join(t.TempDir(), "r.png")
	if code, _, errOut := runOrw(t, "sample", "--run", dir, "-n", "4", "--out", png); code != 0 {
		t.Fatalf("sample --run: %s", errOut)
	}
}

// TestFinetuneBaselines runs each baseline method a few steps from the CLI.
func TestFinetuneBaselines(t *testing.T) {
	for _, m := range []string{"rwcfm", "raft", "reft"} {
		for _, alpha := range []string{"0", "1"} {
			dir := filepath.Join(t.TempDir(), m)
			code, out, errOut := runOrw(t, "finetune", "--method", m, "--alpha", alpha, "--steps", "6", "--batch", "16", "--pool-size", "64",
				"--eval-every", "3", "--eval-samples", "32", "--out", dir, "--json", "--quiet")
			if code != 0 {
				t.Fatalf("%s alpha %s: exit %d: %s", m, alpha, code, errOut)
			}
			var sum FinetuneSummary
			if err := json.Unmarshal([]byte(out), &sum); err != nil || sum.Method != m || sum.Steps != 6 {
				t.Fatalf("%s: summary %+v (%v)", m, sum, err)
			}
		}
	}
}

// TestTrainEvaluator: train-classifier --evaluator trains the evaluator's
// layout on the second half of the training split with seed 2 (a few steps
// here) and says so in the checkpoint.
func TestTrainEvaluator(t *testing.T) {
	if testing.Short() {
		t.Skip("loads MNIST and scores its test split")
	}
	out := filepath.Join(t.TempDir(), "ev.ckpt")
	code, stdout, errOut := runOrw(t, "train-classifier", "--evaluator", "--steps", "2", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(stdout, "evaluator: test accuracy") {
		t.Fatalf("output %q", stdout)
	}
	ev, err := tasks.ShippedEvaluator(out)
	if err != nil {
		t.Fatal(err)
	}
	if c := ev.Net.Config(); !c.SingleConv || c.Kernel != 5 || c.Hidden != 96 {
		t.Fatalf("config %+v", c)
	}
	if ev.Info["train_split"] != "second-half" || ev.Info["train_images"] != 30000.0 || ev.Info["seed"] != 2.0 {
		t.Fatalf("info %v", ev.Info)
	}
}

// TestSampleSideBySide checks --model A,B: two titled grids of the same noise
// side by side (two copies of one model give two equal halves, two models
// do not), and the errors for an .idx output and for 2-D points.
func TestSampleSideBySide(t *testing.T) {
	dir := t.TempDir()
	halvesEqual := func(models string) bool {
		t.Helper()
		out := filepath.Join(dir, strings.ReplaceAll(models, ",", "-")+".png")
		if code, _, errOut := runOrw(t, "sample", "--model", models, "-n", "4", "--seed", "2", "--out", out); code != 0 {
			t.Fatalf("sample --model %s: exit %d: %s", models, code, errOut)
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		const pad = 12
		b := img.Bounds()
		shift := (b.Dx() - pad) / 2 // vis.Grid: two tiles and three pads
		if shift < 2*28 {
			t.Fatalf("sample --model %s: a picture %dx%d, too narrow for two grids of 2x2 digits", models, b.Dx(), b.Dy())
		}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Min.X+shift; x++ {
				if img.At(x, y) != img.At(x+shift, y) {
					return false
				}
			}
		}
		return true
	}
	if !halvesEqual("latent,latent") {
		t.Error("one model twice: the two grids differ")
	}
	if halvesEqual("latent,latent-cond") {
		t.Error("two models: the two grids are the same")
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", "latent,latent", "--out", filepath.Join(dir, "x.idx")}, "side by side into a .png"},
		{[]string{"--task", "toy2d", "--model", "mlp,mlp", "--out", filepath.Join(dir, "t.png")}, "2-D points"},
	} {
		code, _, errOut := runOrw(t, append([]string{"sample", "-n", "4"}, c.args...)...)
		if code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("sample %v: exit %d, %q; want exit 1 and %q", c.args, code, errOut, c.want)
		}
	}
}
