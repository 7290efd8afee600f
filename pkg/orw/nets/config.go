package nets

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/core/graph"

	"github.com/orwcfm/orwcfm/internal/suggest"
)

// Velocity is a velocity field v(t, x [, class]) over a flow space whose samples
// have shape Shape(). It is a pure function of its parameters: the same network
// value serves the trainee, the policy snapshot and the frozen reference.
type Velocity interface {
	// Config returns the hyperparameters that rebuild this network with New.
	Config() Config
	// Shape is the shape of one sample x (without the batch axis).
	Shape() []int
	// Specs lists the learnable tensors, in binding order.
	Specs() []ParamSpec
	// Apply returns v(t, x) with the shape of x. x is [B, Shape()...], t is [B];
	// labels is int32 [B] for a class-conditional network and nil otherwise.
	Apply(w *Weights, t, x, labels *graph.Node) *graph.Node
}

// SharedTimeVelocity is a Velocity that evaluates a batch whose samples share
// one time t more cheaply than Apply does with t broadcast: ODE solvers (every
// step of the sampler) and the W2 estimate at fixed times use it where a
// network provides it.
type SharedTimeVelocity interface {
	Velocity
	// ApplyShared returns v(t, x) for x [B, Shape()...] and one time t (a
	// scalar); it equals Apply with t broadcast to [B] up to float32 rounding.
	ApplyShared(w *Weights, t, x, labels *graph.Node) *graph.Node
}

// Config holds the hyperparameters of a velocity network. The defaults of each kind
// live in DefaultConfig; zero fields are filled from it by New.
type Config struct {
	// Kind is "mlp", "unet" or "unet-paper".
	Kind string `json:"kind"`
	// Shape is the shape of one sample: [H, W, C] for images, [D] for latent codes.
	Shape []int `json:"shape"`
	// TimeDim is the size of the sinusoidal time embedding.
	TimeDim int `json:"time_dim,omitempty"`
	// Width and Depth are the hidden size and number of hidden layers of "mlp".
	Width int `json:"width,omitempty"`
	Depth int `json:"depth,omitempty"`
	// Channels are the channels of the "unet" levels (the first is the full resolution).
	Channels []int `json:"channels,omitempty"`
	// EmbedDim is the size of the "unet" time (and class) embedding e.
	EmbedDim int `json:"embed_dim,omitempty"`
	// Groups is the number of GroupNorm groups of "unet".
	Groups int `json:"groups,omitempty"`
	// NumClasses > 0 makes the network class-conditional.
	NumClasses int `json:"num_classes,omitempty"`
}

// Kinds lists the network kinds New accepts.
var Kinds = []string{"mlp", "unet", "unet-paper"}

// DefaultConfig returns the defaults of a kind for samples of the given shape:
// for "mlp" the benchmark network of docs/benchmarks.md (1024 wide, 3 hidden
// layers, 128-dim time embedding), for "unet" the benchmark U-Net (channels 32,
// 64, 64; 32-dim sinusoid; 128-dim embedding; 8 groups), for "unet-paper" the paper's
// CIFAR-10 U-Net (channels 128, 256, 256, 256; 128-dim sinusoid; 512-dim embedding; 32
// groups; see unet_paper.go).
func DefaultConfig(kind string, shape ...int) Config {
	switch kind {
	case "mlp":
		return Config{Kind: kind, Shape: shape, TimeDim: 128, Width: 1024, Depth: 3}
	case "unet":
		return Config{Kind: kind, Shape: shape, TimeDim: 32, Channels: []int{32, 64, 64}, EmbedDim: 128, Groups: 8}
	case "unet-paper":
		return Config{Kind: kind, Shape: shape, TimeDim: 128, Channels: []int{128, 256, 256, 256}, EmbedDim: 512, Groups: 32}
	}
	return Config{Kind: kind, Shape: shape}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig(c.Kind, c.Shape...)
	if c.TimeDim == 0 {
		c.TimeDim = d.TimeDim
	}
	if c.Width == 0 {
		c.Width = d.Width
	}
	if c.Depth == 0 {
		c.Depth = d.Depth
	}
	if len(c.Channels) == 0 {
		c.Channels = slices.Clone(d.Channels)
	}
	if c.EmbedDim == 0 {
		c.EmbedDim = d.EmbedDim
	}
	if c.Groups == 0 {
		c.Groups = d.Groups
	}
	return c
}

// New builds the velocity network described by cfg.
func New(cfg Config) (Velocity, error) {
	if !slices.Contains(Kinds, cfg.Kind) {
		return nil, fmt.Errorf("nets: %w", suggest.Unknown("network kind", cfg.Kind, Kinds))
	}
	cfg = cfg.withDefaults()
	if len(cfg.Shape) == 0 {
		return nil, fmt.Errorf("nets: config of %q has no sample shape; set Shape, e.g. [28 28 1]", cfg.Kind)
	}
	for _, d := range cfg.Shape {
		if d <= 0 {
			return nil, fmt.Errorf("nets: sample shape %v has a non-positive dimension", cfg.Shape)
		}
	}
	if cfg.NumClasses < 0 {
		return nil, fmt.Errorf("nets: NumClasses is %d; use 0 for an unconditional network", cfg.NumClasses)
	}
	if cfg.TimeDim <= 0 || cfg.TimeDim%2 != 0 {
		return nil, fmt.Errorf("nets: TimeDim must be a positive even number, got %d", cfg.TimeDim)
	}
	switch cfg.Kind {
	case "mlp":
		return newMLP(cfg)
	case "unet":
		return newUNet(cfg)
	case "unet-paper":
		return newUNetPaper(cfg)
	}
	return nil, fmt.Errorf("nets: %w", suggest.Unknown("network kind", cfg.Kind, Kinds))
}
