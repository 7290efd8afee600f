package orw

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/optim"
)

// TestWeightedLossMinimiser checks Eq. 10 against its closed form. For a velocity
// field that is a constant vector c, the loss mean_i(w_i‖c − u_i‖² + α‖c − c_ref‖²)/D
// is minimised by c* = (Σ w_i u_i + α n c_ref)/(Σ w_i + α n): the reward-weighted
// mean of the targets, pulled toward the reference by α. The gradient of the
// compiled loss must vanish at c* and nowhere else along the way.
func TestWeightedLossMinimiser(t *testing.T) {
	be := testBackend(t)
	rng := NewRNG(3)
	const n, d = 6, 4
	x1 := SampleNoise(rng.Rand, n*d)
	x0 := SampleNoise(rng.Rand, n*d)
	w := []float32{0.5, 2, 1, 4, 0.25, 3}
	cRef := []float32{1, -1, 0.5, 2}
	for _, alpha := range []float64{0, 0.3, 2} {
		want := make([]float64, d)
		den := alpha * n
		for i := range n {
			den += float64(w[i])
		}
		for k := range d {
			num := alpha * n * float64(cRef[k])
			for i := range n {
				num += float64(w[i]) * float64(x1[i*d+k]-x0[i*d+k])
			}
			want[k] = num / den
		}
		grad := MustExecOnce(be, func(c, x1, x0, w, cRef *Node) *Node {
			v := BroadcastToDims(InsertAxes(c, 0), n, d)
			fm := CFMTerm(v, Path{}.U(x0, x1))
			w2 := W2Term(v, BroadcastToDims(InsertAxes(cRef, 0), n, d))
			return Gradient(ORWLoss(w, fm, w2, alpha), c)[0]
		}, toF32(want), tensors.FromFlatDataAndDimensions(x1, n, d), tensors.FromFlatDataAndDimensions(x0, n, d), w, cRef)
		for k, g := range nets.Float32s(grad) {
			if math.Abs(float64(g)) > 1e-5 {
				t.Fatalf("alpha=%g: gradient at the closed-form minimiser is %g in coordinate %d", alpha, g, k)
			}
		}
		shifted := slices.Clone(want)
		shifted[0] += 0.1
		grad = MustExecOnce(be, func(c, x1, x0, w, cRef *Node) *Node {
			v := BroadcastToDims(InsertAxes(c, 0), n, d)
			return Gradient(ORWLoss(w, CFMTerm(v, Path{}.U(x0, x1)), W2Term(v, BroadcastToDims(InsertAxes(cRef, 0), n, d)), alpha), c)[0]
		}, toF32(shifted), tensors.FromFlatDataAndDimensions(x1, n, d), tensors.FromFlatDataAndDimensions(x0, n, d), w, cRef)
		// d/dc0 of the loss is 2(Σw + αn)·0.1/(n·d).
		wantG := 2 * den * 0.1 / (n * d)
		if g := float64(nets.Float32s(grad)[0]); math.Abs(g-wantG) > 1e-4 {
			t.Fatalf("alpha=%g: gradient %g, want %g", alpha, g, wantG)
		}
	}
}

func toF32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

func TestPathXt(t *testing.T) {
	be := testBackend(t)
	out := MustExecOnce(be, func(x0, x1, tt *Node) *Node {
		return Path{}.Xt(x0, x1, tt, nil)
	}, [][]float32{{0, 0}, {1, 1}}, [][]float32{{2, 4}, {3, 5}}, []float32{0.25, 1})
	got := nets.Float32s(out)
	want := []float32{0.5, 1, 3, 5}
	if !slices.Equal(got, want) {
		t.Fatalf("x_t = %v, want %v", got, want)
	}
}

// TestExactOTCoupling checks the OT pairing against brute force: its cost is the
// smallest over all permutations, x1 keeps its order, and the permutation is valid.
func TestExactOTCoupling(t *testing.T) {
	rng := NewRNG(5)
	const n, d = 6, 3
	for trial := 0; trial < 20; trial++ {
		x0 := SampleNoise(rng.Rand, n*d)
		x1 := SampleNoise(rng.Rand, n*d)
		perm, err := ExactOT{}.Pair(x0, x1, n)
		if err != nil {
			t.Fatal(err)
		}
		cost := func(p []int) float64 {
			s := 0.0
			for i, j := range p {
				for k := range d {
					diff := float64(x1[i*d+k] - x0[j*d+k])
					s += diff * diff
				}
			}
			return s
		}
		best := math.Inf(1)
		permutations(n, func(p []int) { best = math.Min(best, cost(p)) })
		if got := cost(perm); got > best+1e-9 {
			t.Fatalf("OT cost %g, brute force %g", got, best)
		}
		seen := map[int]bool{}
		for _, j := range perm {
			seen[j] = true
		}
		if len(seen) != n {
			t.Fatalf("not a permutation: %v", perm)
		}
		paired := Permute(x0, n, perm)
		if !slices.Equal(paired[:d], x0[perm[0]*d:perm[0]*d+d]) {
			t.Fatalf("Permute does not follow perm")
		}
	}
}

func permutations(n int, f func([]int)) {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	var rec func(k int)
	rec = func(k int) {
		if k == n {
			f(p)
			return
		}
		for i := k; i < n; i++ {
			p[k], p[i] = p[i], p[k]
			rec(k + 1)
			p[k], p[i] = p[i], p[k]
		}
	}
	rec(0)
}

