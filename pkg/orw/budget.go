package orw

import "math"

// The values of Config.AlphaMode ("" reads as alphaFixed).
const (
	alphaFixed     = "fixed"
	alphaAdvantage = "advantage"
)

// The W2 budget's controller (Config.W2Budget; docs/method.md, "8 A W2
// budget"), its constants in one place. It keeps two numbers, the
// controller's α (its integral part, which starts at Config.Alpha) and the
// smoothed W2 s (which starts at 0: the trainee starts at the reference). A
// step's loss uses
//
//	e = clip(s/ε − 1, −budgetErrClip, +budgetErrClip)
//	α_step = α·exp(budgetProp·e)
//
// and after the step, with W2 its batch estimate mean_i w2_i (StepRecord.W2),
//
//	s ← (1 − budgetSmoothing)·s + budgetSmoothing·W2
//	log α ← log α + budgetGain·e(s)
//
// with α and α_step kept in [budgetAlphaFloor, budgetAlphaCeil]. This is dual
// ascent on the constraint E‖v_ft − v_ref‖² ≤ ε with α as its multiplier,
// taken in log α (α stays positive and a step is a relative change, whatever
// α's scale), with the proportional error clipped as in the adaptive KL
// controller of Ziegler et al. (2019), and a proportional term on top
// (a PI controller in log α): the W2 integrates the updates, so an integral
// controller alone drives a double integrator and oscillates.
const (
	// budgetSmoothing is the weight of the newest step in the smoothed W2,
	// an average over about 1/0.2 = 5 steps: the batch estimate of one step
	// is noisy (one time and one noise draw per sample), and a longer
	// average delays the controller's view of the drift it steers.
	budgetSmoothing = 0.2
	// budgetGain is the integral gain: log α moves by at most 0.1 a step,
	// so α can move 100x in about 46 steps.
	budgetGain = 0.1
	// budgetProp is the proportional gain: the step's α is the integral α
	// times e^(2e), between e^−2 ≈ 0.14 and e^2 ≈ 7.4 times it, so the pull
	// towards the reference answers the W2 at once, which damps the swings
	// that the integral part alone leaves.
	budgetProp = 2.0
	// budgetErrClip bounds the relative error s/ε − 1. Below the budget the
	// error is at least −1 by itself; above, a W2 many times the budget
	// would otherwise make α jump. 1 keeps both directions equally fast.
	budgetErrClip = 1.0
	// budgetAlphaFloor is the smallest α: a run with Alpha = 0 starts here,
	// and α never reaches 0, from which a multiplicative update cannot
	// return. At 1e-3 the W2 term is negligible next to the flow-matching
	// term on the tasks here (α ≈ 0 in effect), and 1 is within ~70 steps.
	budgetAlphaFloor = 1e-3
	// budgetAlphaCeil is the largest α, Config.Alpha's own bound.
	budgetAlphaCeil = 1e6
)

// w2Budget is the controller of a run with Config.W2Budget > 0.
type w2Budget struct{ eps float64 }

// start is the controller's first α: Alpha, within the bounds.
func (c w2Budget) start(alpha float64) float64 { return clampAlpha(alpha) }

// err is the clipped relative error of the smoothed W2.
func (c w2Budget) err(smoothed float64) float64 {
	return math.Max(-budgetErrClip, math.Min(budgetErrClip, smoothed/c.eps-1))
}

// step is the α a step's loss uses, for the controller's α and smoothed W2.
func (c w2Budget) step(alpha, smoothed float64) float64 {
	return clampAlpha(alpha * math.Exp(budgetProp*c.err(smoothed)))
}

// update takes a step's batch W2 and returns the controller's new α and
// smoothed W2.
func (c w2Budget) update(alpha, smoothed, w2 float64) (float64, float64) {
	if !isFinite(w2) {
		return alpha, smoothed
	}
	smoothed = (1-budgetSmoothing)*smoothed + budgetSmoothing*w2
	return clampAlpha(math.Exp(math.Log(alpha) + budgetGain*c.err(smoothed))), smoothed
}

func clampAlpha(a float64) float64 { return math.Min(math.Max(a, budgetAlphaFloor), budgetAlphaCeil) }

// adrpoAlphas are ADRPO's per-sample W2 coefficients for base coefficient
// alpha and the batch's rewards (docs/method.md, "9 Per-sample
// regularisation (ADRPO)"):
//
//	A_i = r_i − mean_j r_j,   α_i = max(0, α − A_i).
//
// A sample better than the batch's mean is held less to the reference, a
// worse one more; the clip at 0 keeps the W2 term a penalty (a negative
// coefficient would reward leaving the reference without bound).
func adrpoAlphas(alpha float64, rewards []float64) []float64 {
	var mean float64
	for _, r := range rewards {
		mean += r
	}
	mean /= float64(len(rewards))
	a := make([]float64, len(rewards))
	for i, r := range rewards {
		a[i] = math.Max(0, alpha-(r-mean))
	}
	return a
}
