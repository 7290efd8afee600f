package vis

import (
	"errors"
	"fmt"
	"image/color"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one curve of a line plot: Y against X, with an optional band
// from Lo to Hi drawn as a translucent area behind the line, for example
// the mean ± one standard deviation over seeds from MeanBand.
//
// X and Y must have the same length, and Lo and Hi must both be nil or both
// have that length too. Points where any of the values is NaN or infinite
// are left out, and the line is broken there.
type Series struct {
	// Name is shown in the legend. Series without a name get
	// no legend entry.
	Name string

	// X and Y hold the coordinates of the points.
	X, Y []float64

	// Lo and Hi, when set, bound the band around the curve.
	Lo, Hi []float64

	// Color, when not nil, is the colour of the curve and its band;
	// otherwise the i-th series of a plot is drawn in Color(i).
	Color color.Color

	// Dashed draws the line dashed, for example to tell a variant of a
	// setting ("+ W2") from the setting drawn in the same colour.
	Dashed bool
}

// colour is the colour of the i-th series s.
func (s *Series) colour(i int) color.Color {
	if s.Color != nil {
		return s.Color
	}
	return Color(i)
}

func (s *Series) check() error {
	switch {
	case len(s.X) == 0:
		return errors.New("no points")
	case len(s.Y) != len(s.X):
		return fmt.Errorf("len(Y)=%d != len(X)=%d", len(s.Y), len(s.X))
	case (s.Lo == nil) != (s.Hi == nil):
		return errors.New("only one of Lo and Hi is set")
	case s.Lo != nil && (len(s.Lo) != len(s.X) || len(s.Hi) != len(s.X)):
		return fmt.Errorf("len(Lo)=%d and len(Hi)=%d, want len(X)=%d", len(s.Lo), len(s.Hi), len(s.X))
	}
	return nil
}

// Curves returns a line plot of the series on linear axes, one colour per
// series in the order of Color, with bands where the series have them and
// the legend to the right of the data.
func Curves(title, xlabel, ylabel string, series ...Series) (*plot.Plot, error) {
	p := newPlot(title, xlabel, ylabel)
	if err := addSeries(p, series, seriesStyle{}); err != nil {
		return nil, fmt.Errorf("vis: Curves: %w", err)
	}
	return p, nil
}

// CurvesLogY is like Curves but with a base-10 logarithmic y axis, for
// values such as W2 distances that span several decades. Values that are
// zero or negative, such as a W2 of exactly 0 at the first step or the lower
// edge of a wide band, are drawn at the bottom of the axis on a tick
// labelled "0", a decade below the decade of the smallest positive value
// (see logZero), with no minor ticks in between; the line segments that
// join such a point to its neighbours are dotted, since their slope means
// nothing on a log scale. It is an error if no value is positive.
func CurvesLogY(title, xlabel, ylabel string, series ...Series) (*plot.Plot, error) {
	p := newPlot(title, xlabel, ylabel)
	if err := addSeries(p, series, seriesStyle{logY: true}); err != nil {
		return nil, fmt.Errorf("vis: CurvesLogY: %w", err)
	}
	return p, nil
}

// AlphaSweep plots metrics against the regularisation strength α, for
// example the final reward or W2 distance of runs trained with different α.
// The X values of the series are the α values, which must not be negative.
// Points are marked, and bands are drawn where the series have them.
//
// The α axis is logarithmic. So that α = 0 can be shown, it is drawn one
// decade below the smallest positive α, at a tick labelled "0"; the gap
// between that tick and the smallest positive α has no minor ticks. Every α
// of the series gets a labelled tick. It is an error if no α is positive.
// With logY the y axis is logarithmic too, with non-positive values handled
// as by CurvesLogY.
func AlphaSweep(title, ylabel string, logY bool, series ...Series) (*plot.Plot, error) {
	p := newPlot(title, "α", ylabel)
	for i := range series {
		for _, a := range series[i].X {
			if a < 0 {
				return nil, fmt.Errorf("vis: AlphaSweep: series %d (%q): negative α %v", i, series[i].Name, a)
			}
		}
	}
	xs := make([][]float64, len(series))
	for i := range series {
		xs[i] = series[i].X
	}
	minPos, maxPos, ok := positiveRange(xs...)
	if !ok {
		if len(series) == 0 {
			return nil, errors.New("vis: AlphaSweep: no series")
		}
		return nil, errors.New("vis: AlphaSweep: no positive α to place a log axis")
	}
	zero := minPos / 10
	xmap := func(a float64) float64 {
		if a == 0 {
			return zero
		}
		return a
	}
	if err := addSeries(p, series, seriesStyle{logY: logY, markers: true, xmap: xmap}); err != nil {
		return nil, fmt.Errorf("vis: AlphaSweep: %w", err)
	}
	var alphas []float64
	for _, x := range xs {
		alphas = append(alphas, x...)
	}
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = alphaTicks(zero, minPos, alphas)
	p.X.Min, p.X.Max = zero, maxPos
	return p, nil
}

type seriesStyle struct {
	logY    bool                  // logarithmic y axis
	markers bool                  // mark every point
	xmap    func(float64) float64 // maps X values to plot coordinates
	// legendInside puts the legend on a box in a corner of the data area
	// (CurvesInside).
	legendInside bool
}

// addSeries adds the bands, lines and markers of series to p.
func addSeries(p *plot.Plot, series []Series, sty seriesStyle) error {
	if len(series) == 0 {
		return errors.New("no series")
	}
	for i := range series {
		if err := series[i].check(); err != nil {
			return fmt.Errorf("series %d (%q): %v", i, series[i].Name, err)
		}
	}
	c := curveStyle{yclip: func(v float64) float64 { return v }, xmap: sty.xmap, markers: sty.markers}
	if sty.logY {
		var all [][]float64
		for _, s := range series {
			all = append(all, s.Y, s.Lo, s.Hi)
		}
		var ok bool
		if c.yclip, c.zero, ok = logClip(all...); !ok {
			return errors.New("no positive value to place a log axis")
		}
	}
	if c.xmap == nil {
		c.xmap = func(x float64) float64 { return x }
	}
	segs := make([][][]int, len(series))
	for i, s := range series {
		segs[i] = segments(len(s.X), func(j int) bool {
			ok := finite(c.xmap(s.X[j]), s.Y[j])
			if s.Lo != nil {
				ok = ok && finite(s.Lo[j], s.Hi[j])
			}
			return ok
		})
	}
	// Bands go first, so that no band hides another series' line.
	thumbs := make([][]plot.Thumbnailer, len(series))
	for i, s := range series {
		if s.Lo != nil {
			thumbs[i] = append(thumbs[i], c.addBand(p, s, s.colour(i), segs[i]))
		}
	}
	for i, s := range series {
		thumbs[i] = append(thumbs[i], c.addLine(p, s, s.colour(i), segs[i])...)
	}
	if sty.legendInside {
		in := insideLegend{series: series}
		for i, s := range series {
			if s.Name != "" {
				in.names, in.thumbs = append(in.names, s.Name), append(in.thumbs, thumbs[i])
			}
		}
		p.Add(in)
	} else {
		named := false
		for i, s := range series {
			if s.Name != "" {
				p.Legend.Add(s.Name, thumbs[i]...)
				named = true
			}
		}
		if named {
			legendOutside(p)
		}
	}
	if sty.logY {
		lo, hi := p.Y.Min, p.Y.Max
		if lo == hi {
			lo, hi = lo/2, hi*2
		}
		setLogY(p, lo, hi, c.zero)
	}
	return nil
}

// curveStyle is how addSeries places the points of its series.
type curveStyle struct {
	xmap    func(float64) float64 // X values to plot coordinates
	yclip   func(float64) float64 // Y values to plot coordinates
	zero    float64               // the level of y = 0 on a log axis, if some value is not positive
	markers bool                  // mark every point
}

// logClip returns the clipping of values onto a log axis: those that are
// not positive go to a level below the least positive one (zero, returned
// too; 0 when every value is positive). ok is false when no value is
// positive.
func logClip(values ...[]float64) (clip func(float64) float64, zero float64, ok bool) {
	floor, _, ok := positiveRange(values...)
	if !ok {
		return nil, 0, false
	}
	for _, vs := range values {
		for _, v := range vs {
			if v <= 0 {
				zero = logZero(floor)
			}
		}
	}
	return func(v float64) float64 {
		if v <= 0 {
			return zero
		}
		return v
	}, zero, true
}

// addBand adds the band of s (from Lo to Hi) over its segments segs, and
// returns it for the legend.
func (c curveStyle) addBand(p *plot.Plot, s Series, col color.Color, segs [][]int) plot.Thumbnailer {
	band := &plotter.Polygon{
		Color:     translucent(col, 0.25),
		LineStyle: draw.LineStyle{Color: color.Transparent},
	}
	for _, seg := range segs {
		if len(seg) < 2 {
			continue
		}
		ring := make(plotter.XYs, 0, 2*len(seg))
		for _, j := range seg {
			ring = append(ring, plotter.XY{X: c.xmap(s.X[j]), Y: c.yclip(s.Hi[j])})
		}
		for k := len(seg) - 1; k >= 0; k-- {
			j := seg[k]
			ring = append(ring, plotter.XY{X: c.xmap(s.X[j]), Y: c.yclip(s.Lo[j])})
		}
		band.XYs = append(band.XYs, ring)
	}
	if len(band.XYs) > 0 {
		p.Add(band)
	}
	return band
}

// addLine adds the line of s over its segments segs (and the markers of
// its points, or of its lone points), and returns them for the legend.
func (c curveStyle) addLine(p *plot.Plot, s Series, col color.Color, segs [][]int) []plot.Thumbnailer {
	line := &plotter.Line{LineStyle: draw.LineStyle{Color: col, Width: vg.Points(1.5)}}
	if s.Dashed {
		line.LineStyle.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	dotted := line.LineStyle
	dotted.Width = vg.Points(1)
	dotted.Dashes = []vg.Length{vg.Points(1), vg.Points(2.5)}
	dots := &plotter.Scatter{GlyphStyle: draw.GlyphStyle{Color: col, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}}
	for _, seg := range segs {
		xys := make(plotter.XYs, len(seg))
		for k, j := range seg {
			xys[k] = plotter.XY{X: c.xmap(s.X[j]), Y: c.yclip(s.Y[j])}
		}
		if len(seg) == 1 || c.markers {
			dots.XYs = append(dots.XYs, xys...)
		}
		// Each segment is its own line, so that gaps stay open; on a
		// log axis the pieces that touch a zero are dotted lines.
		for _, piece := range zeroPieces(seg, func(j int) bool { return c.zero > 0 && s.Y[j] <= 0 }) {
			l := *line
			if piece.zero {
				l.LineStyle = dotted
			}
			l.XYs = xys[piece.from : piece.to+1]
			p.Add(&l)
		}
	}
	if len(dots.XYs) > 0 {
		p.Add(dots)
	}
	if c.markers {
		return []plot.Thumbnailer{line, dots}
	}
	return []plot.Thumbnailer{line}
}

// piece is a run of points of a line, from index from to index to of its
// segment, that is drawn in one style: zero when one of its two end points
// is a zero on a log axis.
type piece struct {
	from, to int
	zero     bool
}

// zeroPieces splits a segment of point indices into pieces of at least two
// points: the joins between two points of which one isZero form pieces of
// their own, the rest are joined up.
func zeroPieces(seg []int, isZero func(j int) bool) []piece {
	var out []piece
	for k := 0; k+1 < len(seg); k++ {
		z := isZero(seg[k]) || isZero(seg[k+1])
		if n := len(out); n > 0 && out[n-1].zero == z && !z {
			out[n-1].to = k + 1
			continue
		}
		out = append(out, piece{from: k, to: k + 1, zero: z})
	}
	return out
}

// segments splits 0…n-1 into maximal runs of consecutive indices for which
// ok is true.
func segments(n int, ok func(int) bool) [][]int {
	var segs [][]int
	var cur []int
	for j := range n {
		if ok(j) {
			cur = append(cur, j)
			continue
		}
		if len(cur) > 0 {
			segs = append(segs, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		segs = append(segs, cur)
	}
	return segs
}

// RewardW2 returns the reward–W2 trade-off plot: one point per setting,
// at its W2 distance from the reference model (x) and its reward (y),
// labelled "α=…" from alpha when alpha is not nil. Points on the Pareto
// front, those for which no other point has both a W2 at most as large and
// a reward at least as large (see ParetoFront), are filled and joined by a
// dashed line; dominated points are drawn as grey rings. Labels are placed
// where they collide neither with the points nor with each other. With
// logW2 the W2 axis is logarithmic, with non-positive values drawn at a
// tick labelled "0" as by CurvesLogY. Points with a NaN or infinite
// coordinate are left out.
func RewardW2(title string, w2, reward, alpha []float64, logW2 bool) (*plot.Plot, error) {
	if alpha != nil && len(alpha) != len(w2) {
		return nil, fmt.Errorf("vis: RewardW2: len(alpha)=%d != len(w2)=%d", len(alpha), len(w2))
	}
	var labels []string
	if alpha != nil {
		labels = make([]string, len(alpha))
		for i, a := range alpha {
			labels[i] = "α=" + strconv.FormatFloat(a, 'g', 4, 64)
		}
	}
	return tradeOff("RewardW2", title, w2, reward, labels, logW2)
}

// TradeOff is RewardW2 with any labels for the points, such as the names
// of methods, rather than their α; labels may be nil (no labels), and empty
// labels leave their points unlabelled.
func TradeOff(title string, w2, reward []float64, labels []string, logW2 bool) (*plot.Plot, error) {
	return tradeOff("TradeOff", title, w2, reward, labels, logW2)
}

func tradeOff(fn, title string, w2, reward []float64, labels []string, logW2 bool) (*plot.Plot, error) {
	switch {
	case len(w2) == 0:
		return nil, fmt.Errorf("vis: %s: no points", fn)
	case len(reward) != len(w2):
		return nil, fmt.Errorf("vis: %s: len(reward)=%d != len(w2)=%d", fn, len(reward), len(w2))
	case labels != nil && len(labels) != len(w2):
		return nil, fmt.Errorf("vis: %s: len(labels)=%d != len(w2)=%d", fn, len(labels), len(w2))
	}
	xclip := func(v float64) float64 { return v }
	zero := 0.0 // the level of W2 = 0 on a log axis, if some W2 is not positive
	if logW2 {
		var ok bool
		if xclip, zero, ok = logClip(w2); !ok {
			return nil, fmt.Errorf("vis: %s: no positive W2 to place a log axis", fn)
		}
	}
	pts := tradeOffPointsOf(w2, reward, labels, xclip)
	if len(pts.front) == 0 {
		return nil, fmt.Errorf("vis: %s: no finite points", fn)
	}
	p := newPlot(title, "W2 distance", "reward")
	pts.add(p, labels != nil)
	if logW2 {
		lo, hi := p.X.Min, p.X.Max
		if lo == hi {
			lo, hi = lo/2, hi*2
		}
		setLogX(p, lo, hi, zero)
	}
	return p, nil
}

// tradeOffPoints are the finite points of a trade-off plot: on the Pareto
// front (by W2), the others, and all of them with their labels ("" for
// none) for the labeller.
type tradeOffPoints struct {
	front, others plotter.XYs
	marks         [][2]float64
	texts         []string
}

// tradeOffPointsOf sorts the finite points (xclip(w2), reward) of a
// trade-off plot.
func tradeOffPointsOf(w2, reward []float64, labels []string, xclip func(float64) float64) tradeOffPoints {
	var pts tradeOffPoints
	onFront := make([]bool, len(w2))
	for _, i := range ParetoFront(w2, reward, false, true) {
		onFront[i] = true
	}
	for i := range w2 {
		if !finite(w2[i], reward[i]) {
			continue
		}
		pt := plotter.XY{X: xclip(w2[i]), Y: reward[i]}
		if onFront[i] {
			pts.front = append(pts.front, pt)
		} else {
			pts.others = append(pts.others, pt)
		}
		// Every point goes to the labeller, labelled or not: the labels keep
		// off them all.
		pts.marks = append(pts.marks, [2]float64{pt.X, pt.Y})
		if labels != nil {
			pts.texts = append(pts.texts, labels[i])
		} else {
			pts.texts = append(pts.texts, "")
		}
	}
	sort.Slice(pts.front, func(i, j int) bool { return pts.front[i].X < pts.front[j].X })
	return pts
}

// add draws the points on p: the front as a dashed line with dots, the
// others as grey rings, the legend, and the labels when labelled.
func (pts tradeOffPoints) add(p *plot.Plot, labelled bool) {
	col := Color(0)
	line := &plotter.Line{XYs: pts.front, LineStyle: draw.LineStyle{Color: col, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}}
	dots := &plotter.Scatter{XYs: pts.front, GlyphStyle: draw.GlyphStyle{Color: col, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}}
	p.Add(line, dots)
	p.Legend.Add("Pareto front", line, dots)
	if len(pts.others) > 0 {
		rings := &plotter.Scatter{XYs: pts.others, GlyphStyle: draw.GlyphStyle{Color: color.Gray{Y: 0x80}, Radius: vg.Points(3), Shape: draw.RingGlyph{}}}
		p.Add(rings)
		p.Legend.Add("dominated", rings)
	}
	// Low W2 with high reward is the corner no trade-off reaches, so the
	// legend rarely hides a point there.
	p.Legend.Top, p.Legend.Left = true, true
	if labelled {
		pl := newPointLabels(pts.marks, pts.texts)
		for _, f := range pts.front {
			pl.line = append(pl.line, [2]float64{f.X, f.Y})
		}
		p.Add(pl)
	}
}