// gaussianData returns n points of N(mean, diag(std²)) in 2-D.
func gaussianData(rng *RNG, n int, mean, std [2]float64) *Dataset {
	x := make([]float32, 2*n)
	for i := range n {
		for k := range 2 {
			x[2*i+k] = float32(mean[k] + std[k]*rng.NormFloat64())
		}
	}
	return &Dataset{X: x, N: n, Shape: []int{2}}
}

func smallFlow(t testing.TB) nets.Velocity {
	t.Helper()
	f, err := nets.New(nets.Config{Kind: "mlp", Shape: []int{2}, Width: 64, Depth: 2, TimeDim: 16})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestPretrainGaussian pretrains a small flow on a 2-D Gaussian and checks that
// its samples have the data's mean and standard deviation.
func TestPretrainGaussian(t *testing.T) {
	be := testBackend(t)
	mean, std := [2]float64{2, -1}, [2]float64{0.5, 1.5}
	data := gaussianData(NewRNG(1), 20000, mean, std)
	flow := smallFlow(t)
	params := nets.Init(flow.Specs(), NewRNG(2).Rand)
	oc := optim.Config{LR: 3e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, ClipNorm: 1, DecaySteps: 800}
	if _, err := TrainFlow(context.Background(), be, flow, params, data, 256, ExactOT{}, FitConfig{Steps: 800, Seed: 3, Optim: oc}); err != nil {
		t.Fatal(err)
	}
	g := &Generator{Flow: flow, Params: params, Sampler: SamplerConfig{Solver: "rk4", Steps: 10}}
	const m = 4000
	x1, _, err := sampleFlowSpace(be, g, m, 4)
	if err != nil {
		t.Fatal(err)
	}
	for k := range 2 {
		var s, s2 float64
		for i := range m {
			v := float64(x1[2*i+k])
			s += v
			s2 += v * v
		}
		mu := s / m
		sd := math.Sqrt(s2/m - mu*mu)
		if math.Abs(mu-mean[k]) > 0.1 || math.Abs(sd/std[k]-1) > 0.1 {
			t.Errorf("coordinate %d: samples have mean %.3f and std %.3f, data %.3f and %.3f", k, mu, sd, mean[k], std[k])
		}
	}
}

// sampleFlowSpace draws m points from g's flow (no decoder, no clipping).
func sampleFlowSpace(be computeBackend, g *Generator, m int, seed uint64) ([]float32, *Images, error) {
	solver, err := ParseSolver(g.Sampler.Solver)
	if err != nil {
		return nil, nil, err
	}
	specs := g.Flow.Specs()
	noise := SampleNoise(NewRNG(seed).Rand, m*g.SampleSize())
	args := []any{}
	for _, p := range g.Params.Tensors {
		args = append(args, p)
	}
	args = append(args, tensors.FromFlatDataAndDimensions(noise, append([]int{m}, g.SampleShape()...)...))
	out, err := ExecOnce(be, func(in []*Node) *Node {
		w := nets.Bind(specs, in[:len(specs)])
		return Integrate(solver, velocityFn(g.Flow, w, nil), in[len(specs)], 0, 1, g.Sampler.Steps)
	}, args...)
	if err != nil {
		return nil, nil, err
	}
	return nets.Float32s(out), nil, nil
}

// TestFitResumeEqualsUninterrupted stops a training run half way and resumes it
// from its checkpoint: the weights must equal those of an uninterrupted run.
func TestFitResumeEqualsUninterrupted(t *testing.T) {
	be := testBackend(t)
	data := gaussianData(NewRNG(1), 2000, [2]float64{1, 1}, [2]float64{1, 1})
	flow := smallFlow(t)
	oc := optim.Config{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, ClipNorm: 1, WarmupSteps: 5, EMADecay: 0.9}
	run := func(path string, steps int64) *FitResult {
		params := nets.Init(flow.Specs(), NewRNG(2).Rand)
		res, err := TrainFlow(context.Background(), be, flow, params, data, 32, ExactOT{}, FitConfig{Steps: steps, Seed: 7, Optim: oc, CheckpointPath: path, CheckpointEvery: 4})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	dir := t.TempDir()
	whole := run(filepath.Join(dir, "a.state"), 20)
	half := run(filepath.Join(dir, "b.state"), 9)
	if half.Step != 9 {
		t.Fatalf("first half stopped at %d", half.Step)
	}
	resumed := run(filepath.Join(dir, "b.state"), 20)
	if !resumed.Resumed || resumed.ResumedFrom != 9 {
		t.Fatalf("did not resume from step 9: %+v", resumed)
	}
	if !equalParams(whole.Params, resumed.Params) || !equalParams(whole.EMA, resumed.EMA) {
		t.Fatal("resumed weights differ from the uninterrupted run's")
	}
	// A different seed must be refused rather than silently mixed.
	params := nets.Init(flow.Specs(), NewRNG(2).Rand)
	if _, err := TrainFlow(context.Background(), be, flow, params, data, 32, ExactOT{}, FitConfig{Steps: 30, Seed: 8, Optim: oc, CheckpointPath: filepath.Join(dir, "b.state")}); err == nil {
		t.Fatal("resuming with another seed was accepted")
	}
}
