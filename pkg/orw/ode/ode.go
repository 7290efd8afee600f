package ode

import (
	"fmt"
	"strings"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/orwcfm/orwcfm/internal/suggest"
)

// Solver selects a fixed-step explicit Runge-Kutta scheme for the probability-flow
// ODE dx/dt = v(t, x) that turns noise at t = 0 into data at t = 1.
type Solver int

const (
	// Euler is the forward Euler step x ← x + h·v(t, x): first order, one
	// evaluation of v per step.
	Euler Solver = iota
	// Midpoint is the explicit midpoint rule (RK2):
	// x ← x + h·v(t + h/2, x + (h/2)·v(t, x)). Second order, two evaluations per step.
	Midpoint
	// RK4 is the classical fourth-order Runge-Kutta scheme with weights
	// (1, 2, 2, 1)/6: fourth order, four evaluations per step.
	RK4
)

// Solvers lists every Solver, in order of increasing accuracy.
func Solvers() []Solver { return []Solver{Euler, Midpoint, RK4} }

// String returns the solver's canonical name: "euler", "midpoint" or "rk4".
func (s Solver) String() string {
	switch s {
	case Euler:
		return "euler"
	case Midpoint:
		return "midpoint"
	case RK4:
		return "rk4"
	}
	return fmt.Sprintf("Solver(%d)", int(s))
}

// ParseSolver returns the Solver whose name is name (case-insensitive, surrounding
// blanks ignored; "rk2" is accepted for Midpoint). The error lists the valid names.
func ParseSolver(name string) (Solver, error) {
	key := strings.ToLower(strings.TrimSpace(name))
	if key == "rk2" {
		return Midpoint, nil
	}
	names := make([]string, 0, 3)
	for _, s := range Solvers() {
		if key == s.String() {
			return s, nil
		}
		names = append(names, s.String())
	}
	return 0, suggest.Unknown("ODE solver", name, names)
}

// MarshalText encodes the solver as its name, so it reads well in JSON and flags.
func (s Solver) MarshalText() ([]byte, error) {
	if Evals(s) == 0 {
		return nil, fmt.Errorf("cannot marshal invalid %v", s)
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes a solver name with ParseSolver.
func (s *Solver) UnmarshalText(text []byte) error {
	v, err := ParseSolver(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Evals is the number of evaluations of the velocity field per step of s
// (1 for Euler, 2 for Midpoint, 4 for RK4), or 0 for an invalid solver. A whole
// integration of n steps costs n·Evals(s) evaluations.
func Evals(s Solver) int {
	switch s {
	case Euler:
		return 1
	case Midpoint:
		return 2
	case RK4:
		return 4
	}
	return 0
}

// VelocityFn evaluates the velocity field v(t, x) inside a graph. t is a scalar
// (0-d) node with x's dtype (float32 for float32 models); a network that wants a
// per-sample time [B] broadcasts it itself, e.g. graph.BroadcastToDims(t, batch).
// The result must have exactly x's shape and dtype.
type VelocityFn func(t, x *graph.Node) *graph.Node

// Integrate builds, inside x's graph, `steps` fixed steps of the solver s for
// dx/dt = v(t, x) from t0 to t1 (t1 < t0 integrates backwards) starting at x,
// and returns the approximation of x(t1).
//
// The loop is unrolled: the graph holds steps·Evals(s) copies of v, so one
// compiled graph does the whole sampling and the data stays on the backend.
// The step boundaries are t_k = t0 + k·(t1 − t0)/steps, computed in float64 and
// stored in x's dtype, so the last step ends exactly at t1.
//
// Like GoMLX's own graph-building functions it panics with an error, which
// graph.Exec returns as an error, if s is invalid, steps < 1, x is not
// floating point, or v returns a node of another shape or dtype.
func Integrate(s Solver, v VelocityFn, x *graph.Node, t0, t1 float64, steps int) *graph.Node {
	checkIntegrate(s, x, steps)
	for k := 0; k < steps; k++ {
		x = solverStep(s, v, x, stepTime(t0, t1, k, steps), stepTime(t0, t1, k+1, steps))
	}
	return x
}

// IntegratePath is Integrate that also returns the intermediate states: the
// steps+1 nodes x(t_0), x(t_1), …, x(t_steps) at the step boundaries, the first
// being x itself and the last the same value Integrate returns. It is meant for
// drawing sample trajectories.
func IntegratePath(s Solver, v VelocityFn, x *graph.Node, t0, t1 float64, steps int) []*graph.Node {
	checkIntegrate(s, x, steps)
	path := make([]*graph.Node, 0, steps+1)
	path = append(path, x)
	for k := 0; k < steps; k++ {
		x = solverStep(s, v, x, stepTime(t0, t1, k, steps), stepTime(t0, t1, k+1, steps))
		path = append(path, x)
	}
	return path
}

// stepTime is the k-th of n+1 evenly spaced boundaries of [t0, t1]; the interpolation
// form makes the last boundary exactly t1.
func stepTime(t0, t1 float64, k, n int) float64 {
	if k == n {
		return t1
	}
	return t0 + (t1-t0)*float64(k)/float64(n)
}

func checkIntegrate(s Solver, x *graph.Node, steps int) {
	if Evals(s) == 0 {
		exceptions.Panicf("ode.Integrate: invalid solver %v", s)
	}
	if steps < 1 {
		exceptions.Panicf("ode.Integrate: steps must be at least 1, got %d", steps)
	}
	if x == nil {
		exceptions.Panicf("ode.Integrate: nil initial state x")
	}
	if !x.DType().IsFloat() {
		exceptions.Panicf("ode.Integrate: the state x must be floating point, got %s", x.DType())
	}
}

// solverStep advances x from time ta to tb = ta + h with one step of s.
func solverStep(s Solver, v VelocityFn, x *graph.Node, ta, tb float64) *graph.Node {
	g, dt := x.Graph(), x.DType()
	h := tb - ta
	at := func(t float64) *graph.Node { return graph.Scalar(g, dt, t) }
	eval := func(t float64, y *graph.Node) *graph.Node {
		vy := v(at(t), y)
		if vy == nil || !vy.Shape().Equal(y.Shape()) {
			var got any = "nil"
			if vy != nil {
				got = vy.Shape()
			}
			exceptions.Panicf("ode.Integrate: the velocity field returned %v for a state of shape %s", got, y.Shape())
		}
		return vy
	}
	// euler returns y + c·k.
	euler := func(y, k *graph.Node, c float64) *graph.Node { return graph.Add(y, graph.MulScalar(k, c)) }

	tm := ta + h/2
	switch s {
	case Euler:
		return euler(x, eval(ta, x), h)
	case Midpoint:
		k1 := eval(ta, x)
		return euler(x, eval(tm, euler(x, k1, h/2)), h)
	case RK4:
		k1 := eval(ta, x)
		k2 := eval(tm, euler(x, k1, h/2))
		k3 := eval(tm, euler(x, k2, h/2))
		k4 := eval(tb, euler(x, k3, h))
		// x + h/6·(k1 + k4) + h/3·(k2 + k3)
		return euler(euler(x, graph.Add(k1, k4), h/6), graph.Add(k2, k3), h/3)
	}
	exceptions.Panicf("ode.Integrate: invalid solver %v", s)
	return nil
}
