package tasks

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/metrics"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/tasks/datasets"
)

// evaluatorTestAccuracy is the documented test accuracy of the shipped
// evaluators (docs/models.md, "Evaluators").
var evaluatorTestAccuracy = map[string]float64{"mnist": 0.9876, "fashion": 0.8953}

// TestShippedEvaluatorAccuracy: each shipped evaluator classifies its data
// set's test split with the documented accuracy (±0.2%), has a layout of its
// own (not the reward classifier's) and says how it was trained.
func TestShippedEvaluatorAccuracy(t *testing.T) {
	be := testBackend(t)
	for data, want := range evaluatorTestAccuracy {
		ev, err := ShippedEvaluator(data)
		if err != nil {
			t.Fatal(err)
		}
		clf, err := ShippedClassifier(data)
		if err != nil {
			t.Fatal(err)
		}
		ec, cc := ev.Net.Config(), clf.Net.Config()
		if ec.SingleConv == cc.SingleConv && ec.Kernel == cc.Kernel && ec.Hidden == cc.Hidden {
			t.Fatalf("%s: the evaluator has the classifier's layout: %+v", data, ec)
		}
		if ev.Info["train_split"] != "second-half" || ev.Info["seed"] != 2.0 {
			t.Fatalf("%s: evaluator provenance %v", data, ev.Info)
		}
		if n := ev.Params.NumParams(); n*4 > 2<<20 {
			t.Fatalf("%s: the evaluator has %d parameters, over 2 MB", data, n)
		}
		test, err := LoadData(data, "", datasets.Test)
		if err != nil {
			t.Fatal(err)
		}
		labels := make([]int, len(test.Labels))
		copy(labels, test.Labels)
		acc, err := ev.Accuracy(be, ImagesFromDataset(DatasetFromSet(test)), labels)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s evaluator: %d parameters, test accuracy %.4f", data, ev.Params.NumParams(), acc)
		if math.Abs(acc-want) > 0.002 {
			t.Fatalf("%s evaluator: test accuracy %.4f, documented %.4f", data, acc, want)
		}
	}
}

