package nets

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
)

func TestClassifierConfig(t *testing.T) {
	cfg := DefaultClassifierConfig(10, 28, 28, 1)
	js, err := json.Marshal(cfg)
	if err != nil || string(js) != `{"shape":[28,28,1],"num_classes":10,"channels":[32,64],"hidden":128}` {
		t.Errorf("JSON %s, %v", js, err)
	}
	for _, c := range []struct {
		mod  func(*ClassifierConfig)
		want string
	}{
		{func(c *ClassifierConfig) { c.Shape = []int{30, 28, 1} }, "divisible by 4"},
		{func(c *ClassifierConfig) { c.Shape = nil }, "[H, W, C]"},
		{func(c *ClassifierConfig) { c.NumClasses = 1 }, "NumClasses"},
		{func(c *ClassifierConfig) { c.Hidden = 0 }, "Hidden"},
		{func(c *ClassifierConfig) { c.Channels = []int{} }, "Channels"},
		{func(c *ClassifierConfig) { c.Channels = []int{-3} }, "positive"},
		{func(c *ClassifierConfig) { c.Kernel = -1 }, "Kernel"},
		{func(c *ClassifierConfig) { c.Kernel = 11 }, "Kernel"},
	} {
		cfg := DefaultClassifierConfig(10, 28, 28, 1)
		c.mod(&cfg)
		if _, err := NewClassifier(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("config %+v: error %v, want one mentioning %q", cfg, err, c.want)
		}
	}
}

// TestEvaluatorClassifierConfig: the evaluators' layout writes its two extra
// fields (which the reward classifiers' JSON leaves out), has one strided 5x5
// convolution per level and the documented size.
func TestEvaluatorClassifierConfig(t *testing.T) {
	cfg := EvaluatorClassifierConfig(10, 28, 28, 1)
	js, err := json.Marshal(cfg)
	if err != nil || string(js) != `{"shape":[28,28,1],"num_classes":10,"channels":[32,64],"hidden":96,"kernel":5,"single_conv":true}` {
		t.Errorf("JSON %s, %v", js, err)
	}
	c, err := NewClassifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range c.Specs() {
		names = append(names, s.Name)
	}
	want := []string{"down0/w", "down0/b", "down1/w", "down1/b", "hidden/w", "hidden/b", "logits/w", "logits/b"}
	if !slices.Equal(names, want) {
		t.Errorf("specs %v, want %v", names, want)
	}
	if n := NumParams(c.Specs()); n != 354218 {
		t.Errorf("%d parameters, want 354,218", n)
	}
	if s := c.Specs()[0].Shape; !slices.Equal(s, []int{5, 5, 1, 32}) {
		t.Errorf("first kernel %v", s)
	}
}

func TestClassifierShapesAndSpecs(t *testing.T) {
	backend := backendForTest(t)
	rng := rand.New(rand.NewPCG(41, 42))
	for _, cfg := range []ClassifierConfig{
		DefaultClassifierConfig(10, 28, 28, 1), DefaultClassifierConfig(10, 32, 32, 3),
		EvaluatorClassifierConfig(10, 28, 28, 1), EvaluatorClassifierConfig(10, 32, 32, 3),
	} {
		shape := cfg.Shape
		c, err := NewClassifier(cfg)
		if err != nil {
			t.Fatal(err)
		}
		specs := c.Specs()
		t.Logf("classifier %+v: %d parameters", cfg, NumParams(specs))
		params := Init(specs, rng)
		x := blobImages(rng, 3, shape[0], shape[1], shape[2])
		var unused []string
		out, err := MustNewExec(backend, func(in []*Node) *Node {
			w := Bind(specs, in[:len(specs)])
			y := c.Logits(w, in[len(specs)])
			unused = w.Unused()
			return y
		}).Call(append(anySlice(params.Tensors), x)...)
		if err != nil {
			t.Fatal(err)
		}
		if len(unused) > 0 {
			t.Errorf("unused parameters: %v", unused)
		}
		if got := out[0].Shape().Dimensions; !slices.Equal(got, []int{3, 10}) {
			t.Errorf("logits shape %v, want [3 10]", got)
		}
	}
}

// crossEntropy is the mean softmax cross-entropy of c's logits; batch = images, labels.
func crossEntropy(c *Classifier) func(w *Weights, batch []*Node) *Node {
	return func(w *Weights, batch []*Node) *Node {
		logits := c.Logits(w, batch[0])
		onehot := OneHot(batch[1], c.Config().NumClasses, dtypes.Float32)
		return Neg(ReduceAllMean(ReduceSum(Mul(onehot, LogSoftmax(logits, -1)), -1)))
	}
}

// randomLabels returns n int32 labels in [0, k).
func randomLabels(rng *rand.Rand, n, k int) *tensors.Tensor {
	l := make([]int32, n)
	for i := range l {
		l[i] = int32(rng.IntN(k))
	}
	return tensors.FromFlatDataAndDimensions(l, n)
}

func TestClassifierGradientsFlowAndOverfits(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	c, err := NewClassifier(DefaultClassifierConfig(10, 28, 28, 1))
	if err != nil {
		t.Fatal(err)
	}
	specs := c.Specs()
	params := Init(specs, rng)
	x := blobImages(rng, 64, 28, 28, 1)
	labels := randomLabels(rng, 64, 10) // arbitrary labels: only memorisation can fit them
	checkGradientsFlow(t, specs, params, crossEntropy(c), x, labels)
	first, last := trainForTest(t, specs, params, 40, 1e-3, crossEntropy(c), x, labels)
	t.Logf("classifier overfit on 64 images with random labels: cross-entropy %.4f -> %.4f", first, last)
	if !(last < 0.1*first) {
		t.Errorf("40 Adam steps took the cross-entropy from %.4f to %.4f; want below 10%%", first, last)
	}
}

// BenchmarkClassifier times one training step's forward+backward pass (cross-entropy
// gradient with respect to all parameters) at batch 128, and inference at batch 64.
func BenchmarkClassifier(b *testing.B) {
	backend := backendForTest(b)
	rng := rand.New(rand.NewPCG(45, 46))
	c, err := NewClassifier(DefaultClassifierConfig(10, 28, 28, 1))
	if err != nil {
		b.Fatal(err)
	}
	specs := c.Specs()
	n := len(specs)
	params := Init(specs, rng)
	b.Run("fwdbwd_B128", func(b *testing.B) {
		exec := MustNewExec(backend, func(in []*Node) []*Node {
			return Gradient(crossEntropy(c)(Bind(specs, in[:n]), in[n:]), in[:n]...)
		})
		benchExec(b, exec, append(anySlice(params.Tensors), blobImages(rng, 128, 28, 28, 1), randomLabels(rng, 128, 10))...)
	})
	b.Run("logits_B64", func(b *testing.B) {
		exec := MustNewExec(backend, func(in []*Node) *Node {
			return c.Logits(Bind(specs, in[:n]), in[n])
		})
		benchExec(b, exec, append(anySlice(params.Tensors), blobImages(rng, 64, 28, 28, 1))...)
	})
}
