package nets

import (
	"fmt"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/nn"
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

// ApplyShared is Apply for a batch that shares one time t (a scalar), as in every
// step of an ODE solver. The first layer acts on concat(x, emb(t)[, class]), so
// its product splits into x·W_x (+ class·W_c) and emb(t)·W_t; the second term is
// the same for every sample, so it is computed once, on one row, and folded into
// the bias. That removes the per-sample sines and cosines and TimeDim of the
// layer's inputs. The result equals Apply's up to float32 rounding (the sums run
// in another order).
func (m *mlp) ApplyShared(w *Weights, t, x, labels *Node) *Node {
	b := x.Shape().Dimensions[0]
	td := m.cfg.TimeDim
	w0, b0 := w.Get("hidden0/w"), w.Get("hidden0/b")
	width := w0.Shape().Dimensions[1]
	emb := Sinusoidal(Reshape(ConvertDType(t, x.DType()), 1), td) // [1, TimeDim]
	bias := Add(b0, Reshape(MatMul(emb, Slice(w0, AxisRange(m.size, m.size+td), AxisRange())), width))
	h := Reshape(x, b, m.size)
	wx := Slice(w0, AxisRange(0, m.size), AxisRange())
	if m.cfg.NumClasses > 0 {
		h = Concatenate([]*Node{h, ClassEmbedding(w, "class", labels)}, -1)
		wx = Concatenate([]*Node{wx, Slice(w0, AxisRange(m.size+td, m.size+2*td), AxisRange())}, 0)
	}
	h = nn.Dense(h, wx, bias, compute.DenseLayoutInputOutputs, activation.TypeSilu)
	for l := 1; l < m.cfg.Depth; l++ {
		h = Dense(w, fmt.Sprintf("hidden%d", l), h, activation.TypeSilu)
	}
	h = Dense(w, "out", h, activation.TypeNone)
	return Reshape(h, x.Shape().Dimensions...)
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
