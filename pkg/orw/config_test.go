package orw_test

import (
	"math"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/metrics"
)

func TestConfigValidation(t *testing.T) {
	bad := map[string]func(*orw.Config){
		"unknown method":   func(c *orw.Config) { c.Method = "ppo" },
		"Tau must be":      func(c *orw.Config) { c.Tau = -1 },
		"Alpha must be":    func(c *orw.Config) { c.Alpha = math.NaN() },
		"Batch must be":    func(c *orw.Config) { c.Batch = 0 },
		"RefreshEvery":     func(c *orw.Config) { c.RefreshEvery = 0 },
		"KeepFraction":     func(c *orw.Config) { c.KeepFraction = 1.5 },
		"unknown coupling": func(c *orw.Config) { c.Coupling = "sinkhorn" },
		"learning rate":    func(c *orw.Config) { c.Optim.LR = 0 },
		"PoolSize":         func(c *orw.Config) { c.Method = orw.MethodReFT; c.PoolSize = 3 },
	}
	for want, mutate := range bad {
		c := orw.DefaultConfig()
		mutate(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v", want, err)
		}
	}
	if err := orw.DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
}

// TestWeightsClosedForm checks the weightings against their definitions.
func TestWeightsClosedForm(t *testing.T) {
	r := []float64{0, 0.5, 1, -1}
	w, err := orw.ExpWeighting{Tau: 2}.Weights(r)
	if err != nil {
		t.Fatal(err)
	}
	for i := range r {
		if math.Abs(w[i]-math.Exp(2*r[i])) > 1e-12 {
			t.Fatalf("w[%d] = %g, want exp(2·%g)", i, w[i], r[i])
		}
	}
	wn, err := orw.ExpWeighting{Tau: 2, Normalize: true}.Weights(r)
	if err != nil {
		t.Fatal(err)
	}
	mean := 0.0
	for i := range wn {
		mean += wn[i] / float64(len(wn))
		if math.Abs(wn[i]/wn[0]-w[i]/w[0]) > 1e-12 {
			t.Fatalf("normalised weights are not proportional to exp(τr)")
		}
	}
	if math.Abs(mean-1) > 1e-12 {
		t.Fatalf("normalised weights have mean %g", mean)
	}
	// Normalised weights never overflow.
	if _, err := (orw.ExpWeighting{Tau: 1000, Normalize: true}).Weights([]float64{1, 2}); err != nil {
		t.Fatal(err)
	}
	ratio, ess := metrics.WeightStats([]float64{1, 1, 1, 1})
	if ratio != 1 || ess != 4 {
		t.Fatalf("uniform weights: ratio %g ess %g", ratio, ess)
	}
}

func TestMethodSpecs(t *testing.T) {
	for _, tc := range []struct {
		method orw.Method
		online bool
		keep   float64
		weight string
	}{
		{orw.MethodORW, true, 1, "exp"}, {orw.MethodRWCFM, false, 1, "exp"},
		{orw.MethodRAFT, true, 0.25, "uniform"}, {orw.MethodReFT, false, 0.25, "uniform"},
	} {
		c := orw.DefaultConfig()
		c.Method = tc.method
		s := c.Spec()
		if s.Online != tc.online || s.Keep != tc.keep || s.Weighting.Name() != tc.weight {
			t.Errorf("%s: %+v", tc.method, s)
		}
	}
}
