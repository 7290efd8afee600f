//go:build unix

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/orwcfm/orwcfm/pkg/orw/ckpt"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
)

// asCLIEnv makes the test binary behave as the orw command (see TestMain), so
// that tests can run orw as a real process: exit status, stderr, signals.
const asCLIEnv = "ORW_TEST_AS_CLI"

// panicCommand exists in the test binary only, with panicEnv set: it panics,
// to test the last resort.
const (
	panicCommand = "selftest-bug"
	panicEnv     = "ORW_TEST_PANIC_COMMAND"
)

func TestMain(m *testing.M) {
	if os.Getenv(asCLIEnv) == "1" {
		if os.Getenv(panicEnv) == "1" {
			register(command{name: panicCommand, summary: "panics (test binary only)", run: func(context.Context, []string) error {
				var m map[string]int
				//lint:ignore SA5000 the nil-map write is the point: it panics, as a bug would, to test runSafe
				m["boom"]++ // a nil-map write, as a bug would make
				return nil
			}})
		}
		os.Exit(runSafe(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// orwProcess runs orw as a child process in dir and returns its exit status,
// stdout and stderr.
func orwProcess(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	cmd := orwCommand(dir, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

func orwCommand(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), asCLIEnv+"=1")
	if len(args) > 0 && args[0] == panicCommand {
		cmd.Env = append(cmd.Env, panicEnv+"=1")
	}
	return cmd
}

// shipped is the absolute path of a shipped model file.
func shipped(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "pkg", "tasks", "models", "weights", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// toyRun makes a small toy2d run in dir (2 steps) with the CLI.
func toyRun(t *testing.T, work, dir string, steps int) {
	t.Helper()
	code, _, errOut := orwProcess(t, work, append(toyFlags(dir), "--steps", strconv.Itoa(steps))...)
	if code != 0 {
		t.Fatalf("making a toy run: exit %d: %s", code, errOut)
	}
}

func toyFlags(dir string) []string {
	return []string{"finetune", "--task", "toy2d", "--batch", "16", "--eval-samples", "16", "--eval-every", "5", "--grid-every", "100000", "--out", dir, "--quiet"}
}

// TestBadInputsCLI runs orw as a process with each bad input: each must exit
// non-zero with exactly one readable line on stderr that says what is wrong
// (listing the valid choices where there is a list), never a panic or a
// goroutine dump.
func TestBadInputsCLI(t *testing.T) {
	work := t.TempDir()
	file := func(name string, data []byte) string {
		p := filepath.Join(work, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gen, err := os.ReadFile(shipped(t, "toy2d-mlp.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	garbage := file("garbage.ckpt", bytes.Repeat([]byte("not a checkpoint "), 100))
	empty := file("empty.ckpt", nil)
	truncated := file("truncated.ckpt", gen[:len(gen)/2])
	flipped := bytes.Clone(gen)
	flipped[len(flipped)/2] ^= 1
	bitflip := file("bitflip.ckpt", flipped)
	notRun := filepath.Join(work, "not-a-run")
	os.Mkdir(notRun, 0o755)

	// Run directories with a damaged or foreign state.ckpt.
	good := filepath.Join(work, "good")
	toyRun(t, work, good, 2)
	damaged := func(name string, state []byte) string {
		d := filepath.Join(work, name)
		if err := os.CopyFS(d, os.DirFS(good)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "state.ckpt"), state, 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	state, err := os.ReadFile(filepath.Join(good, "state.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	var foreign bytes.Buffer // a run state of another model: weights of other shapes
	other := &nets.Params{Names: []string{"trainee/w"}, Tensors: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(make([]float32, 6), 2, 3)}}
	if err := ckpt.Encode(&foreign, "run-state", map[string]int{"step": 2}, other); err != nil {
		t.Fatal(err)
	}
	runTrunc := damaged("run-truncated", state[:len(state)-100])
	runGen := damaged("run-generator", gen)
	runForeign := damaged("run-foreign", foreign.Bytes())

	toy := func(extra ...string) []string {
		return append([]string{"finetune", "--task", "toy2d", "--steps", "1", "--out", filepath.Join(work, "out"), "--quiet"}, extra...)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"; valid: bench, collect, eval, finetune, info, pretrain, reproduce, sample, sweep, tasks, train-classifier`},
		{"near command", []string{"finetun"}, 2, `unknown command "finetun"; did you mean "finetune"? valid: bench, collect,`},
		{"unknown task", []string{"finetune", "--task", "mnist-odd"}, 1, `unknown task "mnist-odd"; valid: cifar10-jpeg, fashion-jpeg`},
		{"near task", []string{"finetune", "--task", "mnist-evn"}, 1, `unknown task "mnist-evn"; did you mean "mnist-even"? valid: cifar10-jpeg, fashion-jpeg`},
		{"unknown method", toy("--method", "ppo"), 1, `unknown method "ppo"; valid: orw, rwcfm, raft, reft`},
		{"near method", toy("--method", "orx"), 1, `--method: unknown method "orx"; did you mean "orw"? valid: orw, rwcfm, raft, reft`},
		{"unknown model", toy("--model", "vae"), 1, `unknown model "vae"; valid: latent, latent-cond, unet, mlp (or a generator checkpoint file, FILE.ckpt)`},
		{"unknown reward", toy("--reward", "beauty"), 1, `unknown reward "beauty"; valid: class:CLASS, even, jpeg`},
		{"near reward", toy("--reward", "toy-lineer"), 1, `unknown reward "toy-lineer"; did you mean "toy-linear"? valid: class:CLASS, even,`},
		{"near class", []string{"finetune", "--task", "fashion-jpeg", "--reward", "class:sneakr=1,jpeg"}, 1,
			`unknown fashion class "sneakr"; did you mean "sneaker"? valid: t-shirt/top, trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle-boot (or a label, 0 to 9)`},
		{"near prompt", []string{"finetune", "--task", "fashion-prompt", "--prompt", "a shoo"}, 1, `unknown fashion prompt "a shoo"; did you mean "a shoe"? valid: "a shoe", "a top",`},
		{"unknown solver", toy("--solver", "heun"), 1, `unknown ODE solver "heun"; valid: euler, midpoint, rk4`},
		{"near solver", toy("--solver", "eulr"), 1, `--solver: unknown ODE solver "eulr"; did you mean "euler"? valid: euler, midpoint, rk4`},
		{"unknown coupling", toy("--coupling", "sinkhorn"), 1, `unknown coupling "sinkhorn"; valid: independent, ot (or their aliases icfm, otcfm, exact-ot)`},
		{"unknown experiment", []string{"reproduce", "mnist-odd"}, 1, `unknown experiment "mnist-odd"; valid: tau-ablation, online-vs-offline, alpha-ablation, compression-tradeoff, prompt-alignment, baselines, toy2d-theory`},
		{"reproduce without a name", []string{"reproduce", "--quick"}, 1, "name an experiment: orw reproduce NAME"},
		{"reproduce seeds", []string{"reproduce", "tau-ablation", "--seeds", "0"}, 1, "--seeds must be in 1..100, got 0"},
		{"unknown eval task", []string{"eval", "--task", "imagenet"}, 1, `unknown --task "imagenet"; valid: mnist, fashion, cifar10 (this command's --task is a data set; fashion-mnist is fashion)`},
		{"negative tau", toy("--tau", "-3"), 1, "tau must be a finite number in [0, 1e4], got -3"},
		{"absurd tau", toy("--tau", "1e9"), 1, "tau must be a finite number in [0, 1e4], got 1e+09"},
		{"NaN tau", toy("--tau", "NaN"), 1, "tau must be a finite number in [0, 1e4], got NaN"},
		{"negative alpha", toy("--alpha", "-1"), 1, "alpha must be a finite number in [0, 1e6], got -1"},
		{"infinite alpha", toy("--alpha", "+Inf"), 1, "alpha must be a finite number in [0, 1e6], got +Inf"},
		{"negative w2 budget", toy("--w2-budget", "-1"), 1, "w2-budget must be a finite number in [0, 1e6] (0: off), got -1"},
		{"unknown alpha mode", toy("--alpha-mode", "adaptive"), 1, `unknown --alpha-mode "adaptive"; valid: fixed, advantage`},
		{"near alpha mode", toy("--alpha-mode", "advantge"), 1, `unknown --alpha-mode "advantge"; did you mean "advantage"? valid: fixed, advantage`},
		{"negative steps", toy("--steps", "-5"), 1, "--steps must be in 0..100000000, got -5"},
		{"absurd steps", toy("--steps", "99999999999999"), 1, "--steps must be in 0..100000000, got 99999999999999"},
		{"zero batch", toy("--batch", "0"), 1, "batch must be in 1..65536, got 0"},
		{"negative batch", toy("--batch", "-4"), 1, "batch must be in 1..65536, got -4"},
		{"absurd batch", toy("--batch", "10000000"), 1, "batch must be in 1..65536, got 10000000"},
		{"negative learning rate", toy("--lr", "-1"), 1, "learning rate must be positive and finite, got -1"},
		{"keep fraction", toy("--method", "raft", "--keep-fraction", "1.5"), 1, "keep-fraction must be in (0, 1], got 1.5"},
		{"pool smaller than batch", toy("--method", "reft", "--pool-size", "3"), 1, "pool-size must be in batch..4194304 for reft, got 3"},
		{"eval samples", toy("--eval-samples", "1"), 1, "eval-samples must be in 2..16384, got 1"},
		{"sample steps", toy("--sample-steps", "0"), 1, "--sample-steps must be in 1..10000, got 0"},
		{"sample count", []string{"sample", "-n", "-3"}, 1, "-n must be in 1..100000, got -3"},
		{"non-numeric flag", toy("--tau", "abc"), 2, `invalid value "abc" for flag -tau: parse error (orw finetune -h lists the flags)`},
		{"undefined flag", toy("--frobnicate"), 2, "flag provided but not defined: -frobnicate (orw finetune -h lists the flags)"},
		{"stray argument", []string{"sample", "extra"}, 2, `unexpected argument "extra"`},
		{"missing run", []string{"sample", "--run", "/nonexistent/run"}, 1, "no run at /nonexistent/run: the directory does not exist"},
		{"not a run", []string{"sample", "--run", notRun}, 1, "has no config.json (not a run directory)"},
		{"missing data dir (finetune)", toy("--data", "/nonexistent/data"), 1, "--data /nonexistent/data: no such directory"},
		{"missing data dir (eval)", []string{"eval", "--data", "/nonexistent/data"}, 1, "/nonexistent/data/t10k-images-idx3-ubyte.gz (or t10k-images-idx3-ubyte): file does not exist; point --data at a directory with the standard idx files"},
		{"missing data dir (pretrain)", []string{"pretrain", "--data", "/nonexistent/data", "--steps", "1"}, 1, "file does not exist; point --data at a directory"},
		{"cifar10 without data", []string{"pretrain", "--task", "cifar10", "--steps", "1"}, 1, "cifar10 cannot be downloaded here: pass --data DIR"},
		{"missing target file", []string{"finetune", "--task", "mnist-target", "--target", "/nonexistent.png", "--out", filepath.Join(work, "o2")}, 1, `target "/nonexistent.png" is neither a test-split index nor a readable PNG file`},
		{"target index out of range", []string{"finetune", "--task", "mnist-target", "--target", "999999", "--out", filepath.Join(work, "o2")}, 1, "target index 999999 is outside the mnist test split (0..9999)"},
		{"missing model file", toy("--model", "/nonexistent/model.ckpt"), 1, "open /nonexistent/model.ckpt: no such file or directory"},
		{"garbage model file", toy("--model", garbage), 1, "corrupt checkpoint: not an orwcfm checkpoint"},
		{"empty model file", toy("--model", empty), 1, "corrupt checkpoint: 0 bytes is too short for a checkpoint (empty or truncated file)"},
		{"truncated model file", toy("--model", truncated), 1, "corrupt checkpoint: tensors need more than the"},
		{"bit-flipped model file", toy("--model", bitflip), 1, "corrupt checkpoint: checksum mismatch (file damaged)"},
		{"classifier as model", toy("--model", shipped(t, "mnist-classifier.ckpt")), 1, `checkpoint holds a "classifier", not a generator`},
		{"generator as classifier", []string{"eval", "--classifier", shipped(t, "mnist-latent.ckpt"), "-n", "2"}, 1, `checkpoint holds a "generator", not a classifier`},
		{"generator as evaluator", []string{"eval", "--evaluator", shipped(t, "mnist-latent.ckpt"), "-n", "2"}, 1, `checkpoint holds a "generator", not a classifier`},
		{"model of another data set", []string{"finetune", "--task", "mnist-even", "--model", shipped(t, "toy2d-mlp.ckpt"), "--out", filepath.Join(work, "o3")}, 1, "task mnist-even needs a generator of mnist images of shape [28 28 1], got one of shape [2]"},
		{"image model for points", toy("--model", shipped(t, "mnist-latent.ckpt")), 1, "task toy2d needs a generator of 2-D points, got one of shape [28 28 1]"},
		{"truncated run state (resume)", append(toyFlags(runTrunc), "--steps", "4"), 1, "state.ckpt: corrupt checkpoint: tensors need more than the"},
		{"truncated run state (sample)", []string{"sample", "--run", runTrunc, "-n", "2"}, 1, "state.ckpt: corrupt checkpoint"},
		{"generator as run state", append(toyFlags(runGen), "--steps", "4"), 1, `state.ckpt holds a "generator", not a run state`},
		{"run state of another model (resume)", append(toyFlags(runForeign), "--steps", "4"), 1, "state.ckpt was written for another config than config.json holds"},
		{"run state of another model (sample)", []string{"sample", "--run", runForeign, "-n", "2"}, 1, "state.ckpt: the run's weights do not fit its base model"},
		{"other settings on a run", append(toyFlags(good), "--steps", "4", "--tau", "3"), 1, "has tau 0.5, the flag --tau gives 3: leave the flag out to continue the run with its own settings, or give another --out for a new run"},
		{"panic (last resort)", []string{panicCommand}, 3, "orw selftest-bug: internal error: assignment to entry in nil map (a bug: please report it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := orwProcess(t, work, tc.args...)
			line := strings.TrimSuffix(errOut, "\n")
			if code != tc.code || !strings.Contains(line, tc.want) {
				t.Errorf("orw %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, errOut, tc.code, tc.want)
			}
			if strings.Contains(line, "\n") || line == "" {
				t.Errorf("orw %s: stderr is not one line: %q", strings.Join(tc.args, " "), errOut)
			}
			if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic: ") {
				t.Errorf("orw %s: a panic reached the user: %q", strings.Join(tc.args, " "), errOut)
			}
			t.Logf("exit %d: %s", code, line)
		})
	}
}

// TestInterruptSavesAndResumes starts a long toy fine-tuning, checks that a
// second process is refused the run, sends SIGINT, and checks that the first
// stops with exit status 130 and one line saying where it stopped, that the
// run was saved at that step, and that running the command again resumes it.
func TestInterruptSavesAndResumes(t *testing.T) {
	work := t.TempDir()
	dir := filepath.Join(work, "run")
	cmd := orwCommand(work, append(toyFlags(dir), "--steps", "100000")...)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	hist := filepath.Join(dir, "history.jsonl")
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if b, _ := os.ReadFile(hist); bytes.Count(b, []byte(`"kind":"train"`)) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run made no progress: %s", errOut.String())
		}
	}
	code, _, second := orwProcess(t, work, append(toyFlags(dir), "--steps", "100000")...)
	if want := fmt.Sprintf("is in use by process %d", cmd.Process.Pid); code != 1 || !strings.Contains(second, want) {
		t.Fatalf("a second process on the run: exit %d, %q; want %q", code, second, want)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	msg := strings.TrimSuffix(errOut.String(), "\n")
	if cmd.ProcessState.ExitCode() != 130 || strings.Contains(msg, "\n") {
		t.Fatalf("after SIGINT: %v, stderr %q; want exit 130 and one line", err, msg)
	}
	var step int64
	if _, err := fmt.Sscanf(msg, "orw finetune: interrupted at step %d of 100000; the run is saved in "+dir, &step); err != nil || step < 3 {
		t.Fatalf("message %q: %v", msg, err)
	}
	steps, _, err := rundir.ReadHistory(hist, -1)
	if err != nil || int64(len(steps)) != step {
		t.Fatalf("history after SIGINT: %d steps, want the %d the message names (%v)", len(steps), step, err)
	}
	// Running it again resumes at the saved step (the history is trimmed to
	// it, so no step is lost or repeated).
	code, _, e := orwProcess(t, work, append(toyFlags(dir), "--steps", strconv.FormatInt(step+2, 10))...)
	if code != 0 {
		t.Fatalf("resume: exit %d: %s", code, e)
	}
	steps, _, err = rundir.ReadHistory(hist, -1)
	if err != nil || int64(len(steps)) != step+2 {
		t.Fatalf("after resuming: %d steps, want %d (%v)", len(steps), step+2, err)
	}
	for i, s := range steps {
		if s.Step != int64(i+1) {
			t.Fatalf("history record %d is step %d", i, s.Step)
		}
	}
}
