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

// rampAnchors are evenly spaced colours of a perceptually ordered
// dark-violet → blue → teal → green → yellow scale, which stays readable
// in gray and for common colour-vision deficiencies.
var rampAnchors = [...]color.RGBA{
	{R: 0x44, G: 0x01, B: 0x54, A: 0xff},
	{R: 0x3b, G: 0x52, B: 0x8b, A: 0xff},
	{R: 0x21, G: 0x91, B: 0x8c, A: 0xff},
	{R: 0x5e, G: 0xc9, B: 0x62, A: 0xff},
	{R: 0xfd, G: 0xe7, B: 0x25, A: 0xff},
}

// ramp returns the colour at t ∈ [0, 1] of the value scale used by Scatter
// and Density, interpolating linearly between the anchors.
func ramp(t float64) color.Color {
	switch {
	case !(t > 0):
		t = 0
	case t > 1:
		t = 1
	}
	f := t * float64(len(rampAnchors)-1)
	i := min(int(f), len(rampAnchors)-2)
	f -= float64(i)
	a, b := rampAnchors[i], rampAnchors[i+1]
	mix := func(x, y uint8) uint8 { return uint8(float64(x)*(1-f) + float64(y)*f + 0.5) }
	return color.RGBA{R: mix(a.R, b.R), G: mix(a.G, b.G), B: mix(a.B, b.B), A: 0xff}
}

// rampPalette is the value scale as a palette.Palette of n colours.
type rampPalette int

// Colors implements palette.Palette.
func (n rampPalette) Colors() []color.Color {
	cs := make([]color.Color, n)
	for i := range cs {
		cs[i] = ramp(float64(i) / float64(n-1))
	}
	return cs
}

// swatch is a legend thumbnail that fills its box with one colour.
type swatch struct{ c color.Color }

// Thumbnail implements plot.Thumbnailer.
func (s swatch) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(s.c, c.ClipPolygonY([]vg.Point{
		c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y},
	}))
}

// valueLegend adds to the legend of p a colour key for values in [lo, hi]:
// a column of swatches from hi at the top to lo at the bottom.
func valueLegend(p *plot.Plot, lo, hi float64) {
	const n = 6
	p.Legend.Padding = 0
	p.Legend.ThumbnailWidth = vg.Points(12)
	for i := n - 1; i >= 0; i-- {
		t := float64(i) / (n - 1)
		// One decimal more than the spacing of the swatches needs.
		p.Legend.Add(formatValue(lo+t*(hi-lo), (hi-lo)/(n-1)/10), swatch{ramp(t)})
	}
	legendOutside(p)
}

// Scatter returns a scatter plot of 2-D points, such as samples of a toy
// model. When values is nil the points share one colour; otherwise point i
// is coloured by values[i] on a dark-violet to yellow scale with a key on
// the right. Points with a NaN or infinite coordinate or value are left out.
func Scatter(points [][2]float64, values []float64) (*plot.Plot, error) {
	if len(points) == 0 {
		return nil, errors.New("vis: Scatter: no points")
	}
	if values != nil && len(values) != len(points) {
		return nil, fmt.Errorf("vis: Scatter: len(values)=%d != len(points)=%d", len(values), len(points))
	}
	var xys plotter.XYs
	var vs []float64
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, pt := range points {
		if !finite(pt[0], pt[1]) || (values != nil && !finite(values[i])) {
			continue
		}
		xys = append(xys, plotter.XY{X: pt[0], Y: pt[1]})
		if values != nil {
			vs = append(vs, values[i])
			lo, hi = math.Min(lo, values[i]), math.Max(hi, values[i])
		}
	}
	if len(xys) == 0 {
		return nil, errors.New("vis: Scatter: no finite points")
	}
	p := newPlot("", "x", "y")
	s := &plotter.Scatter{XYs: xys, GlyphStyle: draw.GlyphStyle{
		Color: translucent(Color(0), 0.7), Radius: vg.Points(1.5), Shape: draw.CircleGlyph{},
	}}
	if values != nil {
		s.GlyphStyleFunc = func(i int) draw.GlyphStyle {
			g := s.GlyphStyle
			t := 0.5
			if hi > lo {
				t = (vs[i] - lo) / (hi - lo)
			}
			g.Color = ramp(t)
			return g
		}
		valueLegend(p, lo, hi)
	}
	p.Add(s)
	return p, nil
}

