package vis

import (
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// newPlot returns a plot with the given labels and light grid lines.
func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := newBarePlot(title, xlabel, ylabel)
	addGrid(p, true)
	return p
}

// newBarePlot returns a plot with the given labels and no grid.
func newBarePlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.X.Tick.Marker = plot.TickerFunc(linearTicks)
	p.Y.Tick.Marker = plot.TickerFunc(linearTicks)
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	return p
}

// addGrid adds light grid lines, horizontal ones and, if vertical is true,
// vertical ones, to p.
func addGrid(p *plot.Plot, vertical bool) {
	g := plotter.NewGrid()
	g.Vertical.Color = nil
	if vertical {
		g.Vertical.Color = color.Gray{Y: 0xdd}
	}
	g.Horizontal.Color = color.Gray{Y: 0xdd}
	p.Add(g)
}

// legendOutside moves the legend of p to the right of the data area.
// It adds a plotter that draws nothing but reports a glyph box at the right
// edge of the data as wide as the legend, which makes the plot narrow its
// data area by that much; the legend, drawn right-aligned legendMargin
// inside the edge of the canvas, then fills the freed strip, so that no
// thumbnail or text touches the edge of the picture.
func legendOutside(p *plot.Plot) {
	p.Legend.Top = true
	p.Legend.Left = false
	p.Legend.XOffs = -legendMargin
	p.Add(legendSpace{})
}

// legendMargin is the space between a legend outside the data and the right
// edge of the picture.
const legendMargin = vg.Length(4)

type legendSpace struct{}

// Plot implements plot.Plotter; it draws nothing.
func (legendSpace) Plot(draw.Canvas, *plot.Plot) {}

// GlyphBoxes implements plot.GlyphBoxer.
func (legendSpace) GlyphBoxes(p *plot.Plot) []plot.GlyphBox {
	w := p.Legend.Rectangle(draw.Canvas{}).Size().X
	if w <= 0 {
		return nil
	}
	gap := p.Legend.TextStyle.Font.Size/2 + vg.Points(4) + legendMargin
	return []plot.GlyphBox{{X: 1, Y: 0.5, Rectangle: vg.Rectangle{Max: vg.Point{X: w + gap}}}}
}

