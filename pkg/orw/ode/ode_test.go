package ode

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
)

func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := backends.Default()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// flat64 returns the values of a float32 or float64 tensor as float64.
func flat64(t testing.TB, x *tensors.Tensor) []float64 {
	t.Helper()
	switch x.DType() {
	case dtypes.Float64:
		return tensors.MustCopyFlatData[float64](x)
	case dtypes.Float32:
		v := tensors.MustCopyFlatData[float32](x)
		out := make([]float64, len(v))
		for i, f := range v {
			out[i] = float64(f)
		}
		return out
	}
	t.Fatalf("unexpected dtype %s", x.DType())
	return nil
}

// integrate runs Integrate(s, v, x0, t0, t1, steps) on the backend for the
// initial state x0 (a []float32 or []float64, or a tensor) and returns x(t1).
func integrate(t testing.TB, s Solver, v VelocityFn, x0 any, t0, t1 float64, steps int) []float64 {
	t.Helper()
	exec, err := graph.NewExec(testBackend(t), func(x *graph.Node) *graph.Node {
		return Integrate(s, v, x, t0, t1, steps)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Call(x0)
	if err != nil {
		t.Fatalf("%v, %d steps: %v", s, steps, err)
	}
	return flat64(t, out[0])
}

func decay(_, x *graph.Node) *graph.Node { return graph.Neg(x) }    // dx/dt = −x
func growT(t, x *graph.Node) *graph.Node { return graph.Mul(t, x) } // dx/dt = t·x
func assertClose(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol*max(1, math.Abs(want[i])) {
			t.Errorf("%s: [%d] = %.9g, want %.9g (tolerance %g)", what, i, got[i], want[i], tol)
		}
	}
}

func TestSolverNames(t *testing.T) {
	for _, s := range Solvers() {
		got, err := ParseSolver(" " + strings.ToUpper(s.String()) + " ")
		if err != nil || got != s {
			t.Errorf("ParseSolver(%q) = %v, %v", s.String(), got, err)
		}
		text, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Solver
		if err := back.UnmarshalText(text); err != nil || back != s {
			t.Errorf("text round trip of %v gave %v, %v", s, back, err)
		}
	}
	if s, err := ParseSolver("rk2"); err != nil || s != Midpoint {
		t.Errorf(`ParseSolver("rk2") = %v, %v; want midpoint`, s, err)
	}
	_, err := ParseSolver("heun")
	if err == nil || !strings.Contains(err.Error(), "euler, midpoint, rk4") {
		t.Errorf(`ParseSolver("heun") error = %v; want one listing the valid names`, err)
	}
	if got := [...]int{Evals(Euler), Evals(Midpoint), Evals(RK4), Evals(Solver(7))}; got != [...]int{1, 2, 4, 0} {
		t.Errorf("Evals = %v", got)
	}
	if _, err := Solver(7).MarshalText(); err == nil {
		t.Error("MarshalText of an invalid solver: no error")
	}
}

// TestIntegrateClosedForms checks each solver, in float32 and float64, on
// problems with known solutions.
func TestIntegrateClosedForms(t *testing.T) {
	x0 := []float64{1, -2, 0.5}
	tol := map[Solver]float64{Euler: 2e-2, Midpoint: 1e-4, RK4: 1e-6}
	for _, s := range Solvers() {
		for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.Float64} {
			in := any(x0)
			eps := tol[s]
			if dt == dtypes.Float32 {
				in = []float32{1, -2, 0.5}
				eps = max(eps, 2e-6)
			}
			name := fmt.Sprintf("%v/%s", s, dt)
			got := integrate(t, s, decay, in, 0, 1, 50)
			want := []float64{x0[0] / math.E, x0[1] / math.E, x0[2] / math.E}
			assertClose(t, name+" dx/dt=-x", got, want, eps)

			got = integrate(t, s, growT, in, 0, 1, 50)
			r := math.Exp(0.5)
			assertClose(t, name+" dx/dt=t·x", got, []float64{x0[0] * r, x0[1] * r, x0[2] * r}, eps)

			// Backwards in time undoes the decay: x(0) = x(1)·e.
			got = integrate(t, s, decay, in, 1, 0, 50)
			assertClose(t, name+" dx/dt=-x backwards", got, []float64{x0[0] * math.E, x0[1] * math.E, x0[2] * math.E}, eps)
		}
	}
}