// TestEvaluatorJudgeOnBaseSamples: mnist-even's judge carries the evaluator;
// on 1,000 samples of the base model its reward is within 0.1 of the
// reward's, its class counts add up, its samples cover the real even digits
// (coverage > 0.5) and the other numbers lie in their ranges.
func TestEvaluatorJudgeOnBaseSamples(t *testing.T) {
	if testing.Short() {
		t.Skip("samples 1,000 images of the base model")
	}
	be := testBackend(t)
	task, err := Lookup("mnist-even")
	if err != nil {
		t.Fatal(err)
	}
	env, err := task.BuildEnv(be, Options{})
	if err != nil {
		t.Fatal(err)
	}
	j, ok := env.Judge.(*EvaluatorJudge)
	if !ok {
		t.Fatalf("mnist-even's judge is a %T, not an *EvaluatorJudge", env.Judge)
	}
	imgs, err := SampleImages(be, env.Base, env.Base.Sampler, 1000, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := env.Reward.Reward(imgs)
	if err != nil {
		t.Fatal(err)
	}
	mean := 0.0
	for _, v := range r {
		mean += v / float64(len(r))
	}
	if _, err := j.Assess(imgs); err != nil { // the real features, once
		t.Fatal(err)
	}
	t0 := time.Now()
	rec, err := j.Assess(imgs)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(t0)
	agree, err := j.Agreement(imgs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("base samples: reward %.4f, evaluator reward %.4f, agreement %.4f; precision %.3f recall %.3f density %.3f coverage %.3f Vendi %.2f; image %+v; classes %v; Assess took %v",
		mean, *rec.Reward, agree, rec.Precision, rec.Recall, rec.Density, rec.Coverage, rec.Vendi, rec.Image, rec.ClassCounts, took)
	if rec.Reward == nil || math.Abs(*rec.Reward-mean) > 0.1 {
		t.Fatalf("evaluator reward %v, the reward's %.4f", rec.Reward, mean)
	}
	total := 0
	for _, c := range rec.ClassCounts {
		total += c
	}
	if len(rec.ClassCounts) != 10 || total != imgs.N {
		t.Fatalf("class counts %v for %d images", rec.ClassCounts, imgs.N)
	}
	if rec.Neighbours != metrics.DefaultNeighbours {
		t.Fatalf("k = %d", rec.Neighbours)
	}
	for name, v := range map[string]float64{"precision": rec.Precision, "recall": rec.Recall, "coverage": rec.Coverage} {
		if !(v >= 0 && v <= 1) {
			t.Fatalf("%s %g out of [0, 1]", name, v)
		}
	}
	// The base model draws every digit, half of them odd: coverage of the even
	// digits stays high, precision near the share of even samples or above.
	if rec.Coverage <= 0.5 || rec.Precision < 0.3 || rec.Recall <= 0.5 || !(rec.Density > 0) {
		t.Fatalf("precision %.3f recall %.3f density %.3f coverage %.3f", rec.Precision, rec.Recall, rec.Density, rec.Coverage)
	}
	if !(rec.Vendi > 1 && rec.Vendi <= float64(imgs.N)) {
		t.Fatalf("Vendi %g", rec.Vendi)
	}
	if agree < 0.8 {
		t.Fatalf("agreement of the evaluator and the classifier %.3f", agree)
	}
}

// TestEvaluatorWithoutClasses: with a reward that favours no classes (JPEG)
// the evaluator gives no reward, and the real reference is the whole test
// split: real training images cover it.
func TestEvaluatorWithoutClasses(t *testing.T) {
	be := testBackend(t)
	clf, ev := mnistJudges(t)
	j, err := NewEvaluatorJudge(ClassifierJudge{Backend: be, Classifier: clf, Data: "mnist"}, ev, JPEGReward{})
	if err != nil {
		t.Fatal(err)
	}
	train, err := LoadData("mnist", "", datasets.Train)
	if err != nil {
		t.Fatal(err)
	}
	real := ImagesFromDataset(DatasetFromSet(train)).Slice(0, 500)
	rec, err := j.Assess(real)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("500 real training images against the test split: precision %.3f recall %.3f density %.3f coverage %.3f Vendi %.2f",
		rec.Precision, rec.Recall, rec.Density, rec.Coverage, rec.Vendi)
	if rec.Reward != nil {
		t.Fatalf("a JPEG reward recomputed by the evaluator: %v", *rec.Reward)
	}
	if rec.Precision < 0.8 || rec.Coverage < 0.7 {
		t.Fatalf("real images: precision %.3f coverage %.3f", rec.Precision, rec.Coverage)
	}
}

// TestEvaluatorPromptReward: a prompt reward recomputed by the evaluator
// keeps its classes and its two-sidedness.
func TestEvaluatorPromptReward(t *testing.T) {
	be := testBackend(t)
	clf, ev := mnistJudges(t)
	train, err := LoadData("mnist", "", datasets.Train)
	if err != nil {
		t.Fatal(err)
	}
	imgs := ImagesFromDataset(DatasetFromSet(train)).Slice(0, 64)
	one := PromptReward{ClassSetReward: ClassSetReward{Backend: be, Classifier: clf, Classes: []int{7}}}
	two := one
	two.TwoSided = true
	p, err := one.WithClassifier(ev).Reward(imgs)
	if err != nil {
		t.Fatal(err)
	}
	q, err := two.WithClassifier(ev).Reward(imgs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p {
		if math.Abs(q[i]-(2*p[i]-1)) > 1e-9 {
			t.Fatalf("image %d: one-sided %g, two-sided %g", i, p[i], q[i])
		}
	}
	if got := two.WithClassifier(ev).(PromptReward); got.Classifier != ev || !got.TwoSided || !slices.Equal(got.Classes, []int{7}) {
		t.Fatalf("WithClassifier gave %+v", got)
	}
	// A sum of rewards: its classifier-based terms change judge, the others
	// stay; without such a term it has no evaluator reward.
	even := ClassSetReward{Backend: be, Classifier: clf, Classes: EvenDigits}
	mixed := &Composite{Terms: []CompositeTerm{{"jpeg", 0.5, JPEGReward{}}, {"even", 0.5, even}}}
	got, ok := mixed.WithClassifier(ev).(*Composite)
	if !ok || got.Terms[1].Reward.(ClassSetReward).Classifier != ev || got.Terms[0].Reward != (JPEGReward{}) || mixed.Terms[1].Reward.(ClassSetReward).Classifier != clf {
		t.Fatalf("composite WithClassifier gave %+v (original %+v)", got, mixed)
	}
	if r := (&Composite{Terms: []CompositeTerm{{"jpeg", 1, JPEGReward{}}}}).WithClassifier(ev); r != nil {
		t.Fatalf("a JPEG-only sum recomputed by the evaluator: %+v", r)
	}
}

// TestEvaluatorBadInput: the evaluator judge's errors say what is wrong.
func TestEvaluatorBadInput(t *testing.T) {
	be := testBackend(t)
	clf, ev := mnistJudges(t)
	fashion, err := ShippedClassifier("fashion")
	if err != nil {
		t.Fatal(err)
	}
	fiveNet, err := nets.NewClassifier(nets.EvaluatorClassifierConfig(5, 28, 28, 1))
	if err != nil {
		t.Fatal(err)
	}
	five := &Classifier{Net: fiveNet, Params: nets.Init(fiveNet.Specs(), orw.NewRNG(1).Rand), ClassNames: []string{"a", "b", "c", "d", "e"}}
	good := ClassifierJudge{Backend: be, Classifier: clf, Data: "mnist"}
	for _, tc := range []struct {
		name string
		j    ClassifierJudge
		ev   *Classifier
		want string
	}{
		{"no evaluator", good, nil, "needs a classifier and an evaluator"},
		{"no data set", ClassifierJudge{Backend: be, Classifier: clf}, ev, "names no data set"},
		{"other data set", good, fashion, `the evaluator was trained on "fashion", the classifier on "mnist"`},
		{"other classes", good, five, "the evaluator has 5 classes, the classifier 10"},
	} {
		if _, err := NewEvaluatorJudge(tc.j, tc.ev, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	j, err := NewEvaluatorJudge(good, ev, ClassSetReward{Backend: be, Classifier: clf, Classes: EvenDigits})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		im   *orw.Images
		want string
	}{
		{"nil", nil, "no images"},
		{"wrong shape", &orw.Images{N: 2, H: 32, W: 32, C: 3, Pix: make([]float32, 2*32*32*3)}, "classifier expects 28x28x1 images, got 32x32x3"},
		{"short pixels", &orw.Images{N: 2, H: 28, W: 28, C: 1, Pix: make([]float32, 10)}, "evaluator"},
	} {
		if _, err := j.Assess(tc.im); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := ShippedEvaluator("cifar10"); err == nil || !strings.Contains(err.Error(), "cifar10-evaluator.ckpt") {
		t.Errorf("cifar10 evaluator: %v", err)
	}
}

// BenchmarkEvaluateMNISTEven times one evaluation of mnist-even's defaults
// (1,000 samples) with the task's judge ("evaluator") and with the judge
// without its evaluator ("judge"): the difference is the evaluator's cost
// (docs/models.md, "Evaluators"). The real features are computed before the
// timing.
func BenchmarkEvaluateMNISTEven(b *testing.B) {
	be := testBackend(b)
	task, err := Lookup("mnist-even")
	if err != nil {
		b.Fatal(err)
	}
	env, err := task.BuildEnv(be, Options{})
	if err != nil {
		b.Fatal(err)
	}
	ej, ok := env.Judge.(*EvaluatorJudge)
	if !ok {
		b.Fatalf("judge %T", env.Judge)
	}
	for _, c := range []struct {
		name  string
		judge orw.Judge
	}{{"judge", ej.ClassifierJudge}, {"evaluator", ej}} {
		b.Run(c.name, func(b *testing.B) {
			e := env
			e.Judge = c.judge
			tr, err := orw.NewTrainer(task.Defaults(), e)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := tr.Evaluate(); err != nil { // compiles, caches
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, _, err := tr.Evaluate(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestTasksGetTheirEvaluator: the image tasks of MNIST and Fashion-MNIST judge
// with their data set's evaluator and the run's reward (a two-sided prompt
// stays two-sided, and its classes choose the real images); the 2-D toy has
// none.
func TestTasksGetTheirEvaluator(t *testing.T) {
	be := testBackend(t)
	for _, tc := range []struct {
		task    string
		opts    Options
		data    string
		classes []int // the reward's classes (nil: none)
	}{
		{"mnist-even", Options{}, "mnist", EvenDigits},
		{"fashion-prompt", Options{TwoSided: true}, "fashion", nil},
		{"fashion-jpeg", Options{}, "fashion", nil},
		{"toy2d", Options{}, "", nil},
	} {
		task, err := Lookup(tc.task)
		if err != nil {
			t.Fatal(err)
		}
		env, err := task.BuildEnv(be, tc.opts)
		if err != nil {
			t.Fatalf("%s: %v", tc.task, err)
		}
		j, ok := env.Judge.(*EvaluatorJudge)
		if tc.data == "" {
			if ok {
				t.Fatalf("%s: judged by an evaluator", tc.task)
			}
			continue
		}
		if !ok {
			t.Fatalf("%s: judge %T", tc.task, env.Judge)
		}
		if j.Data != tc.data || j.Evaluator.Info["data"] != tc.data || j.Reward == nil {
			t.Fatalf("%s: judge of %q with evaluator of %v", tc.task, j.Data, j.Evaluator.Info["data"])
		}
		if tc.classes != nil && !slices.Equal(j.rewardClasses(), tc.classes) {
			t.Fatalf("%s: classes %v", tc.task, j.rewardClasses())
		}
		if p, ok := env.Reward.(PromptReward); ok || tc.task == "fashion-prompt" {
			if !p.TwoSided || len(j.rewardClasses()) == 0 {
				t.Fatalf("%s: prompt reward %+v, classes %v", tc.task, p, j.rewardClasses())
			}
			if ev := p.WithClassifier(j.Evaluator).(PromptReward); !ev.TwoSided {
				t.Fatalf("%s: the evaluator's prompt reward lost its two sides", tc.task)
			}
		}
		if _, ok := env.Reward.(ClassifierRewarder); ok != (tc.task != "fashion-jpeg") {
			t.Fatalf("%s: reward %T classifier-based %v", tc.task, env.Reward, ok)
		}
	}
}

// mnistJudges returns the shipped MNIST classifier and evaluator.
func mnistJudges(t *testing.T) (clf, ev *Classifier) {
	t.Helper()
	clf, err := ShippedClassifier("mnist")
	if err != nil {
		t.Fatal(err)
	}
	if ev, err = ShippedEvaluator("mnist"); err != nil {
		t.Fatal(err)
	}
	return clf, ev
}

// TestClassifierFitsData: a classifier of 5 classes does not fit MNIST's 10,
// the shipped one does, and a data set without class names takes any.
func TestClassifierFitsData(t *testing.T) {
	fiveNet, err := nets.NewClassifier(nets.EvaluatorClassifierConfig(5, 28, 28, 1))
	if err != nil {
		t.Fatal(err)
	}
	five := &Classifier{Net: fiveNet, Params: nets.Init(fiveNet.Specs(), orw.NewRNG(1).Rand), ClassNames: []string{"a", "b", "c", "d", "e"}}
	if err := five.fitsData("mnist"); err == nil || !strings.Contains(err.Error(), "the mnist classifier has 5 classes, the data set 10") {
		t.Errorf("5 classes for mnist: error %v", err)
	}
	if err := five.fitsData("my-images"); err != nil {
		t.Errorf("a data set without class names: %v", err)
	}
	clf, err := ShippedClassifier("mnist")
	if err != nil {
		t.Fatal(err)
	}
	if err := clf.fitsData("mnist"); err != nil {
		t.Errorf("the shipped MNIST classifier: %v", err)
	}
}