// linearTicks returns ticks for a linear axis over [lo, hi]: labelled ticks
// at multiples of a step of 1, 2 or 5 times a power of ten chosen to give
// about five intervals, with unlabelled ticks between them, and labels
// printed with as many decimals as the step needs. An empty range gets a
// single tick.
func linearTicks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || !finite(lo, hi) {
		if finite(lo) {
			return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 4, 64)}}
		}
		return nil
	}
	// Of the steps 1, 2 and 5 times a power of ten, take the one that
	// divides the range into the number of intervals closest to five.
	k := math.Floor(math.Log10((hi - lo) / 5))
	var step, sub float64
	best := math.Inf(1)
	for _, e := range []float64{k - 1, k, k + 1} {
		for _, m := range []float64{1, 2, 5} {
			s := m * math.Pow(10, e)
			if d := math.Abs((hi-lo)/s - 5); d < best || (d == best && s > step) {
				best, step, sub = d, s, 5
				if m == 2 {
					sub = 2
				}
			}
		}
	}
	const eps = 1e-9
	var ticks []plot.Tick
	for i := math.Ceil(lo/step*sub - eps); i <= hi/step*sub+eps; i++ {
		t := plot.Tick{Value: i * step / sub}
		if math.Mod(i, sub) == 0 {
			t.Label = formatValue(t.Value, step)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// formatValue formats v with the decimals needed to tell apart values that
// are step apart.
func formatValue(v, step float64) string {
	d := -int(math.Floor(math.Log10(step) + 1e-9))
	if d > 6 || math.Abs(v) >= 1e6 {
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	if v == 0 {
		v = 0 // No "-0".
	}
	return strconv.FormatFloat(v, 'f', max(d, 0), 64)
}

// tickLabel formats m×10^k, for a mantissa m in 1…9, without rounding
// noise: "0.002", "50", "1e+06".
func tickLabel(m, k int) string {
	if k < -4 || k > 5 {
		return fmt.Sprintf("%de%+03d", m, k)
	}
	return strconv.FormatFloat(float64(m)*math.Pow10(k), 'f', max(0, -k), 64)
}

// logTicks returns ticks for a base-10 log axis over [lo, hi], 0 < lo ≤ hi:
// labelled decades with unlabelled intermediate ticks, also labelling the
// 2s and 5s when fewer than two decades are in range, and falling back to
// linearTicks when the range is too narrow even for that.
func logTicks(lo, hi float64) []plot.Tick {
	const eps = 1e-9
	k0 := int(math.Floor(math.Log10(lo)))
	k1 := int(math.Ceil(math.Log10(hi)))
	in := func(v float64) bool { return v >= lo*(1-eps) && v <= hi*(1+eps) }
	labelled := func(m int, decadesOnly bool) bool {
		return m == 1 || (!decadesOnly && (m == 2 || m == 5))
	}
	for _, decadesOnly := range []bool{true, false} {
		var ticks []plot.Tick
		var n int
		for k := k0; k <= k1; k++ {
			for m := 1; m <= 9; m++ {
				v := float64(m) * math.Pow10(k)
				if !in(v) {
					continue
				}
				t := plot.Tick{Value: v}
				if labelled(m, decadesOnly) {
					t.Label = tickLabel(m, k)
					n++
				}
				ticks = append(ticks, t)
			}
		}
		if n >= 2 {
			return ticks
		}
	}
	return linearTicks(lo, hi)
}

// logZero returns the level at which a log axis whose smallest positive
// value is minPos draws the value 0: the power of ten a decade below the
// one at or under minPos, so that 0 sits on its own labelled tick, apart
// from every positive value.
func logZero(minPos float64) float64 {
	return math.Pow(10, math.Floor(math.Log10(minPos)+1e-9)-1)
}

// setLogY gives p a base-10 logarithmic y axis over [lo, hi]. With zero > 0
// the axis starts at zero, which is labelled "0": the level at which the
// plot draws values that are zero or negative (see logZero).
func setLogY(p *plot.Plot, lo, hi, zero float64) {
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.TickerFunc(logTicks)
	if zero > 0 {
		p.Y.Tick.Marker = zeroTicks(zero, 10*zero, nil)
		lo = zero
	}
	p.Y.Min, p.Y.Max = lo, hi
}

// setLogX is setLogY for the x axis.
func setLogX(p *plot.Plot, lo, hi, zero float64) {
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.TickerFunc(logTicks)
	if zero > 0 {
		p.X.Tick.Marker = zeroTicks(zero, 10*zero, nil)
		lo = zero
	}
	p.X.Min, p.X.Max = lo, hi
}

// zeroTicks returns the ticks of a log axis on which the value 0 is drawn
// at zero, below from: a tick labelled "0" at zero, then the log ticks from
// from up, leaving the gap between zero and from without minor ticks (the
// break in the axis). With marks, only the values of marks are labelled
// (the swept values of an α axis), those whose labels fit apart
// (spacedMarks), and the other log ticks are minor ones.
func zeroTicks(zero, from float64, marks []float64) plot.Ticker {
	return plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		ticks := []plot.Tick{{Value: zero, Label: "0"}}
		if marks == nil && hi < 3*from {
			// Too little above the break for log ticks (a W2 that has just
			// left 0): label the power of ten there and the top, rounded
			// down to two digits.
			top, _ := strconv.ParseFloat(strconv.FormatFloat(hi, 'g', 2, 64), 64)
			if top > hi {
				top -= math.Pow(10, math.Floor(math.Log10(hi))-1)
			}
			ticks = append(ticks, plot.Tick{Value: from, Label: strconv.FormatFloat(from, 'g', 4, 64)})
			if top >= 1.6*from { // else too close to from to label apart
				ticks = append(ticks, plot.Tick{Value: top, Label: strconv.FormatFloat(top, 'g', 2, 64)})
			}
			return ticks
		}
		for _, t := range logTicks(from, hi) {
			if t.Value > zero*(1+1e-9) {
				if marks != nil {
					t.Label = ""
				}
				ticks = append(ticks, t)
			}
		}
		for _, m := range spacedMarks(marks, math.Log10(hi/zero)/12) {
			label := strconv.FormatFloat(m, 'g', 4, 64)
			found := false
			for i := range ticks {
				if math.Abs(ticks[i].Value-m) <= 1e-9*m {
					ticks[i].Label, found = label, true
				}
			}
			if !found {
				ticks = append(ticks, plot.Tick{Value: m, Label: label})
			}
		}
		return ticks
	})
}

// spacedMarks returns the positive marks whose labels fit apart on a log
// axis: every power of ten among them, then, in increasing order, each other
// mark at least gap decades from those already kept (the α grid 0.01, 0.02,
// 0.05, 0.1 … is labelled at its decades when the axis spans four of them,
// since labels 0.3 decades apart touch at a notebook's plot width).
func spacedMarks(marks []float64, gap float64) []float64 {
	var kept, rest []float64
	for _, m := range marks {
		switch {
		case m <= 0:
		case math.Abs(math.Log10(m)-math.Round(math.Log10(m))) < 1e-9:
			kept = append(kept, m)
		default:
			rest = append(rest, m)
		}
	}
	sort.Float64s(rest)
	for _, m := range rest {
		fits := true
		for _, k := range kept {
			if math.Abs(math.Log10(m/k)) < gap {
				fits = false
				break
			}
		}
		if fits {
			kept = append(kept, m)
		}
	}
	return kept
}

// alphaTicks returns the ticks for an α axis on which α = 0 is drawn at
// zero, one decade below the smallest positive α, minPos: "0" there, a
// labelled tick at every α of the sweep (alphas) whose label fits apart from
// the others (spacedMarks; the rest are minor ticks), and unlabelled log ticks
// from minPos up; the gap between 0 and minPos has no minor ticks.
func alphaTicks(zero, minPos float64, alphas []float64) plot.Ticker {
	return zeroTicks(zero, minPos, alphas)
}

// positiveRange returns the smallest and largest positive finite values in
// the given slices, and whether there is any.
func positiveRange(vs ...[]float64) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		for _, x := range v {
			if x > 0 && !math.IsInf(x, 1) {
				lo = math.Min(lo, x)
				hi = math.Max(hi, x)
				ok = true
			}
		}
	}
	return lo, hi, ok
}

// finite reports whether none of the values is NaN or infinite.
func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}
