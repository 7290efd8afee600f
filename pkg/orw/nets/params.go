package nets

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// InitKind names how a parameter tensor is initialised.
type InitKind int

const (
	// InitZeros fills the tensor with zeros (biases, norm offsets).
	InitZeros InitKind = iota
	// InitOnes fills the tensor with ones (norm scales).
	InitOnes
	// InitFanIn draws uniformly from ±Scale*sqrt(3/fanIn), fanIn being the product of
	// all dimensions but the last (He-style "variance Scale²/fanIn").
	InitFanIn
	// InitNormal draws from N(0, Scale²).
	InitNormal
)

// ParamSpec describes one learnable tensor of a network: its name, shape and
// initialisation.
type ParamSpec struct {
	Name  string
	Shape []int
	Init  InitKind
	// Scale multiplies the initial values of InitFanIn and InitNormal.
	Scale float64
}

// Size is the number of scalars in the tensor.
func (s ParamSpec) Size() int {
	n := 1
	for _, d := range s.Shape {
		n *= d
	}
	return n
}

// Params holds the values of a network's parameters, in the order of the
// network's specs. Values are float32 tensors.
type Params struct {
	Names   []string
	Tensors []*tensors.Tensor
}

// NumParams is the total number of scalars.
func (p *Params) NumParams() int {
	n := 0
	for _, t := range p.Tensors {
		n += t.Shape().Size()
	}
	return n
}

// Len is the number of tensors.
func (p *Params) Len() int { return len(p.Tensors) }

// Index returns the position of the named tensor, or -1.
func (p *Params) Index(name string) int { return slices.Index(p.Names, name) }

// Clone returns a deep copy whose tensors share no memory with p.
func (p *Params) Clone() *Params {
	c := &Params{Names: slices.Clone(p.Names), Tensors: make([]*tensors.Tensor, len(p.Tensors))}
	for i, t := range p.Tensors {
		c.Tensors[i] = tensors.FromFlatDataAndDimensions(Float32s(t), t.Shape().Dimensions...)
	}
	return c
}

// Sub returns the tensors whose names start with prefix+"/", with the prefix removed.
// The tensors are shared, not copied.
func (p *Params) Sub(prefix string) *Params {
	s := &Params{}
	for i, n := range p.Names {
		if rest, ok := strings.CutPrefix(n, prefix+"/"); ok {
			s.Names = append(s.Names, rest)
			s.Tensors = append(s.Tensors, p.Tensors[i])
		}
	}
	return s
}

// Prefixed returns a view of p whose names carry prefix+"/" in front.
func (p *Params) Prefixed(prefix string) *Params {
	s := &Params{Tensors: p.Tensors}
	for _, n := range p.Names {
		s.Names = append(s.Names, prefix+"/"+n)
	}
	return s
}

// Merge concatenates several parameter sets (names must not clash).
func Merge(ps ...*Params) *Params {
	m := &Params{}
	for _, p := range ps {
		m.Names = append(m.Names, p.Names...)
		m.Tensors = append(m.Tensors, p.Tensors...)
	}
	return m
}

// Zeros returns a parameter set with the names and shapes of p, all zeros.
func (p *Params) Zeros() *Params {
	z := &Params{Names: slices.Clone(p.Names), Tensors: make([]*tensors.Tensor, len(p.Tensors))}
	for i, t := range p.Tensors {
		z.Tensors[i] = tensors.FromShape(t.Shape())
	}
	return z
}

// Float32s copies a float32 tensor's values to a new slice.
func Float32s(t *tensors.Tensor) []float32 {
	return tensors.MustCopyFlatData[float32](t)
}

