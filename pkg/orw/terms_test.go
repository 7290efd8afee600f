package orw_test

import (
	"math"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
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
