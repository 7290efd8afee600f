package tasks

import (
	"math"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
)

// TestJPEGDefaultsWeightScale draws a training batch from the shipped Fashion
// base model, scores it with the JPEG rewards and weights it with the JPEG
// tasks' defaults: the weights must be of order one (so that α weighs the W2
// term against a unit-scale flow-matching term; raw exp(20·r) gave about 1e-7
// for compressibility and 1e7 for incompressibility) and still selective (the
// best sample weighs several times the mean).
func TestJPEGDefaultsWeightScale(t *testing.T) {
	be := testBackend(t)
	for _, name := range []string{"fashion-jpeg", "fashion-jpeg-incompress"} {
		task := mustTask(t, name)
		cfg := task.Defaults()
		env, err := task.BuildEnv(be, Options{})
		if err != nil {
			t.Fatal(err)
		}
		n := cfg.Batch
		rng := orw.NewRNG(7)
		x0 := make([]float32, n*env.Base.SampleSize())
		for i := range x0 {
			x0[i] = float32(rng.NormFloat64())
		}
		_, imgs, err := env.Base.SampleInChunks(be, cfg.Sampler, nil, x0, n, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := env.Reward.Reward(imgs)
		if err != nil {
			t.Fatal(err)
		}
		w, err := cfg.Spec().Weighting.Weights(r)
		if err != nil {
			t.Fatal(err)
		}
		mean, top, rmean := 0.0, 0.0, 0.0
		for i := range w {
			mean += w[i] / float64(n)
			rmean += r[i] / float64(n)
			top = math.Max(top, w[i])
		}
		t.Logf("%s: mean reward %.3f kB, mean weight %.3g, max/mean %.2f (tau %g, normalised %v)", name, rmean, mean, top/mean, cfg.Tau, cfg.NormalizeWeights)
		if math.Abs(math.Abs(rmean)-0.83) > 0.15 {
			t.Errorf("%s: the base model's mean reward is %.3f; the defaults were tuned for |r| ≈ 0.83 kB", name, rmean)
		}
		if mean < 0.5 || mean > 2 {
			t.Errorf("%s: mean weight %.3g; the defaults should keep the weighted term on the scale of α·W2 (order 1)", name, mean)
		}
		if top/mean < 3 {
			t.Errorf("%s: max/mean weight %.2f: τ=%g hardly selects at the base model's reward spread", name, top/mean, cfg.Tau)
		}
	}
}