// DensityOptions holds the optional overlays of Density.
type DensityOptions struct {
	// Points, when not empty, are drawn over the heat map as small
	// red dots with a white rim, for example samples to compare with an
	// exact density. Non-finite points are left out.
	Points [][2]float64

	// Levels, when not empty, are the values at which white contour
	// lines are drawn.
	Levels []float64
}

// Density returns a heat map of values on a regular grid, such as an exact
// density evaluated on a lattice, with a colour key on the right.
//
// grid[i][j] is the value at x = xmin + j*(xmax−xmin)/(cols−1) and
// y = ymin + i*(ymax−ymin)/(rows−1): rows run upwards from ymin to ymax and
// columns rightwards from xmin to xmax, as when the grid is evaluated at
// evenly spaced points including both ends. Each value fills a cell
// centred on its point. The grid must be rectangular with at least two
// rows and two columns; NaN values are left transparent, and infinite
// values are an error. Overlaid points outside the grid's extent are not
// shown.
func Density(grid [][]float64, xmin, xmax, ymin, ymax float64, opts DensityOptions) (*plot.Plot, error) {
	rows := len(grid)
	if rows < 2 || len(grid[0]) < 2 {
		return nil, errors.New("vis: Density: grid needs at least 2 rows and 2 columns")
	}
	cols := len(grid[0])
	if !finite(xmin, xmax, ymin, ymax) || xmin >= xmax || ymin >= ymax {
		return nil, fmt.Errorf("vis: Density: invalid extent x [%v, %v], y [%v, %v]", xmin, xmax, ymin, ymax)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, row := range grid {
		if len(row) != cols {
			return nil, fmt.Errorf("vis: Density: row %d has %d values, want %d", i, len(row), cols)
		}
		for _, v := range row {
			if math.IsInf(v, 0) {
				return nil, fmt.Errorf("vis: Density: infinite value in row %d", i)
			}
			if !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if math.IsInf(lo, 1) {
		return nil, errors.New("vis: Density: all values are NaN")
	}
	g := gridXYZ{
		z:    grid,
		xmin: xmin, dx: (xmax - xmin) / float64(cols-1),
		ymin: ymin, dy: (ymax - ymin) / float64(rows-1),
	}

	p := newPlot("", "x", "y")
	h := plotter.NewHeatMap(g, rampPalette(256))
	h.Min, h.Max = lo, hi
	if hi == lo {
		h.Max = lo + 1
	}
	h.Rasterized = true
	p.Add(h)
	if len(opts.Levels) > 0 {
		c := plotter.NewContour(g, opts.Levels, nil)
		c.LineStyles = []draw.LineStyle{{Color: color.White, Width: vg.Points(0.75)}}
		c.Min, c.Max = math.Inf(-1), math.Inf(1)
		p.Add(c)
	}
	if len(opts.Points) > 0 {
		var xys plotter.XYs
		for _, pt := range opts.Points {
			if finite(pt[0], pt[1]) {
				xys = append(xys, plotter.XY{X: pt[0], Y: pt[1]})
			}
		}
		if len(xys) > 0 {
			rim := &plotter.Scatter{XYs: xys, GlyphStyle: draw.GlyphStyle{Color: color.White, Radius: vg.Points(2), Shape: draw.CircleGlyph{}}}
			dot := &plotter.Scatter{XYs: xys, GlyphStyle: draw.GlyphStyle{Color: Color(3), Radius: vg.Points(1.25), Shape: draw.CircleGlyph{}}}
			p.Add(rim, dot)
		}
	}
	valueLegend(p, lo, hi)
	// Show the grid's extent even if overlaid points fall outside it.
	xl, xh, yl, yh := h.DataRange()
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = xl, xh, yl, yh
	return p, nil
}

// gridXYZ adapts a row-major grid on a regular lattice to plotter.GridXYZ.
type gridXYZ struct {
	z                  [][]float64
	xmin, dx, ymin, dy float64
}

func (g gridXYZ) Dims() (c, r int)   { return len(g.z[0]), len(g.z) }
func (g gridXYZ) Z(c, r int) float64 { return g.z[r][c] }
func (g gridXYZ) X(c int) float64    { return g.xmin + float64(c)*g.dx }
func (g gridXYZ) Y(r int) float64    { return g.ymin + float64(r)*g.dy }
