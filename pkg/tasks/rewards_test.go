package tasks

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
)

func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := backends.Default()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRewardSpec(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want []RewardTerm
	}{
		{"jpeg", []RewardTerm{{"jpeg", 1}}},
		{"jpeg=0.5,even=0.5", []RewardTerm{{"jpeg", 0.5}, {"even", 0.5}}},
		{" jpeg = 2 , target=-1e-1 ", []RewardTerm{{"jpeg", 2}, {"target", -0.1}}},
	} {
		got, err := ParseRewardSpec(tc.spec)
		if err != nil {
			t.Fatalf("%q: %v", tc.spec, err)
		}
		if len(got) != len(tc.want) {
			t.Fatalf("%q: %v", tc.spec, got)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%q: term %d is %+v, want %+v", tc.spec, i, got[i], tc.want[i])
			}
		}
		if again, _ := ParseRewardSpec(FormatRewardSpec(got)); len(again) != len(got) {
			t.Errorf("%q does not survive formatting: %q", tc.spec, FormatRewardSpec(got))
		}
	}
	for _, tc := range []struct{ spec, want string }{
		{"", "empty reward spec"},
		{"jpg", `unknown reward "jpg"; did you mean "jpeg"? valid: class:CLASS, even, jpeg, jpeg-incompress, prompt, target, toy-box`},
		{"banana=2", `unknown reward "banana"; valid: class:CLASS, even, jpeg`},
		{"jpeg=abc", `the weight of "jpeg" is "abc", not a number`},
		{"jpeg=NaN", "finite non-zero"},
		{"jpeg=inf", "finite non-zero"},
		{"jpeg=0", "finite non-zero"},
		{"jpeg,,even", "term 2 is empty"},
		{"jpeg=1,jpeg=2", `"jpeg" appears twice`},
		{"=1", `unknown reward ""`},
	} {
		_, err := ParseRewardSpec(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one mentioning %q", tc.spec, err, tc.want)
		}
	}
}

func TestCompositeReward(t *testing.T) {
	env := &RewardEnv{Data: "toy2d", ImageShape: []int{1, 1, 2}}
	r, err := NewReward("toy-linear=2,toy-quadratic=-0.5,toy-box", env)
	if err != nil {
		t.Fatal(err)
	}
	pts := &orw.Images{N: 3, H: 1, W: 1, C: 2, Pix: []float32{0, 2, 1, 0.5, -3, 0}}
	got, err := r.Reward(pts)
	if err != nil {
		t.Fatal(err)
	}
	// r = 2·x − 0.5·(−‖x − (0, 0.5)‖²) + 1[x ∈ [−1,1]×[1,3]]
	want := []float64{2*0 + 0.5*2.25 + 1, 2*1 + 0.5*1 + 0, 2*-3 + 0.5*(9+0.25) + 0}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-6 {
			t.Errorf("point %d: composite %g, want %g", i, got[i], want[i])
		}
	}
	parts, err := r.(*Composite).Parts(pts)
	if err != nil || len(parts) != 3 || parts[2][0] != 1 {
		t.Fatalf("parts %v, %v", parts, err)
	}
	// A single name with weight 1 is the reward itself, not a composite.
	single, err := NewReward("toy-box", env)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := single.(*Composite); ok {
		t.Error("a single reward was wrapped in a composite")
	}
	// Rewards of other data sets are refused with the reason.
	if _, err := NewReward("even", env); err == nil || !strings.Contains(err.Error(), "needs data set mnist") {
		t.Errorf("even on toy2d: %v", err)
	}
	if _, err := NewReward("jpeg", env); err == nil || !strings.Contains(err.Error(), "image data set") {
		t.Errorf("jpeg on toy2d: %v", err)
	}
}

func TestRegistry(t *testing.T) {
	want := []string{"cifar10-jpeg", "fashion-jpeg", "fashion-jpeg-incompress", "fashion-prompt", "mnist-even", "mnist-prompt", "mnist-target", "toy2d"}
	if got := strings.Join(Names(), ","); got != strings.Join(want, ",") {
		t.Fatalf("tasks %s, want %s", got, strings.Join(want, ","))
	}
	for name, want := range map[string]string{
		"mnist-odd":    `unknown task "mnist-odd"; valid: cifar10-jpeg, fashion-jpeg, fashion-jpeg-incompress, fashion-prompt, mnist-even,`,
		"mnist-evn":    `unknown task "mnist-evn"; did you mean "mnist-even"? valid: cifar10-jpeg, fashion-jpeg,`,
		"fashoin-jpeg": `unknown task "fashoin-jpeg"; did you mean "fashion-jpeg"? valid:`,
		"toy":          `unknown task "toy"; did you mean "toy2d"? valid:`,
	} {
		if _, err := Lookup(name); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("task %q: error %v, want one beginning %q", name, err, want)
		}
	}
	for _, n := range Names() {
		task, _ := Lookup(n)
		if task.Summary == "" || task.Reward == "" || task.Steps <= 0 || task.Defaults == nil || (task.Env == nil && task.EnvWith == nil) {
			t.Errorf("task %s is incomplete", n)
		}
		if err := task.Defaults().Validate(); err != nil {
			t.Errorf("task %s: %v", n, err)
		}
		opts, err := task.Resolve(Options{})
		if err != nil {
			t.Errorf("task %s: %v", n, err)
		}
		if strings.HasSuffix(n, "-prompt") && opts.Prompt == "" {
			t.Errorf("task %s has no default prompt", n)
		}
	}
	for _, n := range RewardNames() {
		d, _ := LookupReward(n)
		if d.Definition == "" || (d.New == nil) == (d.NewArg == nil) || (d.Arg == "") != (d.NewArg == nil) {
			t.Errorf("reward %s is incomplete", n)
		}
	}
}

