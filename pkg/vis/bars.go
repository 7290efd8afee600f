package vis

import (
	"errors"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Bars is one group member of a BarChart: one value per category.
type Bars struct {
	// Name is shown in the legend; bars without a name get no entry.
	Name string
	// Values holds one value per category. NaN leaves the bar out.
	Values []float64
	// Color, when not nil, is the colour of the bars; otherwise bars[i] of
	// a chart is drawn in Color(i).
	Color color.Color
}

// BarChart returns a bar chart with one group of bars per category, labelled
// below by labels, and one bar per member of bars within each group, in the
// member's colour (Bars.Color, or Color(i) for bars[i]), for example the final reward of
// several methods side by side, or each term of a loss per sample. Bars
// start at zero and may be negative; a legend to the right names the members
// that have names. Every member must have one value per label; values must
// not be infinite.
func BarChart(title, ylabel string, labels []string, bars ...Bars) (*plot.Plot, error) {
	switch {
	case len(labels) == 0:
		return nil, errors.New("vis: BarChart: no categories")
	case len(bars) == 0:
		return nil, errors.New("vis: BarChart: no bars")
	}
	lo, hi := 0.0, 0.0
	for i, b := range bars {
		if len(b.Values) != len(labels) {
			return nil, fmt.Errorf("vis: BarChart: bars %d (%q) has %d values for %d categories", i, b.Name, len(b.Values), len(labels))
		}
		for k, v := range b.Values {
			if math.IsInf(v, 0) {
				return nil, fmt.Errorf("vis: BarChart: infinite value in bars %d (%q) at category %d", i, b.Name, k)
			}
			if !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	p := newBarePlot(title, "", ylabel)
	addGrid(p, false)
	const group = 0.8 // the width of a group of bars, in category units
	w := group / float64(len(bars))
	named := false
	for i, b := range bars {
		col := b.Color
		if col == nil {
			col = Color(i)
		}
		poly := &plotter.Polygon{Color: col, LineStyle: draw.LineStyle{Color: color.Transparent}}
		for k, v := range b.Values {
			if math.IsNaN(v) {
				continue
			}
			x0 := float64(k) - group/2 + float64(i)*w
			x1 := x0 + w*0.9 // a hairline gap between neighbouring bars
			poly.XYs = append(poly.XYs, plotter.XYs{{X: x0, Y: 0}, {X: x1, Y: 0}, {X: x1, Y: v}, {X: x0, Y: v}})
		}
		if len(poly.XYs) > 0 {
			p.Add(poly)
		}
		if b.Name != "" {
			p.Legend.Add(b.Name, poly)
			named = true
		}
	}
	if lo < 0 {
		zero := &plotter.Line{
			XYs:       plotter.XYs{{X: -0.5, Y: 0}, {X: float64(len(labels)) - 0.5, Y: 0}},
			LineStyle: draw.LineStyle{Color: color.Gray{Y: 0x40}, Width: vg.Points(0.75)},
		}
		p.Add(zero)
	}
	if named {
		legendOutside(p)
	}
	p.NominalX(labels...)
	p.X.Min, p.X.Max = -0.5, float64(len(labels))-0.5
	if crowdedLabels(labels) {
		// Slanted, ending under their category, so that long names
		// ("T-shirt/top", "Ankle boot") do not run into each other.
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YTop
	}
	// Headroom beyond the longest bars, and the zero line always in view.
	span := hi - lo
	if span == 0 {
		span = 1
	}
	p.Y.Min, p.Y.Max = lo, hi
	if lo < 0 {
		p.Y.Min = lo - 0.05*span
	}
	if hi > 0 || lo == 0 {
		p.Y.Max = hi + 0.05*span
	}
	return p, nil
}

// crowdedLabels reports whether category labels set side by side would touch:
// more than five categories with a label of more than six characters (a bar
// chart's category is about as wide as six characters at its usual sizes).
func crowdedLabels(labels []string) bool {
	if len(labels) <= 5 {
		return false
	}
	for _, l := range labels {
		if len([]rune(l)) > 6 {
			return true
		}
	}
	return false
}
