package vis

import (
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// pointLabels writes a text label beside each of a set of points, placing
// each label where it overlaps neither the points nor the labels placed
// before it, so that labels of nearby points do not collide (the reward–W2
// plot of several methods puts points close together). The placement is
// made when the plot is drawn, in canvas units: for each label it tries
// the positions right, left, above and below its point, then the diagonals,
// then the same farther out, and takes the first that is free (of points,
// earlier labels and the line, if any) and inside the data area; when none
// is, the one with the least overlap. A label
// that ends up away from its point is joined to it by a thin grey line.
type pointLabels struct {
	xys    [][2]float64 // data coordinates
	labels []string
	line   [][2]float64 // a polyline the labels also keep off (data coordinates)
	style  text.Style
	radius vg.Length // the size of the point markers
}

func newPointLabels(xys [][2]float64, labels []string) *pointLabels {
	return &pointLabels{
		xys:    xys,
		labels: labels,
		style: text.Style{
			Color:   color.Black,
			Font:    font.From(plot.DefaultFont, 8),
			Handler: plot.DefaultTextHandler,
		},
		radius: vg.Points(3.5),
	}
}

// Plot implements plot.Plotter.
func (l *pointLabels) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	pts := make([]vg.Point, len(l.xys))
	var taken []vg.Rectangle
	for i, xy := range l.xys {
		pts[i] = vg.Point{X: trX(xy[0]), Y: trY(xy[1])}
		r := l.radius
		taken = append(taken, vg.Rectangle{Min: vg.Point{X: pts[i].X - r, Y: pts[i].Y - r}, Max: vg.Point{X: pts[i].X + r, Y: pts[i].Y + r}})
	}
	// The line, as small boxes every few points along it.
	for k := 0; k+1 < len(l.line); k++ {
		a := vg.Point{X: trX(l.line[k][0]), Y: trY(l.line[k][1])}
		b := vg.Point{X: trX(l.line[k+1][0]), Y: trY(l.line[k+1][1])}
		n := int(math.Hypot(float64(b.X-a.X), float64(b.Y-a.Y))/3) + 1
		for j := 0; j <= n; j++ {
			f := vg.Length(j) / vg.Length(n)
			p := vg.Point{X: a.X + f*(b.X-a.X), Y: a.Y + f*(b.Y-a.Y)}
			const h = vg.Length(1)
			taken = append(taken, vg.Rectangle{Min: vg.Point{X: p.X - h, Y: p.Y - h}, Max: vg.Point{X: p.X + h, Y: p.Y + h}})
		}
	}
	for i, lab := range l.labels {
		if lab == "" {
			continue
		}
		box := l.style.Rectangle(lab)
		w, h := box.Max.X-box.Min.X, box.Max.Y-box.Min.Y
		best, bestOverlap, bestK := vg.Point{}, vg.Length(math.Inf(1)), 0
		for k, off := range labelOffsets(l.radius+vg.Points(1.5), w, h) {
			min := vg.Point{X: pts[i].X + off.X, Y: pts[i].Y + off.Y}
			r := vg.Rectangle{Min: min, Max: vg.Point{X: min.X + w, Y: min.Y + h}}
			area := c.Rectangle
			if k == 0 { // GlyphBoxes made room for this one right of the data
				area.Max.X = r.Max.X
			}
			ov := outside(r, area)
			for _, t := range taken {
				ov += overlap(r, t)
			}
			// A label nearer to another point than to its own would name
			// the wrong point.
			own := dist(nearest(r, pts[i]), pts[i])
			for j, q := range pts {
				if j != i && dist(nearest(r, q), q) < own {
					ov += 3 * w * h
					break
				}
			}
			if ov < bestOverlap {
				best, bestOverlap, bestK = min, ov, k
			}
			if ov == 0 {
				break
			}
		}
		r := vg.Rectangle{Min: best, Max: vg.Point{X: best.X + w, Y: best.Y + h}}
		taken = append(taken, r)
		if bestK >= 8 { // away from the point: join it with a line
			c.StrokeLine2(draw.LineStyle{Color: color.Gray{Y: 0x90}, Width: vg.Points(0.5)},
				pts[i].X, pts[i].Y, nearest(r, pts[i]).X, nearest(r, pts[i]).Y)
		}
		c.FillText(l.style, vg.Point{X: best.X - box.Min.X, Y: best.Y - box.Min.Y}, lab)
	}
}

