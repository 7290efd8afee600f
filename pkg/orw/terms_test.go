package orw_test

import (
	"math"
	"slices"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
	"github.com/orwcfm/orwcfm/pkg/orw/internal/orwtest"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
)

// TestLossTerms checks LossTerms against the loss computed by hand from its
// own velocities, and its gradient norms against what they must be: zero for
// the W2 part at the reference, proportional to α, the whole loss's equal to
// the flow-matching part's when α = 0, and the triangle inequality.
func TestLossTerms(t *testing.T) {
	backend, err := backends.Default()
	if err != nil {
		t.Fatal(err)
	}
	flow, err := nets.New(nets.Config{Kind: "mlp", Shape: []int{3}, Width: 16, Depth: 2, TimeDim: 8})
	if err != nil {
		t.Fatal(err)
	}
	ref := nets.Init(flow.Specs(), orw.NewRNG(1).Rand)
	theta := nets.Init(flow.Specs(), orw.NewRNG(2).Rand)
	const n, d = 5, 3
	rng := orw.NewRNG(3)
	x0, x1 := orw.SampleNoise(rng.Rand, n*d), orw.SampleNoise(rng.Rand, n*d)
	ts := orw.SampleTimes(rng.Rand, n)
	w := []float32{1, 2, 0.5, 3, 1}

	compute := func(theta *nets.Params, alpha float64) orw.LossTerms {
		t.Helper()
		var lt orw.LossTerms
		if err := lt.Compute(backend, flow, theta, ref, x0, x1, ts, w, n, alpha); err != nil {
			t.Fatal(err)
		}
		return lt
	}
	close := func(what string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %.7g, want %.7g", what, got, want)
		}
	}

	const alpha = 0.7
	lt := compute(theta, alpha)
	byHand := 0.0
	for i := range n {
		fm, w2 := 0.0, 0.0
		for k := range d {
			j := i*d + k
			s := float64(ts[i])
			close("x_t", float64(lt.Xt[j]), s*float64(x1[j])+(1-s)*float64(x0[j]), 1e-6)
			close("u", float64(lt.U[j]), float64(x1[j]-x0[j]), 1e-6)
			fm += math.Pow(float64(lt.V[j]-lt.U[j]), 2) / d
			w2 += math.Pow(float64(lt.V[j]-lt.VRef[j]), 2) / d
		}
		close("fm", float64(lt.FM[i]), fm, 1e-5)
		close("w2", float64(lt.W2[i]), w2, 1e-5)
		byHand += (float64(w[i])*fm + alpha*w2) / n
	}
	close("loss", lt.Loss, byHand, 1e-5)
	if !(lt.GradFM > 0 && lt.GradW2 > 0) {
		t.Errorf("gradient norms %g, %g: want both positive away from the reference", lt.GradFM, lt.GradW2)
	}
	if lt.Grad > lt.GradFM+lt.GradW2+1e-6 || lt.Grad < math.Abs(lt.GradFM-lt.GradW2)-1e-6 {
		t.Errorf("|grad| = %g outside the triangle bounds of %g and %g", lt.Grad, lt.GradFM, lt.GradW2)
	}
	double := compute(theta, 2*alpha)
	close("GradW2 at 2α", double.GradW2, 2*lt.GradW2, 1e-5)
	close("GradFM at 2α", double.GradFM, lt.GradFM, 1e-6)
	none := compute(theta, 0)
	close("Grad at α = 0", none.Grad, none.GradFM, 1e-6)
	if none.GradW2 != 0 {
		t.Errorf("GradW2 at α = 0 is %g", none.GradW2)
	}
	at := compute(ref, alpha)
	for i, v := range at.W2 {
		if v != 0 {
			t.Errorf("w2[%d] = %g at the reference", i, v)
		}
	}
	if at.GradW2 != 0 {
		t.Errorf("GradW2 = %g at the reference, want 0", at.GradW2)
	}

	var bad orw.LossTerms
	if err := bad.Compute(backend, flow, theta, ref, x0[:d], x1, ts, w, n, alpha); err == nil {
		t.Error("no error for a short x0")
	}
	if err := bad.Compute(backend, flow, theta, ref, x0, x1, ts[:2], w, n, alpha); err == nil {
		t.Error("no error for too few times")
	}
}

// TestLossTermsIsTheTrainersLoss checks that LossTerms computes the trainer's
// loss: on the batch of each of a trainer's steps (its x1 and weights, and
// the noise and times that the step drew) and at the parameters before the
// step, LossTerms.Loss equals the loss of the step's optimiser update bit for
// bit, and so do the means of fm and w2 in the step's record.
func TestLossTermsIsTheTrainersLoss(t *testing.T) {
	env := orw.Env{Backend: orwtest.Backend(t), Base: orwtest.WideLatentGenerator(t), Reward: orw.MeanPixel}
	cfg := orwtest.TinyConfig()
	cfg.Alpha = 0.7
	cfg.RefreshEvery = 2
	tr, err := orw.NewTrainer(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	n, d := cfg.Batch, env.Base.SampleSize()
	for range 4 {
		before := tr.State()
		theta := before.Params
		kept := slices.Clone(theta.Tensors)
		rec, err := tr.Step()
		if err != nil {
			t.Fatal(err)
		}
		// A state taken before a step is not changed by it.
		for i := range kept {
			if theta.Tensors[i] != kept[i] {
				t.Fatalf("step %d replaced tensor %d of the state taken before it", rec.Step, i)
			}
			if tr.Params().Tensors[i] == kept[i] {
				t.Fatalf("step %d left the trainee's tensor %d as it was", rec.Step, i)
			}
		}
		after := tr.State()
		// The step's noise and times come from the run's stream, after its
		// batch (drawn online, from a stream of its own).
		rng := orw.NewRNG(0)
		if err := rng.SetState(before.RNG); err != nil {
			t.Fatal(err)
		}
		x0, ts := orw.SampleNoise(rng.Rand, n*d), orw.SampleTimes(rng.Rand, n)
		if rng.State() != after.RNG {
			t.Fatalf("step %d: the run's stream drew more than x0 and t; the test no longer replays the step", rec.Step)
		}
		w := make([]float32, n)
		for i, wi := range after.Weights {
			w[i] = float32(wi)
		}
		var lt orw.LossTerms
		if err := lt.Compute(env.Backend, env.Base.Flow, theta, env.Base.Params, x0, after.Batch.X, ts, w, n, cfg.Alpha); err != nil {
			t.Fatal(err)
		}
		var fm, w2 float64
		for i := range n {
			fm += float64(lt.FM[i]) / float64(n)
			w2 += float64(lt.W2[i]) / float64(n)
		}
		if lt.Loss != rec.Loss || fm != rec.FM || w2 != rec.W2 {
			t.Errorf("step %d: LossTerms gives loss %v, mean fm %v, mean w2 %v; the trainer %v, %v, %v",
				rec.Step, lt.Loss, fm, w2, rec.Loss, rec.FM, rec.W2)
		}
		if rec.Step > 1 && !(w2 > 0) {
			t.Errorf("step %d: mean w2 = %g away from the reference, want > 0", rec.Step, w2)
		}
	}
}
