package nets

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/layers/activation"
)

// mlp is the velocity network of the "mlp" benchmark workload (docs/benchmarks.md,
// "Workload mlp"), generalised: the flattened x,
// concatenated with the sinusoidal time embedding (and a class embedding when
// conditional), through Depth hidden layers of Width units with SiLU, to a linear
// output of x's size.
type mlp struct {
	cfg  Config
	size int // flattened sample size
}

func newMLP(cfg Config) (*mlp, error) {
	if cfg.Width <= 0 || cfg.Depth <= 0 {
		return nil, fmt.Errorf("nets: mlp needs Width > 0 and Depth > 0, got %d and %d", cfg.Width, cfg.Depth)
	}
	size := 1
	for _, d := range cfg.Shape {
		size *= d
	}
	return &mlp{cfg: cfg, size: size}, nil
}

func (m *mlp) Config() Config { return m.cfg }
func (m *mlp) Shape() []int   { return m.cfg.Shape }

func (m *mlp) Specs() []ParamSpec {
	in := m.size + m.cfg.TimeDim
	var specs []ParamSpec
	if m.cfg.NumClasses > 0 {
		specs = append(specs, ClassEmbeddingSpecs("class", m.cfg.NumClasses, m.cfg.TimeDim)...)
		in += m.cfg.TimeDim
	}
	for l := 0; l < m.cfg.Depth; l++ {
		specs = append(specs, DenseSpecs(fmt.Sprintf("hidden%d", l), in, m.cfg.Width)...)
		in = m.cfg.Width
	}
	return append(specs, DenseSpecs("out", in, m.size)...)
}

func (m *mlp) Apply(w *Weights, t, x, labels *Node) *Node {
	b := x.Shape().Dimensions[0]
	parts := []*Node{Reshape(x, b, m.size), Sinusoidal(t, m.cfg.TimeDim)}
	if m.cfg.NumClasses > 0 {
		parts = append(parts, ClassEmbedding(w, "class", labels))
	}
	h := Concatenate(parts, -1)
	for l := 0; l < m.cfg.Depth; l++ {
		h = Dense(w, fmt.Sprintf("hidden%d", l), h, activation.TypeSilu)
	}
	h = Dense(w, "out", h, activation.TypeNone)
	return Reshape(h, x.Shape().Dimensions...)
}