// Match checks that p holds exactly the tensors described by specs, in order and
// with the same shapes, and returns an error naming every difference.
func (p *Params) Match(specs []ParamSpec) error {
	var problems []string
	have := map[string][]int{}
	for i, n := range p.Names {
		have[n] = p.Tensors[i].Shape().Dimensions
	}
	want := map[string]bool{}
	for _, s := range specs {
		want[s.Name] = true
		dims, ok := have[s.Name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("missing %q %v", s.Name, s.Shape))
		case !slices.Equal(dims, s.Shape):
			problems = append(problems, fmt.Sprintf("%q has shape %v, want %v", s.Name, dims, s.Shape))
		}
	}
	var extra []string
	for n := range have {
		if !want[n] {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	for _, n := range extra {
		problems = append(problems, fmt.Sprintf("unexpected %q", n))
	}
	if len(problems) > 0 {
		if len(problems) > 8 {
			problems = append(problems[:8], fmt.Sprintf("... and %d more", len(problems)-8))
		}
		return fmt.Errorf("parameters do not match the network: %s", strings.Join(problems, "; "))
	}
	if len(p.Names) != len(specs) {
		return fmt.Errorf("parameters do not match the network: %d tensors, want %d", len(p.Names), len(specs))
	}
	// Same set of names: reorder to the specs' order so positional binding is right.
	order := make([]*tensors.Tensor, len(specs))
	for i, s := range specs {
		order[i] = p.Tensors[p.Index(s.Name)]
	}
	p.Tensors = order
	p.Names = make([]string, len(specs))
	for i, s := range specs {
		p.Names[i] = s.Name
	}
	return nil
}

// Init draws fresh parameter values for specs from rng.
func Init(specs []ParamSpec, rng *rand.Rand) *Params {
	p := &Params{}
	for _, s := range specs {
		data := make([]float32, s.Size())
		switch s.Init {
		case InitOnes:
			for i := range data {
				data[i] = 1
			}
		case InitFanIn:
			fanIn := 1
			for _, d := range s.Shape[:len(s.Shape)-1] {
				fanIn *= d
			}
			a := s.Scale * math.Sqrt(3/float64(fanIn))
			for i := range data {
				data[i] = float32((2*rng.Float64() - 1) * a)
			}
		case InitNormal:
			for i := range data {
				data[i] = float32(rng.NormFloat64() * s.Scale)
			}
		}
		p.Names = append(p.Names, s.Name)
		p.Tensors = append(p.Tensors, tensors.FromFlatDataAndDimensions(data, s.Shape...))
	}
	return p
}

// NumParams is the total number of scalars described by specs.
func NumParams(specs []ParamSpec) int {
	n := 0
	for _, s := range specs {
		n += s.Size()
	}
	return n
}

// Weights gives a network's forward function access to its parameter nodes by name.
// It records which were used so that tests can check that specs and forward agree.
type Weights struct {
	byName map[string]*graph.Node
	used   map[string]bool
}

// Bind pairs parameter nodes with their specs (same order).
func Bind(specs []ParamSpec, nodes []*graph.Node) *Weights {
	if len(specs) != len(nodes) {
		panic(fmt.Sprintf("nets.Bind: %d specs but %d nodes", len(specs), len(nodes)))
	}
	w := &Weights{byName: make(map[string]*graph.Node, len(specs)), used: map[string]bool{}}
	for i, s := range specs {
		if !slices.Equal(nodes[i].Shape().Dimensions, s.Shape) {
			panic(fmt.Sprintf("nets.Bind: parameter %q has shape %v, want %v", s.Name, nodes[i].Shape().Dimensions, s.Shape))
		}
		w.byName[s.Name] = nodes[i]
	}
	return w
}

// Get returns the named parameter node; it panics if there is none (a bug in a network).
func (w *Weights) Get(name string) *graph.Node {
	n, ok := w.byName[name]
	if !ok {
		panic(fmt.Sprintf("nets: the network asked for parameter %q, which is not in its specs", name))
	}
	w.used[name] = true
	return n
}

// Unused lists the bound parameters that the forward pass never asked for.
func (w *Weights) Unused() []string {
	var u []string
	for n := range w.byName {
		if !w.used[n] {
			u = append(u, n)
		}
	}
	sort.Strings(u)
	return u
}

// Equal reports whether p and q hold the same names, shapes and values, bit
// for bit (NaNs compare by their bits too).
func (p *Params) Equal(q *Params) bool {
	if p.Len() != q.Len() {
		return false
	}
	for i := range p.Tensors {
		if p.Names[i] != q.Names[i] || !p.Tensors[i].Shape().Equal(q.Tensors[i].Shape()) {
			return false
		}
		x, y := Float32s(p.Tensors[i]), Float32s(q.Tensors[i])
		for j := range x {
			if math.Float32bits(x[j]) != math.Float32bits(y[j]) {
				return false
			}
		}
	}
	return true
}
