package orw

import "math"

// The values of Config.AlphaMode ("" reads as alphaFixed).
const (
	alphaFixed     = "fixed"
	alphaAdvantage = "advantage"
)

// The W2 budget's controller (Config.W2Budget; docs/method.md, "8 A W2
// budget"), its constants in one place. After every step it updates
//
//	s ← (1 − budgetSmoothing)·s + budgetSmoothing·W2      (s starts at 0: the trainee starts at the reference)
//	e = clip(s/ε − 1, −budgetErrClip, +budgetErrClip)
//	log α ← log α + budgetGain·e,  α clamped to [budgetAlphaFloor, budgetAlphaCeil]
//
// where W2 is the step's batch estimate mean_i w2_i (StepRecord.W2) and ε
// the budget. This is dual ascent on the constraint E‖v_ft − v_ref‖² ≤ ε
// with α as its multiplier, taken in log α (α stays positive, and a step is
// a relative change, whatever α's scale), with the proportional error
// clipped as in the adaptive KL controller of Ziegler et al. (2019).
const (
	// budgetSmoothing is the weight of the newest step in the smoothed W2:
	// an average over about 1/0.1 = 10 steps. The batch estimate of one
	// step is noisy (one time and one noise draw per sample); a longer
	// average would delay the controller's view of the drift it steers.
	budgetSmoothing = 0.1
	// budgetGain is the change of log α per step at the largest error: at
	// most a factor e^0.05 ≈ 1.05 a step, so α can move by 100x in about 90
	// steps, quick for runs of a few hundred steps, while the trainee (Adam
	// at its learning rate) follows a change of α within tens of steps,
	// which a slower gain would not need and a faster one would overshoot.
	budgetGain = 0.05
	// budgetErrClip bounds the relative error s/ε − 1. Below the budget the
	// error is at least −1 by itself; above, a W2 many times the budget
	// would otherwise make α jump. 1 keeps the steps symmetric.
	budgetErrClip = 1
	// budgetAlphaFloor is the smallest α: a run with Alpha = 0 starts here,
	// and α never reaches 0, from which a multiplicative update cannot
	// return. At 1e-3 the W2 term is negligible next to the flow-matching
	// term on the tasks here (α ≈ 0 in effect) and 1 is within ~140 steps.
	budgetAlphaFloor = 1e-3
	// budgetAlphaCeil is the largest α, Config.Alpha's own bound.
	budgetAlphaCeil = 1e6
)

// w2Budget is the controller of a run with Config.W2Budget > 0.
type w2Budget struct{ eps float64 }

// start is the first α of a run with a budget: Alpha, at least the floor.
func (c w2Budget) start(alpha float64) float64 {
	return math.Min(math.Max(alpha, budgetAlphaFloor), budgetAlphaCeil)
}

// update takes a step's batch W2 and returns the new α and smoothed W2.
func (c w2Budget) update(alpha, smoothed, w2 float64) (float64, float64) {
	if !isFinite(w2) {
		return alpha, smoothed
	}
	smoothed = (1-budgetSmoothing)*smoothed + budgetSmoothing*w2
	e := math.Max(-budgetErrClip, math.Min(budgetErrClip, smoothed/c.eps-1))
	alpha = math.Exp(math.Log(alpha) + budgetGain*e)
	return math.Min(math.Max(alpha, budgetAlphaFloor), budgetAlphaCeil), smoothed
}

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
