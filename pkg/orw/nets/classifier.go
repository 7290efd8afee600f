package nets

import (
	"fmt"
	"math"
	"slices"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph ops read like math.
	"github.com/gomlx/gomlx/ml/layers/activation"
)

// ClassifierConfig holds the hyperparameters of the image classifier used by rewards.
type ClassifierConfig struct {
	// Shape is the image shape [H, W, C]; H and W must be divisible by 2^len(Channels).
	Shape []int `json:"shape"`
	// NumClasses is the number of classes (the size of the logits).
	NumClasses int `json:"num_classes"`
	// Channels are the channels of the convolutional levels, each at half the resolution
	// of the previous one.
	Channels []int `json:"channels"`
	// Hidden is the width of the dense layer before the logits.
	Hidden int `json:"hidden"`
	// Kernel is the size of the convolutions' square kernels (0: 3).
	Kernel int `json:"kernel,omitempty"`
	// SingleConv makes each level one strided convolution (no stride-1
	// convolution before it): the layout of the evaluators
	// (EvaluatorClassifierConfig).
	SingleConv bool `json:"single_conv,omitempty"`
}

// EvaluatorClassifierConfig is the evaluator's classifier for numClasses
// classes of images of the given shape [H, W, C]: a layout apart from the
// reward's (DefaultClassifierConfig), so that the two do not share blind
// spots: each level is a single 5x5 convolution of stride 2 (channels
// [32, 64]) and the hidden layer has 96 units. On MNIST: 28x28x1 -> 14x14x32 ->
// 7x7x64 -> 96 -> 10, 354,218 parameters.
func EvaluatorClassifierConfig(numClasses int, shape ...int) ClassifierConfig {
	return ClassifierConfig{Shape: slices.Clone(shape), NumClasses: numClasses, Channels: []int{32, 64}, Hidden: 96, Kernel: 5, SingleConv: true}
}

// kernel is the convolutions' kernel size.
func (c ClassifierConfig) kernel() int {
	if c.Kernel == 0 {
		return 3
	}
	return c.Kernel
}

// DefaultClassifierConfig is the classifier for numClasses classes of images of the
// given shape [H, W, C]: channels [32, 64] and a hidden layer of 128 units.
func DefaultClassifierConfig(numClasses int, shape ...int) ClassifierConfig {
	return ClassifierConfig{Shape: slices.Clone(shape), NumClasses: numClasses, Channels: []int{32, 64}, Hidden: 128}
}

// Classifier is a small convolutional classifier of images [B, H, W, C] in [-1, 1]. Each
// level l has a 3x3 convolution to Channels[l] and a 3x3 convolution of stride 2 (which
// halves the resolution, in place of pooling), both with ReLU; the flattened features go
// through a dense layer of Hidden units with ReLU to the logits. With the defaults on
// MNIST: 28x28x1 -> 28x28x32 -> 14x14x32 -> 14x14x64 -> 7x7x64 -> 128 -> 10,
// 467,818 parameters. There is no dropout or normalisation; the layers followed by ReLU
// are initialised with He's variance 2/fanIn. Kernel sets another kernel size, and
// SingleConv drops each level's stride-1 convolution (the evaluators' layout,
// EvaluatorClassifierConfig).
type Classifier struct {
	cfg ClassifierConfig
}

