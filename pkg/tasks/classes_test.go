package tasks

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/tasks/datasets"
)

// mnistTestImages returns the first n MNIST test images and their labels.
func mnistTestImages(t *testing.T, n int) (*orw.Images, []int) {
	t.Helper()
	set, err := LoadData("mnist", "", datasets.Test)
	if err != nil {
		t.Fatal(err)
	}
	return &orw.Images{N: n, H: 28, W: 28, C: 1, Pix: set.Images.Float32(0, n)}, set.Labels[:n]
}

// TestClassRewardDifference checks that class:3=1,class:5=-1 is p(3) − p(5)
// of the shipped MNIST classifier on real test digits: positive on the threes,
// negative on the fives.
func TestClassRewardDifference(t *testing.T) {
	be := testBackend(t)
	im, labels := mnistTestImages(t, 100)
	env := &RewardEnv{Backend: be, Data: "mnist", ImageShape: []int{28, 28, 1}}
	r, err := NewReward("class:3=1,class:5=-1", env)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Reward(im)
	if err != nil {
		t.Fatal(err)
	}
	clf, err := ShippedClassifier("mnist")
	if err != nil {
		t.Fatal(err)
	}
	probs, err := clf.Probs(be, im)
	if err != nil {
		t.Fatal(err)
	}
	threes, fives := 0, 0
	for i, l := range labels {
		if want := probs[i][3] - probs[i][5]; math.Abs(got[i]-want) > 1e-6 {
			t.Errorf("image %d (a %d): reward %g, want p3 − p5 = %g", i, l, got[i], want)
		}
		switch l {
		case 3:
			threes++
			if got[i] <= 0.5 {
				t.Errorf("image %d, a three: p3 − p5 = %g", i, got[i])
			}
		case 5:
			fives++
			if got[i] >= -0.5 {
				t.Errorf("image %d, a five: p3 − p5 = %g", i, got[i])
			}
		}
	}
	if threes == 0 || fives == 0 {
		t.Fatalf("the first 100 test digits hold %d threes and %d fives", threes, fives)
	}
	// One term of weight 1 is the class's probability itself, a ClassRewarder.
	one, err := NewReward("class:3", env)
	if err != nil {
		t.Fatal(err)
	}
	if cr, ok := one.(ClassRewarder); !ok || !slices.Equal(cr.RewardedClasses(), []int{3}) {
		t.Errorf("class:3 is a %T, not the reward of class 3", one)
	}
	p3, _ := one.Reward(im)
	for i := range p3 {
		if p3[i] != probs[i][3] {
			t.Fatalf("image %d: class:3 gives %g, p3 is %g", i, p3[i], probs[i][3])
		}
	}
	// The prompt "a three" is the same function.
	env.Prompt = "a three"
	three, err := NewReward("prompt", env)
	if err != nil {
		t.Fatal(err)
	}
	if pt, _ := three.Reward(im); !slices.Equal(pt, p3) {
		t.Errorf("prompt \"a three\" %v differs from class:3 %v", pt[:5], p3[:5])
	}
}

// TestClassRewardNames checks that a class given by name, in any case or
// spelling of its spaces, or by label is the same term.
func TestClassRewardNames(t *testing.T) {
	for _, tc := range []struct {
		data  string
		args  []string
		label int
	}{
		{"fashion", []string{"sneaker", "Sneaker", "7", " SNEAKER "}, 7},
		{"fashion", []string{"ankle-boot", "Ankle boot", "ankle_boot", "9"}, 9},
		{"fashion", []string{"t-shirt/top", "T-shirt/top", "0"}, 0},
		{"mnist", []string{"3"}, 3},
		{"cifar10", []string{"dog", "DOG", "5"}, 5},
	} {
		for _, a := range tc.args {
			if k, err := classIndex(tc.data, a); err != nil || k != tc.label {
				t.Errorf("%s class %q: label %d, %v; want %d", tc.data, a, k, err, tc.label)
			}
		}
	}
	// Built rewards: the name and the label score any images alike.
	be := testBackend(t)
	im, _ := mnistTestImages(t, 20)
	env := &RewardEnv{Backend: be, Data: "fashion", ImageShape: []int{28, 28, 1}}
	var scores [][]float64
	for _, spec := range []string{"class:sneaker", "class:7", "class:Sneaker=1"} {
		r, err := NewReward(spec, env)
		if err != nil {
			t.Fatal(err)
		}
		s, err := r.Reward(im)
		if err != nil {
			t.Fatal(err)
		}
		scores = append(scores, s)
	}
	if !slices.Equal(scores[0], scores[1]) || !slices.Equal(scores[0], scores[2]) {
		t.Errorf("class:sneaker %v, class:7 %v, class:Sneaker %v differ", scores[0], scores[1], scores[2])
	}
}

