package vis

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg/draw"
)

// ClassHistogram returns a bar chart of per-class counts (or fractions),
// one bar per class in the class's colour (see Color), labelled below by
// names, or by the class indices 0, 1, … when names is nil. The classes
// listed in muted are drawn in grey instead (see ClassStack). Counts must
// be finite and not negative.
func ClassHistogram(counts []float64, names []string, muted ...int) (*plot.Plot, error) {
	if len(counts) == 0 {
		return nil, errors.New("vis: ClassHistogram: no classes")
	}
	names, err := classNames(names, len(counts))
	if err != nil {
		return nil, fmt.Errorf("vis: ClassHistogram: %w", err)
	}
	for k, c := range counts {
		if !finite(c) || c < 0 {
			return nil, fmt.Errorf("vis: ClassHistogram: invalid count %v for class %d", c, k)
		}
	}
	p := newBarePlot("", "class", "count")
	addGrid(p, false)
	for k, c := range counts {
		const half = 0.4
		bar := &plotter.Polygon{
			XYs: []plotter.XYs{{
				{X: float64(k) - half, Y: 0}, {X: float64(k) + half, Y: 0},
				{X: float64(k) + half, Y: c}, {X: float64(k) - half, Y: c},
			}},
			Color:     classColor(k, muted),
			LineStyle: draw.LineStyle{Color: color.Transparent},
		}
		p.Add(bar)
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.5, float64(len(counts))-0.5
	p.Y.Min = 0
	p.Y.Max *= 1.05 // Headroom above the highest bar.
	if p.Y.Max <= 0 {
		p.Y.Max = 1
	}
	return p, nil
}

// ClassStack shows how the class make-up of samples changes during training,
// as a stacked area chart: at each of the steps, fractions[t] holds one value
// per class, and the band of class k is drawn in Color(k) with class 0 at the
// bottom. Each row is normalised to sum to one, so counts may be given
// instead of fractions; a row of zeros is drawn empty. The legend, to the
// right, lists names (class indices when names is nil) from the top of the
// stack down.
//
// The classes listed in muted are drawn in two alternating greys instead of
// their colours, so that the classes a reward favours stand out and the
// shrinking of the others shows as a shrinking grey area (the odd digits of
// an "even digits" reward).
//
// Steps must be finite and strictly increasing, at least two of them; every
// row must have one value per class, finite and not negative.
func ClassStack(steps []float64, fractions [][]float64, names []string, muted ...int) (*plot.Plot, error) {
	switch {
	case len(steps) < 2:
		return nil, fmt.Errorf("vis: ClassStack: %d steps, need at least 2 (use ClassHistogram for one)", len(steps))
	case len(fractions) != len(steps):
		return nil, fmt.Errorf("vis: ClassStack: len(fractions)=%d != len(steps)=%d", len(fractions), len(steps))
	}
	k := len(fractions[0])
	if names != nil {
		k = len(names)
	}
	if k == 0 {
		return nil, errors.New("vis: ClassStack: no classes")
	}
	names, err := classNames(names, k)
	if err != nil {
		return nil, fmt.Errorf("vis: ClassStack: %w", err)
	}
	for t, s := range steps {
		if !finite(s) || (t > 0 && s <= steps[t-1]) {
			return nil, fmt.Errorf("vis: ClassStack: steps must be finite and increasing, got %v at %d", s, t)
		}
	}
	// cum[t][c] is the top of the band of class c-1 at step t, cum[t][0] = 0.
	cum := make([][]float64, len(steps))
	for t, row := range fractions {
		if len(row) != k {
			return nil, fmt.Errorf("vis: ClassStack: fractions[%d] has %d values, want %d", t, len(row), k)
		}
		var sum float64
		for c, v := range row {
			if !finite(v) || v < 0 {
				return nil, fmt.Errorf("vis: ClassStack: invalid value %v for class %d at step %d", v, c, t)
			}
			sum += v
		}
		cum[t] = make([]float64, k+1)
		for c, v := range row {
			if sum > 0 {
				v /= sum
			}
			cum[t][c+1] = cum[t][c] + v
		}
	}

	p := newPlot("", "step", "fraction")
	// Class c covers [0, cum[c+1]]; drawing from the top class down paints
	// each band over the previous ones, so that no seams show between them.
	bands := make([]*plotter.Polygon, k)
	for c := k - 1; c >= 0; c-- {
		ring := make(plotter.XYs, 0, len(steps)+2)
		for t, s := range steps {
			ring = append(ring, plotter.XY{X: s, Y: math.Min(cum[t][c+1], 1)})
		}
		ring = append(ring, plotter.XY{X: steps[len(steps)-1], Y: 0}, plotter.XY{X: steps[0], Y: 0})
		bands[c] = &plotter.Polygon{
			XYs:       []plotter.XYs{ring},
			Color:     classColor(c, muted),
			LineStyle: draw.LineStyle{Color: color.Transparent},
		}
		p.Add(bands[c])
	}
	for c := k - 1; c >= 0; c-- {
		p.Legend.Add(names[c], bands[c])
	}
	legendOutside(p)
	p.X.Min, p.X.Max = steps[0], steps[len(steps)-1]
	p.Y.Min, p.Y.Max = 0, 1
	return p, nil
}

// classNames returns names, or the class indices as names when names is nil.
func classNames(names []string, n int) ([]string, error) {
	if names == nil {
		names = make([]string, n)
		for i := range names {
			names[i] = strconv.Itoa(i)
		}
	}
	if len(names) != n {
		return nil, fmt.Errorf("%d names for %d classes", len(names), n)
	}
	return names, nil
}

// classColor is the colour of class k: Color(k), or one of two greys,
// alternating from one muted class to the next, when k is in muted.
func classColor(k int, muted []int) color.Color {
	n := 0
	for _, m := range muted {
		if m == k {
			if n%2 == 0 {
				return color.Gray{Y: 0xb4}
			}
			return color.Gray{Y: 0xd2}
		}
		if m < k {
			n++
		}
	}
	return Color(k)
}
