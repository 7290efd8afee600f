package vis

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Frontier plots a trade-off as the reproduction of the α ablation reads it:
// labelled points (settings, e.g. the final reward and class entropy of each
// α > 0) beside a path (one run's trajectory during training, e.g. the α = 0
// run's reward and entropy at each evaluation), so that a point above the path
// beats stopping that run early at the same reward. Both axes are linear.
func Frontier(title, xlabel, ylabel string, path Series, x, y []float64, labels []string) (*plot.Plot, error) {
	if len(x) != len(y) || (labels != nil && len(labels) != len(x)) {
		return nil, fmt.Errorf("vis: Frontier: %d x, %d y and %d labels", len(x), len(y), len(labels))
	}
	p := newPlot(title, xlabel, ylabel)
	if len(path.X) > 0 {
		if err := addSeries(p, []Series{path}, seriesStyle{}); err != nil {
			return nil, fmt.Errorf("vis: Frontier: %w", err)
		}
	}
	var pts plotter.XYs
	var marks plotter.XYLabels
	for i := range x {
		if !finite(x[i], y[i]) {
			continue
		}
		pts = append(pts, plotter.XY{X: x[i], Y: y[i]})
		if labels != nil && labels[i] != "" {
			marks.XYs = append(marks.XYs, plotter.XY{X: x[i], Y: y[i]})
			marks.Labels = append(marks.Labels, labels[i])
		}
	}
	if len(pts) == 0 {
		return nil, fmt.Errorf("vis: Frontier: no finite points")
	}
	col := Color(1)
	dots := &plotter.Scatter{XYs: pts, GlyphStyle: draw.GlyphStyle{Color: col, Radius: vg.Points(3.5), Shape: draw.CircleGlyph{}}}
	p.Add(dots)
	p.Legend.Add("settings", dots)
	if len(marks.XYs) > 0 {
		l, err := plotter.NewLabels(marks)
		if err != nil {
			return nil, err
		}
		for i := range l.TextStyle {
			l.TextStyle[i].XAlign = draw.XLeft
			l.TextStyle[i].Font.Size = vg.Points(8)
		}
		l.Offset = vg.Point{X: vg.Points(5), Y: vg.Points(2)}
		p.Add(l)
	}
	return p, nil
}
