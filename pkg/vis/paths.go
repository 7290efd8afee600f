package vis

import (
	"errors"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// PathOptions holds the legend names and the optional overlay of Paths.
type PathOptions struct {
	// StartName and EndName label the first and last points of the
	// paths in the legend; empty names mean "t = 0" and "t = 1".
	StartName, EndName string

	// Points, when not empty, are marked over the paths as red dots
	// with a white rim, for example the points x_t of the paths at one
	// time t. PointsName labels them in the legend (no entry if empty).
	Points     [][2]float64
	PointsName string
}

// Paths returns a plot of 2-D paths, such as the straight conditional paths
// x_t = t·x1 + (1−t)·x0 of flow matching or trajectories of an ODE sampler:
// each path is a thin line through its points, its first point a gray dot
// and its last point a dot in Color(0). Paths with fewer than two points are
// drawn as their dots only; points with a NaN or infinite coordinate are left
// out and break the line. It is an error if no path has a finite point.
func Paths(paths [][][2]float64, opts PathOptions) (*plot.Plot, error) {
	p := newPlot("", "x", "y")
	var starts, ends plotter.XYs
	for _, path := range paths {
		segs := segments(len(path), func(j int) bool { return finite(path[j][0], path[j][1]) })
		if len(segs) == 0 {
			continue
		}
		for _, seg := range segs {
			if len(seg) < 2 {
				continue
			}
			xys := make(plotter.XYs, len(seg))
			for k, j := range seg {
				xys[k] = plotter.XY{X: path[j][0], Y: path[j][1]}
			}
			p.Add(&plotter.Line{XYs: xys, LineStyle: draw.LineStyle{Color: color.NRGBA{R: 0x60, G: 0x60, B: 0x60, A: 0x70}, Width: vg.Points(0.75)}})
		}
		first, last := segs[0][0], segs[len(segs)-1][len(segs[len(segs)-1])-1]
		starts = append(starts, plotter.XY{X: path[first][0], Y: path[first][1]})
		ends = append(ends, plotter.XY{X: path[last][0], Y: path[last][1]})
	}
	if len(starts) == 0 {
		return nil, errors.New("vis: Paths: no finite points")
	}
	name := func(s, def string) string {
		if s == "" {
			return def
		}
		return s
	}
	sd := &plotter.Scatter{XYs: starts, GlyphStyle: draw.GlyphStyle{Color: color.Gray{Y: 0x90}, Radius: vg.Points(2), Shape: draw.CircleGlyph{}}}
	ed := &plotter.Scatter{XYs: ends, GlyphStyle: draw.GlyphStyle{Color: Color(0), Radius: vg.Points(2.25), Shape: draw.CircleGlyph{}}}
	p.Add(sd, ed)
	p.Legend.Add(name(opts.StartName, "t = 0"), sd)
	p.Legend.Add(name(opts.EndName, "t = 1"), ed)
	var pts plotter.XYs
	for _, pt := range opts.Points {
		if finite(pt[0], pt[1]) {
			pts = append(pts, plotter.XY{X: pt[0], Y: pt[1]})
		}
	}
	if len(pts) > 0 {
		rim := &plotter.Scatter{XYs: pts, GlyphStyle: draw.GlyphStyle{Color: color.White, Radius: vg.Points(2.75), Shape: draw.CircleGlyph{}}}
		dot := &plotter.Scatter{XYs: pts, GlyphStyle: draw.GlyphStyle{Color: Color(3), Radius: vg.Points(2), Shape: draw.CircleGlyph{}}}
		p.Add(rim, dot)
		if opts.PointsName != "" {
			p.Legend.Add(opts.PointsName, dot)
		}
	}
	legendOutside(p)
	return p, nil
}
