package optim_test

import (
	"errors"
	"math"
	"testing"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/optim"
)

func backend(t *testing.T) compute.Backend {
	t.Helper()
	b, err := compute.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// adamRef is Adam with warm-up and global-norm clipping in float64 on the host,
// written from the equations, to check the compiled graph against.
type adamRef struct {
	cfg  optim.Config
	m, v []float64
	step int
}

func (a *adamRef) update(p, g []float64) {
	norm := 0.0
	for _, x := range g {
		norm += x * x
	}
	norm = math.Sqrt(norm)
	scale := 1.0
	if a.cfg.ClipNorm > 0 && norm > a.cfg.ClipNorm {
		scale = a.cfg.ClipNorm / norm
	}
	lr := a.cfg.LearningRate(int64(a.step))
	a.step++
	for i := range p {
		gi := g[i] * scale
		a.m[i] = a.cfg.Beta1*a.m[i] + (1-a.cfg.Beta1)*gi
		a.v[i] = a.cfg.Beta2*a.v[i] + (1-a.cfg.Beta2)*gi*gi
		mh := a.m[i] / (1 - math.Pow(a.cfg.Beta1, float64(a.step)))
		vh := a.v[i] / (1 - math.Pow(a.cfg.Beta2, float64(a.step)))
		p[i] -= lr * mh / (math.Sqrt(vh) + a.cfg.Eps)
	}
}

// TestAdamMatchesReference minimises Σ c_i (p_i − target_i)² with the compiled
// optimiser and with the float64 reference, and compares every step.
func TestAdamMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  optim.Config
	}{
		{"plain", optim.Config{LR: 0.05, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}},
		{"clipped+warmup", optim.Config{LR: 0.05, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, ClipNorm: 0.5, WarmupSteps: 4}},
		{"cosine", optim.Config{LR: 0.05, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, WarmupSteps: 3, DecaySteps: 15}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := []float32{1, -2, 3, 0.5}
			coef := []float32{1, 4, 0.25, 2}
			p := &nets.Params{Names: []string{"p"}, Tensors: []*tensors.Tensor{tensors.FromFlatDataAndDimensions([]float32{0, 0, 0, 0}, 4)}}
			tr, err := optim.New(backend(t), tc.cfg, 1, func(params, batch []*Node) (*Node, []*Node) {
				d := Sub(params[0], batch[0])
				return ReduceAllSum(Mul(batch[1], Square(d))), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			st := optim.NewState(p, tc.cfg)
			ref := &adamRef{cfg: tc.cfg, m: make([]float64, 4), v: make([]float64, 4)}
			pr := make([]float64, 4)
			for step := 0; step < 20; step++ {
				g := make([]float64, 4)
				for i := range g {
					g[i] = 2 * float64(coef[i]) * (pr[i] - float64(target[i]))
				}
				ref.update(pr, g)
				res, err := tr.Step(p, st, tensors.FromValue(target), tensors.FromValue(coef))
				if err != nil {
					t.Fatal(err)
				}
				wantNorm := 0.0
				for _, x := range g {
					wantNorm += x * x
				}
				if math.Abs(res.GradNorm-math.Sqrt(wantNorm)) > 1e-3*(1+math.Sqrt(wantNorm)) {
					t.Fatalf("step %d: gradient norm %g, want %g", step, res.GradNorm, math.Sqrt(wantNorm))
				}
				got := nets.Float32s(p.Tensors[0])
				for i := range got {
					if math.Abs(float64(got[i])-pr[i]) > 1e-4 {
						t.Fatalf("step %d: p[%d] = %g, reference %g", step, i, got[i], pr[i])
					}
				}
			}
			if st.Step != 20 {
				t.Errorf("state step = %d, want 20", st.Step)
			}
		})
	}
}

// TestNonFiniteSkipsUpdate checks that a NaN loss leaves parameters and state alone.
func TestNonFiniteSkipsUpdate(t *testing.T) {
	cfg := optim.DefaultConfig()
	p := &nets.Params{Names: []string{"p"}, Tensors: []*tensors.Tensor{tensors.FromFlatDataAndDimensions([]float32{1, 2}, 2)}}
	tr, err := optim.New(backend(t), cfg, 1, func(params, batch []*Node) (*Node, []*Node) {
		return ReduceAllSum(Mul(params[0], batch[0])), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st := optim.NewState(p, cfg)
	before := p.Tensors[0]
	_, err = tr.Step(p, st, tensors.FromValue([]float32{float32(math.NaN()), 1}))
	if !errors.Is(err, optim.ErrNonFinite) {
		t.Fatalf("err = %v, want ErrNonFinite", err)
	}
	if p.Tensors[0] != before || st.Step != 0 {
		t.Fatalf("parameters or step changed on a skipped update")
	}
	if got := nets.Float32s(p.Tensors[0]); got[0] != 1 || got[1] != 2 {
		t.Fatalf("values changed: %v", got)
	}
}

func TestEMA(t *testing.T) {
	cfg := optim.Config{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, EMADecay: 0.5}
	p := &nets.Params{Names: []string{"p"}, Tensors: []*tensors.Tensor{tensors.FromFlatDataAndDimensions([]float32{0}, 1)}}
	tr, err := optim.New(backend(t), cfg, 1, func(params, batch []*Node) (*Node, []*Node) {
		return ReduceAllSum(Neg(params[0])), nil // gradient −1: Adam moves p by +lr per step
	})
	if err != nil {
		t.Fatal(err)
	}
	st := optim.NewState(p, cfg)
	ema := 0.0
	for i := 1; i <= 3; i++ {
		if _, err := tr.Step(p, st); err != nil {
			t.Fatal(err)
		}
		ema = 0.5*ema + 0.5*0.1*float64(i)
	}
	got := nets.Float32s(st.EMA.Tensors[0])[0]
	if math.Abs(float64(got)-ema) > 1e-5 {
		t.Fatalf("EMA = %g, want %g", got, ema)
	}
}

func TestValidate(t *testing.T) {
	bad := []optim.Config{
		{LR: 0, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8},
		{LR: 1e-3, Beta1: 1, Beta2: 0.999, Eps: 1e-8},
		{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 0},
		{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, ClipNorm: -1},
		{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WarmupSteps: -1},
		{LR: math.Inf(1), Beta1: 0.9, Beta2: 0.999, Eps: 1e-8},
	}
	for _, c := range bad {
		if c.Validate() == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
	if err := optim.DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
}

// TestLearningRateSchedule checks the schedule's closed form at a few steps.
func TestLearningRateSchedule(t *testing.T) {
	c := optim.Config{LR: 1, WarmupSteps: 10, DecaySteps: 100}
	for _, tc := range []struct {
		step int64
		want float64
	}{{0, 0.1 * 0.5 * (1 + math.Cos(math.Pi*0.01))}, {9, 0.5 * (1 + math.Cos(math.Pi*0.1))}, {49, 0.5}, {99, 0}, {500, 0}} {
		if got := c.LearningRate(tc.step); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("step %d: lr %g, want %g", tc.step, got, tc.want)
		}
	}
}