// TestClassRewardErrors checks the errors of bad class terms: they name the
// problem and list the valid classes.
func TestClassRewardErrors(t *testing.T) {
	fashionValid := "valid: t-shirt/top, trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle-boot (or a label, 0 to 9)"
	for _, tc := range []struct {
		data, arg, want string
	}{
		{"fashion", "snekaer", `unknown fashion class "snekaer"; did you mean "sneaker"? ` + fashionValid},
		{"fashion", "10", `unknown fashion class "10"; ` + fashionValid},
		{"fashion", "hat", `unknown fashion class "hat"; ` + fashionValid},
		{"mnist", "three", `unknown mnist class "three"; valid: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9`},
		{"mnist", "-1", `unknown mnist class "-1"; valid: 0, 1, 2`},
		{"toy2d", "1", "data set toy2d has no classes"},
	} {
		_, err := classIndex(tc.data, tc.arg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s class %q: error %v, want one with %q", tc.data, tc.arg, err, tc.want)
		}
	}
	// Resolve finds a bad class before anything is loaded; the spec's syntax
	// errors come from ParseRewardSpec.
	for _, tc := range []struct{ task, spec, want string }{
		{"fashion-prompt", "class:snekaer", `reward class:snekaer of task fashion-prompt: unknown fashion class "snekaer"; did you mean "sneaker"?`},
		{"mnist-even", "class:3=1,class:11=-1", `unknown mnist class "11"`},
		{"mnist-even", "class", `reward "class" needs a class after a colon: class:CLASS`},
		{"mnist-even", "class:=2", `reward "class" needs a class after a colon`},
		{"mnist-even", "even:3", `reward "even" takes no argument, got "even:3"`},
		{"mnist-even", "clas:3", `unknown reward "clas"; did you mean "class"? valid: class:CLASS, even, jpeg`},
		{"mnist-even", "class:3,class:3=2", `"class:3" appears twice`},
		{"toy2d", "class:1", `reward "class" does not apply to task toy2d`},
	} {
		_, err := mustTask(t, tc.task).Resolve(Options{Reward: tc.spec})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s --reward %s: error %v, want one with %q", tc.task, tc.spec, err, tc.want)
		}
	}
	if _, err := mustTask(t, "mnist-even").Resolve(Options{Reward: "class:3=1, class : 5 = -1"}); err != nil {
		t.Errorf("a valid class spec with spaces: %v", err)
	}
	// CIFAR-10 ships no classifier: the error says how to make one and which
	// files are shipped.
	env := &RewardEnv{Data: "cifar10", ImageShape: []int{32, 32, 3}}
	_, err := NewReward("class:dog", env)
	for _, want := range []string{"orw train-classifier --task cifar10", `unknown shipped model "cifar10-classifier.ckpt"; valid: fashion-classifier.ckpt,`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("class:dog on cifar10: error %v, want one with %q", err, want)
		}
	}
}

// TestEveryClassHasAPrompt checks that each class of the labelled data sets
// has a prompt that names it alone ("a three", "a sneaker").
func TestEveryClassHasAPrompt(t *testing.T) {
	for _, data := range dataSetNames {
		for k, name := range dataClassNames(data) {
			found := false
			for _, p := range Prompts(data) {
				found = found || slices.Equal(p.Classes, []int{k})
			}
			if !found {
				t.Errorf("%s class %q has no prompt of its own", data, name)
			}
		}
	}
	for _, tc := range []struct {
		data, text string
		class      int
	}{
		{"mnist", "a three", 3},
		{"mnist", "an eight", 8},
		{"fashion", "a sneaker", 7},
		{"fashion", "an ankle boot", 9},
		{"fashion", "a t-shirt or top", 0},
		{"cifar10", "a truck", 9},
	} {
		p, err := LookupPrompt(tc.data, tc.text)
		if err != nil || !slices.Equal(p.Classes, []int{tc.class}) {
			t.Errorf("%s %q: %v, %v; want class %d", tc.data, tc.text, p.Classes, err, tc.class)
		}
	}
}

// TestRewardEnvSharesItsClassifier checks that every classifier-based term of
// a spec gets the environment's one classifier (RewardEnv.Classifier), which a
// registered reward can ask for too.
func TestRewardEnvSharesItsClassifier(t *testing.T) {
	env := &RewardEnv{Data: "mnist", ImageShape: []int{28, 28, 1}}
	r, err := NewReward("class:3=1,class:5=-1,even=0.5", env)
	if err != nil {
		t.Fatal(err)
	}
	clf, err := env.Classifier()
	if err != nil {
		t.Fatal(err)
	}
	c, ok := r.(*Composite)
	if !ok || len(c.Terms) != 3 {
		t.Fatalf("the spec gave a %T", r)
	}
	for _, term := range c.Terms {
		cs, ok := term.Reward.(ClassSetReward)
		if !ok || cs.Classifier != clf {
			t.Errorf("term %q: a %T whose classifier is not the environment's", term.Name, term.Reward)
		}
	}
}