// TestIntegrateBatchCos integrates dx/dt = c·cos(t), with a different rate c
// for every element of a [B, D] batch: x(1) = x(0) + c·sin(1).
func TestIntegrateBatchCos(t *testing.T) {
	const b, d = 4, 3
	x0 := make([]float32, b*d)
	rate := make([]float32, b*d)
	want := make([]float64, b*d)
	for i := range x0 {
		x0[i] = float32(i)/4 - 1
		rate[i] = float32(i%5) - 2
		want[i] = float64(x0[i]) + float64(rate[i])*math.Sin(1)
	}
	for _, s := range Solvers() {
		exec, err := graph.NewExec(testBackend(t), func(x, c *graph.Node) *graph.Node {
			return Integrate(s, func(t, x *graph.Node) *graph.Node {
				return graph.Mul(c, graph.Cos(t))
			}, x, 0, 1, 40)
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Call(tensors.FromFlatDataAndDimensions(x0, b, d), tensors.FromFlatDataAndDimensions(rate, b, d))
		if err != nil {
			t.Fatal(err)
		}
		if dims := out[0].Shape().Dimensions; len(dims) != 2 || dims[0] != b || dims[1] != d {
			t.Errorf("%v: result shape %v, want [%d %d]", s, dims, b, d)
		}
		eps := map[Solver]float64{Euler: 2e-2, Midpoint: 1e-4, RK4: 2e-6}[s]
		assertClose(t, s.String()+" cos(t)", flat64(t, out[0]), want, eps)
	}
}

// TestIntegrateStraightPaths: on the straight interpolation x_t = (1−t)·x0 + t·x1
// of rectified flow the velocity is constant, so every solver is exact with any
// number of steps, both for the constant field x1 − x0 and for the conditional
// field (x1 − x)/(1 − t), which only equals x1 − x0 on the path.
func TestIntegrateStraightPaths(t *testing.T) {
	x0 := []float32{0.3, -1.2, 2, 0}
	x1 := []float32{-0.7, 0.4, 2.5, 1}
	for _, s := range Solvers() {
		for _, steps := range []int{1, 3, 10} {
			exec, err := graph.NewExec(testBackend(t), func(a, b *graph.Node) []*graph.Node {
				constant := func(_, _ *graph.Node) *graph.Node { return graph.Sub(b, a) }
				toward := func(t, x *graph.Node) *graph.Node {
					return graph.Div(graph.Sub(b, x), graph.OneMinus(t))
				}
				return []*graph.Node{
					Integrate(s, constant, a, 0, 1, steps),
					Integrate(s, toward, a, 0, 0.75, steps),
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Call(x0, x1)
			if err != nil {
				t.Fatal(err)
			}
			end, mid := make([]float64, len(x0)), make([]float64, len(x0))
			for i := range x0 {
				end[i] = float64(x1[i])
				mid[i] = 0.25*float64(x0[i]) + 0.75*float64(x1[i])
			}
			name := fmt.Sprintf("%v, %d steps", s, steps)
			assertClose(t, name+", v = x1-x0", flat64(t, out[0]), end, 1e-6)
			assertClose(t, name+", v = (x1-x)/(1-t)", flat64(t, out[1]), mid, 1e-6)
		}
	}
}

// convergenceOrder measures log2(err(n)/err(2n)) for dx/dt = t·x, x(0) = 1,
// x(1) = e^{1/2}, in float64.
func convergenceOrder(t *testing.T, s Solver, n int) float64 {
	exact := math.Exp(0.5)
	e1 := math.Abs(integrate(t, s, growT, []float64{1}, 0, 1, n)[0] - exact)
	e2 := math.Abs(integrate(t, s, growT, []float64{1}, 0, 1, 2*n)[0] - exact)
	return math.Log2(e1 / e2)
}

func TestIntegrateConvergenceOrder(t *testing.T) {
	for _, c := range []struct {
		s     Solver
		n     int
		order float64
	}{{Euler, 32, 1}, {Midpoint, 16, 2}, {RK4, 8, 4}} {
		got := convergenceOrder(t, c.s, c.n)
		t.Logf("%v: observed order %.3f (steps %d → %d)", c.s, got, c.n, 2*c.n)
		if math.Abs(got-c.order) > 0.15 {
			t.Errorf("%v: observed order %.3f, want %g ± 0.15", c.s, got, c.order)
		}
	}
}

func TestIntegratePath(t *testing.T) {
	const steps = 5
	x0 := []float64{2, -1}
	for _, s := range Solvers() {
		exec, err := graph.NewExec(testBackend(t), func(x *graph.Node) []*graph.Node {
			return append(IntegratePath(s, decay, x, 0, 1, steps), Integrate(s, decay, x, 0, 1, steps))
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Call(x0)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != steps+2 {
			t.Fatalf("%v: IntegratePath gave %d states, want %d", s, len(out)-1, steps+1)
		}
		assertClose(t, s.String()+" first state", flat64(t, out[0]), x0, 0)
		assertClose(t, s.String()+" last state", flat64(t, out[steps]), flat64(t, out[steps+1]), 0)
		// One step of any of these solvers multiplies x by the Taylor polynomial
		// of e^{-h} of its order, so x_k = x0·R(h)^k exactly.
		h := 1.0 / steps
		r := map[Solver]float64{Euler: 1 - h, Midpoint: 1 - h + h*h/2, RK4: 1 - h + h*h/2 - h*h*h/6 + h*h*h*h/24}[s]
		for k := 0; k <= steps; k++ {
			f := math.Pow(r, float64(k))
			assertClose(t, fmt.Sprintf("%v state %d", s, k), flat64(t, out[k]), []float64{x0[0] * f, x0[1] * f}, 1e-13)
		}
	}
}

func TestIntegrateErrors(t *testing.T) {
	cases := map[string]func(x *graph.Node) *graph.Node{
		"steps":  func(x *graph.Node) *graph.Node { return Integrate(Euler, decay, x, 0, 1, 0) },
		"solver": func(x *graph.Node) *graph.Node { return Integrate(Solver(9), decay, x, 0, 1, 3) },
		"shape": func(x *graph.Node) *graph.Node {
			return Integrate(RK4, func(_, x *graph.Node) *graph.Node { return graph.ReduceAllSum(x) }, x, 0, 1, 3)
		},
	}
	for name, fn := range cases {
		exec, err := graph.NewExec(testBackend(t), fn)
		if err == nil {
			_, err = exec.Call([]float32{1, 2})
		}
		if err == nil || !strings.Contains(err.Error(), "ode.Integrate") {
			t.Errorf("%s: error = %v, want an ode.Integrate error", name, err)
		}
	}
}

// ExampleIntegrate integrates dx/dt = −x from x(0) = 1 to t = 1 with each
// solver in ten steps; the exact value is 1/e ≈ 0.367879.
func ExampleIntegrate() {
	backend, err := backends.Default()
	if err != nil {
		panic(err)
	}
	for _, s := range Solvers() {
		x1 := graph.MustExecOnce(backend, func(x *graph.Node) *graph.Node {
			return Integrate(s, func(t, x *graph.Node) *graph.Node { return graph.Neg(x) }, x, 0, 1, 10)
		}, []float64{1})
		fmt.Printf("%-8s %d evaluations: %.6f\n", s, 10*Evals(s), tensors.MustCopyFlatData[float64](x1)[0])
	}
	// Output:
	// euler    10 evaluations: 0.348678
	// midpoint 20 evaluations: 0.368541
	// rk4      40 evaluations: 0.367880
}
