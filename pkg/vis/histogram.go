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

// Sample is a named set of values for Histogram, such as the rewards of the
// evaluation batch at one step.
type Sample struct {
	// Name is shown in the legend; samples without a name get no entry.
	Name string
	// Values are the observations; NaN and infinite values are left out.
	Values []float64
}

// DefaultBins is the number of bins Histogram uses when it is given none.
const DefaultBins = 20

// Histogram returns overlaid histograms of samples on common bins: bins
// equal intervals spanning the finite values of all samples (DefaultBins if
// bins is not positive). The height of a bin is the fraction of its sample
// that falls in it, so samples of different sizes compare directly. Each
// sample is drawn as a translucent area with an outline in its colour
// (Color(i) for samples[i]), which keeps overlapping samples readable. It is
// an error if no sample has a finite value.
func Histogram(title, xlabel string, bins int, samples ...Sample) (*plot.Plot, error) {
	if len(samples) == 0 {
		return nil, errors.New("vis: Histogram: no samples")
	}
	if bins <= 0 {
		bins = DefaultBins
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range samples {
		for _, v := range s.Values {
			if finite(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if lo > hi {
		return nil, errors.New("vis: Histogram: no finite values")
	}
	if lo == hi {
		lo, hi = lo-0.5, hi+0.5
	}
	width := (hi - lo) / float64(bins)

	p := newPlot(title, xlabel, "fraction")
	named := false
	for i, s := range samples {
		counts := make([]float64, bins)
		var n float64
		for _, v := range s.Values {
			if !finite(v) {
				continue
			}
			k := min(int((v-lo)/width), bins-1)
			counts[k]++
			n++
		}
		if n == 0 {
			continue
		}
		// The outline of the bars as one step curve from the axis and back.
		step := plotter.XYs{{X: lo, Y: 0}}
		for k, c := range counts {
			x0 := lo + float64(k)*width
			step = append(step, plotter.XY{X: x0, Y: c / n}, plotter.XY{X: x0 + width, Y: c / n})
		}
		step = append(step, plotter.XY{X: hi, Y: 0})
		area := &plotter.Polygon{
			XYs:       []plotter.XYs{step},
			Color:     translucent(Color(i), 0.3),
			LineStyle: draw.LineStyle{Color: color.Transparent},
		}
		line := &plotter.Line{XYs: step, LineStyle: draw.LineStyle{Color: Color(i), Width: vg.Points(1.25)}}
		p.Add(area, line)
		if s.Name != "" {
			p.Legend.Add(fmt.Sprintf("%s (n=%d)", s.Name, int(n)), area, line)
			named = true
		}
	}
	if named {
		legendOutside(p)
	}
	p.X.Min, p.X.Max = lo, hi
	p.Y.Min = 0
	p.Y.Max *= 1.05
	return p, nil
}
