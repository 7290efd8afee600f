package vis

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// CurvesInside is Curves with the legend inside the data area, on a
// translucent white box in the corner that the curves cross least (top right, top left,
// bottom right, bottom left, in that order of preference on a tie), chosen
// when the plot is drawn, so after any change to its axes. The data keep
// the plot's full width: for small panels, such as a dashboard's.
func CurvesInside(title, xlabel, ylabel string, series ...Series) (*plot.Plot, error) {
	p := newPlot(title, xlabel, ylabel)
	if err := addSeries(p, series, seriesStyle{legendInside: true}); err != nil {
		return nil, fmt.Errorf("vis: CurvesInside: %w", err)
	}
	return p, nil
}

// insideLegend is a plotter that draws the legend of its curves inside the
// data area (see CurvesInside): a white box with a thumbnail and a name per
// entry. Added after the curves, it lies on them. It draws the entries
// itself, in the data area's coordinates, rather than through plot.Legend,
// which is placed relative to a larger area.
type insideLegend struct {
	series []Series
	names  []string
	thumbs [][]plot.Thumbnailer
}

// Space between the box and the edge of the data area, and around the
// entries inside the box.
const (
	legendInset = vg.Length(4)
	legendPad   = vg.Length(3)
)

// Plot implements plot.Plotter.
func (l insideLegend) Plot(c draw.Canvas, p *plot.Plot) {
	if len(l.names) == 0 {
		return
	}
	sty := p.Legend.TextStyle
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YCenter
	em := sty.Rectangle(" ").Max.X
	thumbW := p.Legend.ThumbnailWidth
	var textW, enth vg.Length
	for _, n := range l.names {
		r := sty.Rectangle(n)
		textW, enth = max(textW, r.Max.X-r.Min.X), max(enth, sty.Height(n))
	}
	w := 2*legendPad + thumbW + em + textW
	h := 2*legendPad + vg.Length(len(l.names))*enth
	box := func(top, left bool) vg.Rectangle {
		var r vg.Rectangle
		if left {
			r.Min.X = c.Min.X + legendInset
		} else {
			r.Min.X = c.Max.X - legendInset - w
		}
		if top {
			r.Min.Y = c.Max.Y - legendInset - h
		} else {
			r.Min.Y = c.Min.Y + legendInset
		}
		r.Max = vg.Point{X: r.Min.X + w, Y: r.Min.Y + h}
		return r
	}
	// The points of the curves, with 15 more along each segment, in the
	// canvas' coordinates.
	trX, trY := p.Transforms(&c)
	var pts []vg.Point
	for _, s := range l.series {
		for j := range s.X {
			if !finite(s.X[j], s.Y[j]) {
				continue
			}
			pts = append(pts, vg.Point{X: trX(s.X[j]), Y: trY(s.Y[j])})
			if j+1 < len(s.X) && finite(s.X[j+1], s.Y[j+1]) {
				for k := 1; k < 16; k++ {
					t := float64(k) / 16
					pts = append(pts, vg.Point{X: trX(s.X[j] + t*(s.X[j+1]-s.X[j])), Y: trY(s.Y[j] + t*(s.Y[j+1]-s.Y[j]))})
				}
			}
		}
	}
	var r vg.Rectangle
	fewest := math.MaxInt
	for _, cn := range [][2]bool{{true, false}, {true, true}, {false, false}, {false, true}} {
		b := box(cn[0], cn[1])
		n := 0
		for _, q := range pts {
			if q.X >= b.Min.X && q.X <= b.Max.X && q.Y >= b.Min.Y && q.Y <= b.Max.Y {
				n++
			}
		}
		if n < fewest {
			r, fewest = b, n
		}
	}
	outline := []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}, r.Min}
	// A translucent ground (labelGround, as a reference line's label has):
	// where every corner is crossed, the curves under the box still show.
	c.FillPolygon(labelGround, outline[:4])
	c.StrokeLines(draw.LineStyle{Color: color.Gray{Y: 0xbb}, Width: vg.Points(0.5)}, outline)
	y := r.Max.Y - legendPad
	for i, n := range l.names {
		icon := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: r.Min.X + legendPad, Y: y - enth},
			Max: vg.Point{X: r.Min.X + legendPad + thumbW, Y: y},
		}}
		for _, t := range l.thumbs[i] {
			t.Thumbnail(&icon)
		}
		c.FillText(sty, vg.Point{X: icon.Max.X + em, Y: y - enth/2}, n)
		y -= enth
	}
}