// NewClassifier validates cfg and returns the classifier it describes.
func NewClassifier(cfg ClassifierConfig) (*Classifier, error) {
	if len(cfg.Shape) != 3 || cfg.Shape[0] <= 0 || cfg.Shape[1] <= 0 || cfg.Shape[2] <= 0 {
		return nil, fmt.Errorf("nets: the classifier needs a positive image shape [H, W, C], got %v", cfg.Shape)
	}
	if cfg.NumClasses < 2 {
		return nil, fmt.Errorf("nets: the classifier needs NumClasses >= 2, got %d", cfg.NumClasses)
	}
	if len(cfg.Channels) == 0 {
		return nil, fmt.Errorf("nets: the classifier needs at least one level in Channels")
	}
	for _, c := range cfg.Channels {
		if c <= 0 {
			return nil, fmt.Errorf("nets: classifier channels %v must be positive", cfg.Channels)
		}
	}
	if cfg.Hidden <= 0 {
		return nil, fmt.Errorf("nets: the classifier needs Hidden > 0, got %d", cfg.Hidden)
	}
	if cfg.Kernel < 0 || cfg.Kernel > 9 {
		return nil, fmt.Errorf("nets: the classifier's Kernel must be 1 to 9 (0: 3), got %d", cfg.Kernel)
	}
	if f := 1 << len(cfg.Channels); cfg.Shape[0]%f != 0 || cfg.Shape[1]%f != 0 {
		return nil, fmt.Errorf("nets: a classifier with %d levels needs H and W divisible by %d, got %dx%d",
			len(cfg.Channels), f, cfg.Shape[0], cfg.Shape[1])
	}
	cfg.Shape = slices.Clone(cfg.Shape)
	cfg.Channels = slices.Clone(cfg.Channels)
	return &Classifier{cfg: cfg}, nil
}

// Config returns the hyperparameters.
func (c *Classifier) Config() ClassifierConfig { return c.cfg }

// Specs lists the parameters: "conv<l>" (unless SingleConv) and "down<l>" per
// level, "hidden" and "logits".
func (c *Classifier) Specs() []ParamSpec {
	var s []ParamSpec
	in := c.cfg.Shape[2]
	k := c.cfg.kernel()
	for l, ch := range c.cfg.Channels {
		if c.cfg.SingleConv {
			s = append(s, heScaled(Conv2DSpecs(fmt.Sprintf("down%d", l), k, in, ch))...)
		} else {
			s = append(s, heScaled(Conv2DSpecs(fmt.Sprintf("conv%d", l), k, in, ch))...)
			s = append(s, heScaled(Conv2DSpecs(fmt.Sprintf("down%d", l), k, ch, ch))...)
		}
		in = ch
	}
	f := 1 << len(c.cfg.Channels)
	s = append(s, heScaled(DenseSpecs("hidden", (c.cfg.Shape[0]/f)*(c.cfg.Shape[1]/f)*in, c.cfg.Hidden))...)
	return append(s, DenseSpecs("logits", c.cfg.Hidden, c.cfg.NumClasses)...)
}

// Logits maps images x [B, H, W, C] (values in [-1, 1]) to logits [B, NumClasses].
func (c *Classifier) Logits(w *Weights, x *Node) *Node {
	return Dense(w, "logits", c.Features(w, x), activation.TypeNone)
}

// Features maps images x [B, H, W, C] to the activations of the last hidden
// layer [B, Hidden]: the feature space of the Fréchet distance.
func (c *Classifier) Features(w *Weights, x *Node) *Node {
	h := x
	k := c.cfg.kernel()
	for l := range c.cfg.Channels {
		if !c.cfg.SingleConv {
			h = conv2DNamed(w, fmt.Sprintf("conv%d", l), h, k, 1, activation.TypeRelu)
		}
		h = conv2DNamed(w, fmt.Sprintf("down%d", l), h, k, 2, activation.TypeRelu)
	}
	return Dense(w, "hidden", Reshape(h, x.Shape().Dimensions[0], -1), activation.TypeRelu)
}

// conv2DNamed is the 3x3 Conv2D named prefix followed by act, fused into the product.
func conv2DNamed(w *Weights, prefix string, x *Node, k, stride int, act activation.Type) *Node {
	return conv2D(x, w.Get(prefix+"/w"), w.Get(prefix+"/b"), k, stride, act)
}

// heScaled sets the fan-in initialisation of layers followed by ReLU to He's variance
// 2/fanIn, which trained the MNIST classifier to a slightly higher test accuracy
// than variance 1/fanIn (docs/measurements.md, "Classifier initialisation").
func heScaled(specs []ParamSpec) []ParamSpec {
	for i := range specs {
		if specs[i].Init == InitFanIn {
			specs[i].Scale = math.Sqrt2
		}
	}
	return specs
}