func TestResolveOptions(t *testing.T) {
	jpeg, _ := Lookup("fashion-jpeg")
	for _, tc := range []struct {
		task string
		opts Options
		want string
	}{
		{"fashion-jpeg", Options{Prompt: "a shoe"}, "--prompt is read only by the prompt reward"},
		{"fashion-jpeg", Options{Target: "3"}, "--target is read only by the target reward"},
		{"fashion-jpeg", Options{TwoSided: true}, "--two-sided applies to the prompt reward"},
		{"fashion-prompt", Options{Prompt: "a digit"}, `unknown fashion prompt "a digit"; valid: "a shoe", "a top"`},
		{"fashion-prompt", Options{Prompt: "a sneeker"}, `unknown fashion prompt "a sneeker"; did you mean "a sneaker"? valid: "a shoe"`},
		{"fashion-jpeg", Options{Reward: "even"}, `reward "even" does not apply to task fashion-jpeg`},
		{"toy2d", Options{Reward: "jpeg"}, `reward "jpeg" does not apply to task toy2d`},
		{"mnist-even", Options{Reward: "jpeg=x"}, "not a number"},
	} {
		task, _ := Lookup(tc.task)
		if _, err := task.Resolve(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %+v: error %v, want one mentioning %q", tc.task, tc.opts, err, tc.want)
		}
	}
	opts, err := jpeg.Resolve(Options{Reward: "prompt=1,jpeg=0.1", Prompt: "A  SHOE"})
	if err != nil || opts.Prompt != "a shoe" || opts.Model != "latent" {
		t.Errorf("composite with a prompt: %+v, %v", opts, err)
	}
	target, _ := Lookup("mnist-target")
	if opts, _ := target.Resolve(Options{}); opts.Target != DefaultTarget {
		t.Errorf("mnist-target's default target is %q", opts.Target)
	}
	// Runs record their options; a change is named.
	m := Options{Model: "latent", Prompt: "a shoe"}.meta(jpeg)
	if m["prompt"] != "a shoe" || m["model"] != "latent" {
		t.Errorf("the run metadata lacks the options: %v", m)
	}
	if d := metaDiff(m, Options{Model: "latent", Prompt: "a top"}.meta(jpeg)); len(d) != 1 || d[0] != `prompt "a shoe", the options give "a top"` {
		t.Errorf("metaDiff: %v", d)
	}
	// Runs made before options existed have only task, data and model.
	if d := metaDiff(map[string]string{"task": "mnist-even", "data": "mnist", "model": "latent"}, RunMeta(mustTask(t, "mnist-even"), "latent")); len(d) != 0 {
		t.Errorf("old run metadata differs: %v", d)
	}
}

func mustTask(t *testing.T, name string) *Task {
	t.Helper()
	task, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// TestRewardedClasses checks which rewards tell the classes they favour:
// a class set, a prompt and a sum with such terms do, through ClassRewarder; a
// JPEG reward does not.
func TestRewardedClasses(t *testing.T) {
	for _, tc := range []struct {
		r    orw.Reward
		want []int
	}{
		{ClassSetReward{Classes: EvenDigits}, EvenDigits},
		{&ClassSetReward{Classes: []int{3}}, []int{3}},
		{PromptReward{ClassSetReward: ClassSetReward{Classes: []int{1, 7}}, TwoSided: true}, []int{1, 7}},
		{&PromptReward{ClassSetReward: ClassSetReward{Classes: []int{2}}}, []int{2}},
		{JPEGReward{}, nil},
		// A sum favours the classes of its terms of positive weight.
		{&Composite{Terms: []CompositeTerm{
			{Weight: 1, Reward: ClassSetReward{Classes: []int{3}}},
			{Weight: -1, Reward: ClassSetReward{Classes: []int{5}}},
			{Weight: 0.5, Reward: &PromptReward{ClassSetReward: ClassSetReward{Classes: []int{7, 3}}}},
			{Weight: 1, Reward: JPEGReward{}},
		}}, []int{3, 7}},
		{&Composite{Terms: []CompositeTerm{{Weight: 1, Reward: JPEGReward{}}}}, nil},
	} {
		var got []int
		if c, ok := tc.r.(ClassRewarder); ok {
			got = c.RewardedClasses()
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%T: rewarded classes %v, want %v", tc.r, got, tc.want)
		}
	}
}
