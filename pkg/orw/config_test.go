package orw_test

import (
	"errors"
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

// TestConfigFieldErrors checks that Validate's problems are *orw.FieldError
// values naming the field, the value and the rule, each found by errors.As,
// while the text stays one line listing them all.
func TestConfigFieldErrors(t *testing.T) {
	c := orw.DefaultConfig()
	c.Alpha = -1
	err := c.Validate()
	var fe *orw.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("Validate() = %v, not a *FieldError", err)
	}
	if fe.Field != "Alpha" || fe.Value != -1.0 || fe.Rule != "a finite number in [0, 1e6]" {
		t.Errorf("FieldError = %+v", *fe)
	}
	if want := "invalid fine-tuning config: Alpha must be a finite number in [0, 1e6], got -1"; err.Error() != want {
		t.Errorf("text %q, want %q", err.Error(), want)
	}

	c = orw.DefaultConfig()
	c.RefreshEvery = 0
	c.Sampler.Steps = 0
	c.Optim.LR = 0
	err = c.Validate()
	want := "invalid fine-tuning config: RefreshEvery must be >= 1, got 0; Sampler.Steps must be in 1..10000, got 0; " +
		"optim: learning rate must be positive and finite, got 0"
	if err.Error() != want {
		t.Errorf("text %q, want %q", err.Error(), want)
	}
	var fields []string
	var walk func(error)
	walk = func(err error) {
		if fe, ok := err.(*orw.FieldError); ok {
			fields = append(fields, fe.Field)
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	if strings.Join(fields, " ") != "RefreshEvery Sampler.Steps Optim" {
		t.Errorf("fields %v", fields)
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
