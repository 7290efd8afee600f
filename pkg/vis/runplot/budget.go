package runplot

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"

	"github.com/orwcfm/orwcfm/pkg/vis"
)

// Budget plots what a W2 budget (orw.Config.W2Budget) does during training,
// step by step: the coefficient α that each step's loss used (log scale),
// and the smoothed W2 estimate that the controller steers, with each
// budget ε as a labelled dashed line. Runs without a budget are
// left out; it is an error if none has one. Each run is its own curve (a
// run's seed is part of what the controller answers to).
func Budget(hs ...*History) (alpha, w2 *plot.Plot, err error) {
	names, byName := groups(hs)
	sty := styles(names)
	var as, ws []vis.Series
	var budgets []float64
	for i, n := range names {
		for k, h := range byName[n] {
			if h.Config.W2Budget <= 0 {
				continue
			}
			a := vis.Series{Name: n, Color: sty[i].color, Dashed: sty[i].variant}
			w := a
			if k > 0 { // one legend entry per name
				a.Name, w.Name = "", ""
			}
			for _, s := range h.Steps {
				if s.Alpha > 0 {
					a.X, a.Y = append(a.X, float64(s.Step)), append(a.Y, s.Alpha)
					w.X, w.Y = append(w.X, float64(s.Step)), append(w.Y, s.W2Smoothed)
				}
			}
			if len(a.X) > 0 {
				as, ws = append(as, a), append(ws, w)
				if k == 0 {
					budgets = append(budgets, h.Config.W2Budget)
				}
			}
		}
	}
	if len(as) == 0 {
		return nil, nil, fmt.Errorf("runplot: Budget: no run with a W2 budget and steps (%d histories)", len(hs))
	}
	if alpha, err = vis.CurvesLogY("α during training (the budget's controller)", "step", "α of the step's loss", as...); err != nil {
		return nil, nil, err
	}
	if w2, err = vis.CurvesLogY("smoothed W2 estimate against its budget", "step", "smoothed per-step W2", ws...); err != nil {
		return nil, nil, err
	}
	lo := math.Inf(1)
	for _, b := range budgets {
		vis.Reference(w2, b, fmt.Sprintf("ε = %g", b))
		lo = math.Min(lo, b)
	}
	if w2.Y.Min > lo/2 {
		w2.Y.Min = lo / 2
	}
	return alpha, w2, nil
}
