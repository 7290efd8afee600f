package paper

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// setting returns the setting labelled label (nil when absent).
func (r *Results) setting(label string) *SettingResult {
	for i := range r.Settings {
		if r.Settings[i].Label == label {
			return &r.Settings[i]
		}
	}
	return nil
}

// values collects a metric over a setting's runs.
func (s *SettingResult) values(f func(RunResult) float64) []float64 {
	var v []float64
	for _, r := range s.Runs {
		v = append(v, f(r))
	}
	return v
}

// meanFractions averages the class fractions over a setting's runs.
func (s *SettingResult) meanFractions() []float64 {
	var out []float64
	n := 0
	for _, r := range s.Runs {
		if r.ClassFractions == nil {
			continue
		}
		if out == nil {
			out = make([]float64, len(r.ClassFractions))
		}
		for k, f := range r.ClassFractions {
			out[k] += f
		}
		n++
	}
	for k := range out {
		out[k] /= float64(n)
	}
	return out
}

// largestClass is the largest class fraction of a run (NaN without classes).
func largestClass(r RunResult) float64 {
	if r.ClassFractions == nil {
		return math.NaN()
	}
	m := 0.0
	for _, f := range r.ClassFractions {
		m = math.Max(m, f)
	}
	return m
}

func checkTauZero(r *Results) (string, bool) { return checkNoDrift("τ = 0")(r) }

// checkNoDrift: the setting's final reward stays within ±0.03 of its base
// model's (means over seeds).
func checkNoDrift(label string) func(*Results) (string, bool) {
	return func(r *Results) (string, bool) { return noDrift(r, label) }
}

func noDrift(r *Results, label string) (string, bool) {
	s := r.setting(label)
	if s == nil || len(s.Runs) == 0 {
		return "no runs of " + label, false
	}
	d := mean(s.values(func(x RunResult) float64 { return x.FinalReward - x.InitialReward }))
	return fmt.Sprintf("final − base reward %+.3f (base %.3f)", d, mean(s.values(func(x RunResult) float64 { return x.InitialReward }))), math.Abs(d) <= 0.03
}

// checkCollapse: the setting's mean reward ≥ 0.98 and mean largest class ≥ 0.70.
func checkCollapse(label string) func(*Results) (string, bool) {
	return func(r *Results) (string, bool) {
		s := r.setting(label)
		if s == nil || len(s.Runs) == 0 {
			return "no runs of " + label, false
		}
		rw := mean(s.values(func(x RunResult) float64 { return x.FinalReward }))
		top := mean(s.values(largestClass))
		return fmt.Sprintf("%s: reward %.3f, largest digit %.0f%%", label, rw, 100*top), rw >= 0.98 && top >= 0.70
	}
}

// checkDiverse: the setting's mean reward ≥ 0.95 with at least four even
// digits at ≥ 10% (of the mean class fractions).
func checkDiverse(label string) func(*Results) (string, bool) {
	return func(r *Results) (string, bool) {
		s := r.setting(label)
		if s == nil || len(s.Runs) == 0 {
			return "no runs of " + label, false
		}
		rw := mean(s.values(func(x RunResult) float64 { return x.FinalReward }))
		fr := s.meanFractions()
		n := 0
		var parts []string
		for k := 0; k < len(fr); k += 2 {
			if fr[k] >= 0.10 {
				n++
			}
			parts = append(parts, fmt.Sprintf("%d: %.0f%%", k, 100*fr[k]))
		}
		return fmt.Sprintf("%s: reward %.3f; even digits %s", label, rw, strings.Join(parts, ", ")), rw >= 0.95 && n >= 4
	}
}

func checkOnlineAbove(r *Results) (string, bool) {
	var on, off *SettingResult
	for i := range r.Settings {
		switch r.Settings[i].Method {
		case "orw":
			on = &r.Settings[i]
		case "rwcfm":
			off = &r.Settings[i]
		}
	}
	if on == nil || off == nil {
		return "missing a setting", false
	}
	a := mean(on.values(func(x RunResult) float64 { return x.FinalReward }))
	b := mean(off.values(func(x RunResult) float64 { return x.FinalReward }))
	return fmt.Sprintf("online %.3f, offline %.3f (difference %+.3f)", a, b, a-b), a-b >= 0.03
}

// checkSpearman: the rank correlation between α and a metric (means over
// seeds) over the settings is ≤ −0.9.
func checkSpearman(name string, f func(RunResult) float64) func(*Results) (string, bool) {
	return func(r *Results) (string, bool) {
		var a, m []float64
		for i := range r.Settings {
			s := &r.Settings[i]
			a = append(a, s.Alpha)
			m = append(m, mean(s.values(f)))
		}
		rho := Spearman(a, m)
		return fmt.Sprintf("Spearman ρ(α, %s) = %.3f over %d settings", name, rho, len(a)), rho <= -0.9
	}
}

// Spearman is the rank correlation of x and y (ties get their mean rank); NaN
// with fewer than two points or a constant variable.
func Spearman(x, y []float64) float64 {
	if len(x) != len(y) || len(x) < 2 {
		return math.NaN()
	}
	rx, ry := ranks(x), ranks(y)
	mx, my := mean(rx), mean(ry)
	var sxy, sxx, syy float64
	for i := range rx {
		sxy += (rx[i] - mx) * (ry[i] - my)
		sxx += (rx[i] - mx) * (rx[i] - mx)
		syy += (ry[i] - my) * (ry[i] - my)
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// ranks returns the 1-based ranks of x, ties sharing their mean rank.
func ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && x[idx[j+1]] == x[idx[i]] {
			j++
		}
		for k := i; k <= j; k++ {
			r[idx[k]] = float64(i+j)/2 + 1
		}
		i = j + 1
	}
	return r
}

// mean is the mean of the finite values of x (NaN when there are none).
func mean(x []float64) float64 {
	s, n := 0.0, 0
	for _, v := range x {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			s += v
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

// std is the standard deviation (over n, the seeds) of the finite values of x.
func std(x []float64) float64 {
	m := mean(x)
	s, n := 0.0, 0
	for _, v := range x {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			s += (v - m) * (v - m)
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return math.Sqrt(s / float64(n))
}

func joinParts(p []string) string { return strings.Join(p, "; ") }

// checkEverySeedEven: in every seed of the setting, the reward is at least
// minReward and every even digit holds at least minShare of the samples.
func checkEverySeedEven(label string, minReward, minShare float64) func(*Results) (string, bool) {
	return func(r *Results) (string, bool) {
		s := r.setting(label)
		if s == nil || len(s.Runs) == 0 {
			return "no runs of " + label, false
		}
		ok := true
		var parts []string
		for _, run := range s.Runs {
			low := 1.0
			for k := 0; k < len(run.ClassFractions); k += 2 {
				low = min(low, run.ClassFractions[k])
			}
			if len(run.ClassFractions) == 0 {
				low = 0
			}
			ok = ok && run.FinalReward >= minReward && low >= minShare
			parts = append(parts, fmt.Sprintf("seed %d: reward %.3f, smallest even digit %.1f%%", run.Seed, run.FinalReward, 100*low))
		}
		return strings.Join(parts, "; "), ok
	}
}
