package orw

import (
	"fmt"
	"math"
	"strings"
)

// Weighting turns the rewards of a batch into the per-sample weights w of the
// loss mean_i(w_i·fm_i + α·w2_i).
type Weighting interface {
	Weights(r []float64) ([]float64, error)
	Name() string
}

// maxFloat32Weight is the largest weight a float32 loss can hold.
const maxFloat32Weight = math.MaxFloat32

// ExpWeighting is the paper's weight w(x1) = exp(τ·r(x1)) on the raw reward
// (docs/method.md, "2 Online reward weighting"). τ is an inverse temperature:
// 0 weights every sample equally, large τ concentrates the loss on the best
// samples.
//
// With Normalize set (our deviation, off by default), the weights are rescaled to
// mean 1 within the batch, w_i = exp(τ(r_i − max r))/mean_j exp(τ(r_j − max r)),
// which never overflows and keeps the loss scale fixed.
type ExpWeighting struct {
	Tau       float64
	Normalize bool
}

// Name is "exp".
func (e ExpWeighting) Name() string { return "exp" }

// Weights returns exp(τ·r) (or its normalised form). A weight that overflows
// float32 is an error naming the samples and the largest τ that would fit.
func (e ExpWeighting) Weights(r []float64) ([]float64, error) {
	if err := CheckRewards(r, -1); err != nil {
		return nil, err
	}
	w := make([]float64, len(r))
	if e.Normalize {
		if len(r) == 0 {
			return w, nil
		}
		hi := r[0]
		for _, x := range r {
			hi = math.Max(hi, x)
		}
		sum := 0.0
		for i, x := range r {
			w[i] = math.Exp(e.Tau * (x - hi))
			sum += w[i]
		}
		for i := range w {
			w[i] *= float64(len(w)) / sum
		}
		return w, nil
	}
	var bad []int
	for i, x := range r {
		w[i] = math.Exp(e.Tau * x)
		if w[i] > maxFloat32Weight {
			bad = append(bad, i)
		}
	}
	if len(bad) == 0 && len(w) > 0 && allBelow(w, math.SmallestNonzeroFloat32) {
		return nil, &Remedy{Err: fmt.Errorf("every weight exp(τ·r) underflows float32 (τ = %g, rewards down to %g)", e.Tau, r[0]),
			Advice: ": lower %s or set %s", Fields: []string{"Tau", "NormalizeWeights"}}
	}
	if len(bad) > 0 {
		hi := 0.0
		for _, x := range r {
			hi = math.Max(hi, math.Abs(x))
		}
		fit := math.Log(maxFloat32Weight) / hi
		return nil, &Remedy{Err: fmt.Errorf("weight exp(τ·r) overflows float32 at samples %s (τ = %g, reward %g)", listInts(bad, 8), e.Tau, r[bad[0]]),
			Advice: fmt.Sprintf(": use %%s <= %.3g for rewards this large, or set %%s", fit), Fields: []string{"Tau", "NormalizeWeights"}}
	}
	return w, nil
}

// UniformWeighting gives every sample weight 1: plain CFM on the selected samples
// (RAFT, ReFT).
type UniformWeighting struct{}

// Name is "uniform".
func (UniformWeighting) Name() string { return "uniform" }

// Weights returns ones.
func (UniformWeighting) Weights(r []float64) ([]float64, error) {
	if err := CheckRewards(r, -1); err != nil {
		return nil, err
	}
	w := make([]float64, len(r))
	for i := range w {
		w[i] = 1
	}
	return w, nil
}

// CheckRewards checks that a reward batch has the expected length (n < 0: any)
// and no NaN or infinite value; the error names the offending samples.
func CheckRewards(r []float64, n int) error {
	if n >= 0 && len(r) != n {
		return fmt.Errorf("the reward returned %d values for a batch of %d images: a reward must return exactly one value per image", len(r), n)
	}
	var nan, inf []int
	for i, x := range r {
		switch {
		case math.IsNaN(x):
			nan = append(nan, i)
		case math.IsInf(x, 0):
			inf = append(inf, i)
		}
	}
	var parts []string
	if len(nan) > 0 {
		parts = append(parts, "NaN at samples "+listInts(nan, 8))
	}
	if len(inf) > 0 {
		parts = append(parts, "infinite values at samples "+listInts(inf, 8))
	}
	if len(parts) > 0 {
		return fmt.Errorf("the reward returned %s: fix the reward function so that it returns finite numbers (or clip it)", strings.Join(parts, " and "))
	}
	return nil
}

func listInts(xs []int, most int) string {
	var b strings.Builder
	for i, x := range xs {
		if i == most {
			fmt.Fprintf(&b, ", ... (%d in all)", len(xs))
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, x)
	}
	return b.String()
}

func allBelow(w []float64, v float64) bool {
	for _, x := range w {
		if x >= v {
			return false
		}
	}
	return true
}
