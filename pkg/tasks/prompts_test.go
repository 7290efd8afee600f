package tasks

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/tasks/datasets"
)

func TestPromptTable(t *testing.T) {
	for _, data := range []string{"mnist", "fashion", "cifar10"} {
		if DefaultPrompt(data) == "" || len(Prompts(data)) < 3 {
			t.Errorf("%s: default %q, %d prompts", data, DefaultPrompt(data), len(Prompts(data)))
		}
	}
	for _, tc := range []struct {
		data, text string
		classes    []int
	}{
		{"fashion", "a shoe", []int{5, 7, 9}},
		{"mnist", "a digit greater than five", []int{6, 7, 8, 9}},
		{"mnist", "The Digit  Seven", []int{7}},
		{"mnist", "an even digit", EvenDigits},
		{"cifar10", "an image of a dog", []int{5}},
	} {
		p, err := LookupPrompt(tc.data, tc.text)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(p.Classes, tc.classes) {
			t.Errorf("%s %q: classes %v, want %v", tc.data, tc.text, p.Classes, tc.classes)
		}
	}
	for _, tc := range []struct{ data, text, want string }{
		{"mnist", "a shoe", `unknown mnist prompt "a shoe"; valid: "a digit greater than five", "a digit less than five",`},
		{"mnist", "an  EVN digit", `unknown mnist prompt "an  EVN digit"; did you mean "an even digit"? valid: "a digit greater than five",`},
		{"fashion", "a shoo", `unknown fashion prompt "a shoo"; did you mean "a shoe"? valid:`},
		{"fashion", "a hat", `unknown fashion prompt "a hat"; valid:`},
	} {
		_, err := LookupPrompt(tc.data, tc.text)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || !strings.HasSuffix(err.Error(), "(add more in pkg/tasks/prompts.json)") {
			t.Errorf("%s %q: error %v, want one beginning %q", tc.data, tc.text, err, tc.want)
		}
	}
	for _, tc := range []struct{ json, want string }{
		{`[{"data":"mnist","prompt":"x","classes":["eleven"]}]`, `prompt "x": unknown mnist class "eleven"; valid: 0, 1,`},
		{`[{"data":"fashion","prompt":"x","classes":["Sneakers"]}]`, `unknown fashion class "Sneakers"; did you mean "Sneaker"? valid: "T-shirt/top", "Trouser",`},
		{`[{"data":"svhn","prompt":"x","classes":["1"]}]`, `unknown data set "svhn"; valid: mnist, fashion, cifar10`},
		{`[{"data":"fashoin","prompt":"x","classes":["1"]}]`, `unknown data set "fashoin"; did you mean "fashion"?`},
		{`[{"data":"mnist","prompt":"x","classes":["1"]},{"data":"mnist","prompt":"X","classes":["2"]}]`, "repeated"},
		{`[{"data":"mnist","prompt":"x","classes":[]}]`, "must name some but not all"},
		{`[{"data":"mnist","prompt":"x","classes":["1","1"]}]`, "twice"},
		{`[{"data":"mnist","prompt":"x","classes":["1"],"default":true},{"data":"mnist","prompt":"y","classes":["2"],"default":true}]`, "2 default prompts"},
		{`{}`, "cannot unmarshal"},
	} {
		if _, err := ParsePrompts([]byte(tc.json)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.json, err, tc.want)
		}
	}
}

// TestPromptReward scores real MNIST test digits with the shipped classifier.
func TestPromptReward(t *testing.T) {
	be := testBackend(t)
	set, err := LoadData("mnist", "", datasets.Test)
	if err != nil {
		t.Fatal(err)
	}
	// Test images 0..9 of MNIST are the digits 7 2 1 0 4 1 4 9 5 9.
	if !slices.Equal(set.Labels[:10], []int{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}) {
		t.Fatalf("MNIST test labels %v", set.Labels[:10])
	}
	im := &orw.Images{N: 10, H: 28, W: 28, C: 1, Pix: set.Images.Float32(0, 10)}
	env := &RewardEnv{Backend: be, Data: "mnist", ImageShape: []int{28, 28, 1}, Prompt: "a digit greater than five"}
	r, err := NewReward("prompt", env)
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Reward(im)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range set.Labels[:10] {
		if (l > 5) != (p[i] > 0.5) {
			t.Errorf("digit %d: p(greater than five) = %.3f", l, p[i])
		}
	}
	env.TwoSided = true
	r2, _ := NewReward("prompt", env)
	p2, _ := r2.Reward(im)
	for i := range p {
		if math.Abs(p2[i]-(2*p[i]-1)) > 1e-9 {
			t.Errorf("two-sided %g, want 2p − 1 = %g", p2[i], 2*p[i]-1)
		}
	}
	// The even reward and the "an even digit" prompt are the same function.
	even, _ := NewReward("even", env)
	env.TwoSided, env.Prompt = false, "an even digit"
	pe, _ := NewReward("prompt", env)
	a, _ := even.Reward(im)
	b, _ := pe.Reward(im)
	if !slices.Equal(a, b) {
		t.Errorf("even %v != prompt %v", a, b)
	}
}
