package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/tasks"
	"github.com/orwcfm/orwcfm/pkg/tasks/datasets"
)

func TestTasksCommand(t *testing.T) {
	code, out, errOut := runOrw(t, "tasks")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, n := range tasks.Names() {
		if !strings.Contains(out, "\n  "+n+"\n") {
			t.Errorf("orw tasks does not list %s", n)
		}
	}
	for _, want := range []string{"jpeg=0.5,even=0.5", "toy-quadratic", `"a shoe"`, "1 kB = 1000 bytes", "class:CLASS", "class:3=1,class:5=-1",
		"fashion  t-shirt/top, trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle-boot", `"a three"`, `"a sneaker"`} {
		if !strings.Contains(out, want) {
			t.Errorf("orw tasks does not mention %q", want)
		}
	}
	code, out, _ = runOrw(t, "tasks", "--json")
	var l TasksListing
	if code != 0 || json.Unmarshal([]byte(out), &l) != nil {
		t.Fatalf("exit %d, %q", code, out)
	}
	if len(l.Tasks) != len(tasks.Names()) || len(l.Rewards) != len(tasks.RewardNames()) || len(l.Prompts["fashion"]) == 0 || len(l.Classes["mnist"]) != 10 {
		t.Fatalf("listing: %+v", l)
	}
	for _, ti := range l.Tasks {
		if ti.Reward == "" || ti.Steps <= 0 || ti.Model == "" {
			t.Errorf("task %+v is incomplete", ti)
		}
		// The JPEG tasks' raw weights exp(20·r) are about 1e∓7: they are normalised.
		if jpeg := strings.HasPrefix(ti.Name, "fashion-jpeg"); jpeg != ti.Normalized {
			t.Errorf("task %s: normalize_weights %v", ti.Name, ti.Normalized)
		}
	}
	if !strings.Contains(out, `"normalize_weights": true`) {
		t.Errorf("orw tasks --json does not show the normalised weights")
	}
}

// finetuneSmoke runs a few steps of a task and returns its summary.
func finetuneSmoke(t *testing.T, dir string, args ...string) FinetuneSummary {
	t.Helper()
	all := append([]string{"finetune", "--steps", "3", "--batch", "8", "--eval-every", "3", "--eval-samples", "16", "--refresh-every", "1",
		"--out", dir, "--json", "--quiet"}, args...)
	code, out, errOut := runOrw(t, all...)
	if code != 0 {
		t.Fatalf("orw %s: exit %d: %s", strings.Join(all, " "), code, errOut)
	}
	var sum FinetuneSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if sum.Steps != 3 || sum.RunDir != dir {
		t.Fatalf("summary: %+v", sum)
	}
	for _, f := range []string{"samples/start.png", "samples/final.png", "reward.png", "w2.png", "history.jsonl"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("missing output %s", f)
		}
	}
	return sum
}

// TestFinetuneEveryTask runs every task (but cifar10-jpeg, see TestCIFAR10Path)
// for a few steps and checks that its summary carries its reward.
func TestFinetuneEveryTask(t *testing.T) {
	for _, tc := range []struct {
		task  string
		args  []string
		check func(FinetuneSummary) bool
	}{
		{"mnist-target", []string{"--target", "3"}, func(s FinetuneSummary) bool {
			return s.Reward == "target" && s.Target == "3" && s.FinalReward < 0 && s.FinalReward > -4 && len(s.ClassFractions) == 10
		}},
		{"mnist-prompt", []string{"--prompt", "the digit seven", "--two-sided"}, func(s FinetuneSummary) bool {
			return s.Prompt == "the digit seven" && s.TwoSided && s.FinalReward >= -1 && s.FinalReward <= 1 && s.Model == "latent"
		}},
		{"fashion-prompt", []string{"--model", "latent-cond", "--prompt", "a bag"}, func(s FinetuneSummary) bool {
			return s.Prompt == "a bag" && s.Model == "latent-cond" && s.FinalReward > 0 && s.FinalReward < 1
		}},
		{"fashion-prompt", nil, func(s FinetuneSummary) bool {
			return s.Prompt == "a shoe" && s.FinalReward > 0 && s.FinalReward < 1 && s.ClassNames[9] == "Ankle boot"
		}},
		{"fashion-jpeg", nil, func(s FinetuneSummary) bool { return s.Reward == "jpeg" && s.FinalReward < 0 && s.FinalReward > -2 }},
		{"fashion-jpeg-incompress", nil, func(s FinetuneSummary) bool { return s.FinalReward > 0 && s.FinalReward < 2 }},
		{"mnist-even", []string{"--reward", "jpeg=0.5,even=0.5"}, func(s FinetuneSummary) bool {
			return s.Reward == "jpeg=0.5,even=0.5" && s.FinalReward > -1 && s.FinalReward < 0.5
		}},
		{"toy2d", []string{"--reward", "toy-box"}, func(s FinetuneSummary) bool {
			return s.Toy != nil && s.Toy.ExactShares[2] > 0.3 && s.ClassNames[2] == "top" && s.FinalReward > 0
		}},
	} {
		t.Run(tc.task, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			sum := finetuneSmoke(t, dir, append([]string{"--task", tc.task}, tc.args...)...)
			if !tc.check(sum) {
				t.Errorf("summary: %+v", sum)
			}
			// A run remembers its options: another prompt or reward on it is refused.
			if tc.task == "mnist-prompt" {
				code, _, errOut := runOrw(t, "finetune", "--task", tc.task, "--prompt", "the digit zero", "--steps", "3", "--batch", "8",
					"--eval-every", "3", "--eval-samples", "16", "--refresh-every", "1", "--out", dir, "--quiet")
				if code != 1 || !strings.Contains(errOut, `has prompt "the digit seven", the flag --prompt gives "the digit zero"`) {
					t.Errorf("another prompt on the run: exit %d, %q", code, errOut)
				}
			}
		})
	}
}

func TestTaskErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--reward", "jpg"}, `unknown reward "jpg"; did you mean "jpeg"? valid: class:CLASS, even, jpeg`},
		{[]string{"--reward", "jpeg=lots"}, `the weight of "jpeg" is "lots", not a number`},
		{[]string{"--reward", "even,even"}, "appears twice"},
		{[]string{"--task", "fashion-jpeg", "--prompt", "a shoe"}, "--prompt is read only by the prompt reward"},
		{[]string{"--task", "fashion-prompt", "--prompt", "a cat"}, `unknown fashion prompt "a cat"; did you mean "a coat"? valid: "a shoe"`},
		{[]string{"--task", "fashion-jpeg", "--reward", "even"}, `reward "even" does not apply to task fashion-jpeg`},
		{[]string{"--task", "mnist-target", "--target", "99999"}, "outside the mnist test split"},
		{[]string{"--task", "cifar10-jpeg"}, "orw pretrain --task cifar10 --data DIR --model unet"},
	} {
		args := append([]string{"finetune", "--out", filepath.Join(t.TempDir(), "r"), "--steps", "1"}, tc.args...)
		code, _, errOut := runOrw(t, args...)
		if code != 1 || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("orw %s: exit %d, stderr %q; want exit 1 and one line mentioning %q", strings.Join(args, " "), code, errOut, tc.want)
		}
	}
}

// TestCIFAR10Path pretrains a pixel U-Net on tiny CIFAR-10 files written here,
// then fine-tunes it on cifar10-jpeg for a few steps (RGB JPEG reward).
func TestCIFAR10Path(t *testing.T) {
	data := t.TempDir()
	write := func(name string, n, seed int) {
		imgs := &datasets.Images{N: n, H: 32, W: 32, C: 3, Pix: make([]uint8, n*32*32*3)}
		labels := make([]int, n)
		for i := range imgs.Pix {
			imgs.Pix[i] = uint8(i*seed + i/97)
		}
		for i := range labels {
			labels[i] = (i + seed) % 10
		}
		f, err := os.Create(filepath.Join(data, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := datasets.WriteCIFAR10Batch(f, imgs, labels); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 5; i++ {
		write("data_batch_"+string(rune('0'+i))+".bin", 4, i)
	}
	write("test_batch.bin", 4, 7)
	ckpt := filepath.Join(t.TempDir(), "cifar10-unet.ckpt")
	code, out, errOut := runOrw(t, "pretrain", "--task", "cifar10", "--data", data, "--model", "unet", "--steps", "2", "--batch", "4", "--out", ckpt)
	if code != 0 || !strings.Contains(out, "wrote "+ckpt) {
		t.Fatalf("pretrain: exit %d: %s %s", code, out, errOut)
	}
	dir := filepath.Join(t.TempDir(), "run")
	code, out, errOut = runOrw(t, "finetune", "--task", "cifar10-jpeg", "--model", ckpt, "--steps", "2", "--batch", "4",
		"--eval-every", "2", "--eval-samples", "4", "--sample-steps", "2", "--out", dir, "--json", "--quiet")
	if code != 0 {
		t.Fatalf("finetune: exit %d: %s", code, errOut)
	}
	var sum FinetuneSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatal(err)
	}
	// An untrained U-Net draws noise: a 32x32 RGB noise image is about 1.8 kB.
	if sum.Steps != 2 || !(sum.FinalReward < -0.5 && sum.FinalReward > -2.5) {
		t.Fatalf("summary: %+v", sum)
	}
}