// GlyphBoxes implements plot.GlyphBoxer: room for each label to the right
// of its point, its first choice.
func (l *pointLabels) GlyphBoxes(p *plot.Plot) []plot.GlyphBox {
	var out []plot.GlyphBox
	for i, xy := range l.xys {
		if l.labels[i] == "" {
			continue
		}
		box := l.style.Rectangle(l.labels[i])
		w := box.Max.X - box.Min.X
		out = append(out, plot.GlyphBox{
			X: p.X.Norm(xy[0]), Y: p.Y.Norm(xy[1]),
			Rectangle: vg.Rectangle{Min: vg.Point{X: 0, Y: -l.radius}, Max: vg.Point{X: l.radius + w + vg.Points(2), Y: l.radius}},
		})
	}
	return out
}

// labelOffsets returns, in order of preference, the offsets of the lower
// left corner of a w×h label from its point, at distance d and farther.
func labelOffsets(d, w, h vg.Length) []vg.Point {
	var out []vg.Point
	for _, k := range []vg.Length{1, 2.5, 4.5} {
		e := d * k
		out = append(out,
			vg.Point{X: e, Y: -h / 2},        // right
			vg.Point{X: -e - w, Y: -h / 2},   // left
			vg.Point{X: -w / 2, Y: e},        // above
			vg.Point{X: -w / 2, Y: -e - h},   // below
			vg.Point{X: e * 0.7, Y: e * 0.7}, // upper right
			vg.Point{X: e * 0.7, Y: -e*0.7 - h},
			vg.Point{X: -e*0.7 - w, Y: e * 0.7},
			vg.Point{X: -e*0.7 - w, Y: -e*0.7 - h},
		)
	}
	return out
}

// overlap is the area that two rectangles share.
func overlap(a, b vg.Rectangle) vg.Length {
	w := min(a.Max.X, b.Max.X) - max(a.Min.X, b.Min.X)
	h := min(a.Max.Y, b.Max.Y) - max(a.Min.Y, b.Min.Y)
	if w <= 0 || h <= 0 {
		return 0
	}
	return w * h
}

// outside is the area of r that lies outside area, weighted so that leaving
// the data area costs more than touching another label.
func outside(r, area vg.Rectangle) vg.Length {
	full := (r.Max.X - r.Min.X) * (r.Max.Y - r.Min.Y)
	return 4 * (full - overlap(r, area))
}

// nearest returns the point of r nearest to p.
func nearest(r vg.Rectangle, p vg.Point) vg.Point {
	return vg.Point{X: min(max(p.X, r.Min.X), r.Max.X), Y: min(max(p.Y, r.Min.Y), r.Max.Y)}
}

// Reference adds to p a horizontal reference line at y, dashed and grey,
// across the whole data area, with label written small at its right end
// just above the line (for example the class entropy of five equally common
// classes, which a curve can be read against). The label's ground is
// translucent: it keeps the label readable over bars, and a curve drawn
// under it still shows. The y range of p grows to include y if needed.
func Reference(p *plot.Plot, y float64, label string) {
	p.Add(reference{y: y, label: label})
}

// labelGround is the ground of a reference label: white at 70% opacity.
var labelGround = color.NRGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xb3}

type reference struct {
	y     float64
	label string
}

// Plot implements plot.Plotter.
func (r reference) Plot(c draw.Canvas, p *plot.Plot) {
	_, trY := p.Transforms(&c)
	y := trY(r.y)
	c.StrokeLine2(draw.LineStyle{Color: color.Gray{Y: 0x70}, Width: vg.Points(0.75), Dashes: []vg.Length{vg.Points(3), vg.Points(2)}},
		c.Min.X, y, c.Max.X, y)
	if r.label != "" {
		sty := text.Style{
			Color:   color.Gray{Y: 0x50},
			Font:    font.From(plot.DefaultFont, 8),
			XAlign:  draw.XRight,
			Handler: plot.DefaultTextHandler,
		}
		// On a translucent white ground, so that the label stays readable over
		// bars while a curve that runs under it still shows.
		box := sty.Rectangle(r.label)
		at := vg.Point{X: c.Max.X - vg.Points(3), Y: y + vg.Points(2)}
		pad := vg.Points(1.5)
		c.FillPolygon(labelGround, []vg.Point{
			{X: at.X + box.Min.X - pad, Y: at.Y + box.Min.Y - pad}, {X: at.X + box.Max.X + pad, Y: at.Y + box.Min.Y - pad},
			{X: at.X + box.Max.X + pad, Y: at.Y + box.Max.Y + pad}, {X: at.X + box.Min.X - pad, Y: at.Y + box.Max.Y + pad},
		})
		c.FillText(sty, at, r.label)
	}
}

// DataRange implements plot.DataRanger: the line spans no x, only its y.
func (r reference) DataRange() (xmin, xmax, ymin, ymax float64) {
	return math.Inf(1), math.Inf(-1), r.y, r.y
}

// dist is the distance between two points.
func dist(a, b vg.Point) vg.Length {
	return vg.Length(math.Hypot(float64(a.X-b.X), float64(a.Y-b.Y)))
}
