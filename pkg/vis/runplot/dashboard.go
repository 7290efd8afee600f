package runplot

import (
	"errors"
	"fmt"
	"image"
	"image/color"

	"gonum.org/v1/plot/vg"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/vis"
)

// IsPoints reports whether a batch holds 2-D points (as the toy task's
// generator makes: images of 1×1 pixel with 2 channels) rather than images.
func IsPoints(im *orw.Images) bool { return im != nil && im.H == 1 && im.W == 1 && im.C == 2 }

// Points returns the points of a batch of 2-D points (see IsPoints).
func Points(im *orw.Images) [][2]float64 {
	pts := make([][2]float64, im.N)
	for i := range pts {
		pts[i] = [2]float64{float64(im.Pix[2*i]), float64(im.Pix[2*i+1])}
	}
	return pts
}

// SampleGrid lays out the first n images of a batch (all if n is not
// positive) in rows of cols tiles (⌈√n⌉ if cols is not positive), with
// pixel values in orw's range [−1, 1], enlarged scale times (vis.DefaultScale
// if scale < 1), and with the captions when given.
func SampleGrid(im *orw.Images, n, cols, scale int, captions []string) (*image.RGBA, error) {
	if err := im.Validate(); err != nil {
		return nil, err
	}
	if n <= 0 || n > im.N {
		n = im.N
	}
	tiles := vis.ImagesFromBatch(im.Pix[:n*im.Size()], n, im.H, im.W, im.C, -1, 1)
	return vis.Grid(tiles, cols, vis.GridOptions{Scale: scale, Pad: 1, Captions: captions, Background: color.Gray{Y: 0xee}}), nil
}

// BatchGrid lays out every image of a batch in rows of cols tiles with
// opts, pixel values in orw's range [−1, 1]: SampleGrid with the layout
// left to the caller (orw finetune's sample grids use vis.GridOptions{}).
func BatchGrid(im *orw.Images, cols int, opts vis.GridOptions) (*image.RGBA, error) {
	if err := im.Validate(); err != nil {
		return nil, err
	}
	return vis.Grid(vis.ImagesFromBatch(im.Pix, im.N, im.H, im.W, im.C, -1, 1), cols, opts), nil
}

// DashboardOptions adjusts Dashboard.
type DashboardOptions struct {
	// PlotW and PlotH are the size of each plot (3.6 × 2.5 inches,
	// 346 × 240 pixels, when zero).
	PlotW, PlotH vg.Length
	// Samples is the number of images shown (64 when zero), in rows of
	// Cols (8 when zero).
	Samples, Cols int
}

// Dashboard draws the state of a run as one picture: its reward and its W2
// divergence over training (see Training; the reward with the evaluator's
// reward and the hacking gap when the task has an independent evaluator),
// the classes of its samples over time when the task has a judge, their
// precision, recall, density and coverage (CoverageCurves) when it has an
// evaluator, and samples of the current model, a grid of images captioned
// with the step or, for 2-D points, a scatter plot. samples may be nil. Up
// to two panels make one row; more make rows of two.
func Dashboard(h *History, samples *orw.Images, opts DashboardOptions) (image.Image, error) {
	if h == nil {
		return nil, errors.New("runplot: Dashboard: nil history")
	}
	w, ht := opts.PlotW, opts.PlotH
	if w <= 0 || ht <= 0 {
		w, ht = 3.6*vg.Inch, 2.5*vg.Inch
	}
	panels, err := historyPanels(h, w, ht)
	if err != nil {
		return nil, fmt.Errorf("runplot: Dashboard: %w", err)
	}
	if samples != nil {
		img, err := samplesPanel(samples, lastStep(h), opts, ht)
		if err != nil {
			return nil, fmt.Errorf("runplot: Dashboard: %w", err)
		}
		panels = append(panels, img)
	}
	if len(panels) == 0 {
		return nil, errors.New("runplot: Dashboard: nothing to draw (no records and no samples)")
	}
	cols := len(panels)
	if cols > 2 {
		cols = 2
	}
	return vis.Grid(panels, cols, vis.GridOptions{Scale: 1, Pad: 4}), nil
}

// lastStep is the step of the last record of h (0 without records).
func lastStep(h *History) int64 {
	step := int64(0)
	if n := len(h.Steps); n > 0 {
		step = h.Steps[n-1].Step
	}
	if n := len(h.Evals); n > 0 {
		step = max(step, h.Evals[n-1].Step)
	}
	return step
}

// historyPanels draws the plots of a dashboard, w × ht each: reward and W2
// over training (when h has records), the classes over time (when its
// evaluations have some) and the coverage curves (when they have an
// evaluator's records).
func historyPanels(h *History, w, ht vg.Length) ([]image.Image, error) {
	var panels []image.Image
	if len(h.Steps) > 0 || len(h.Evals) > 0 {
		for _, m := range []Metric{Reward, W2} {
			p, err := Training(m, h)
			if err != nil {
				return nil, err
			}
			img, err := vis.PlotImage(p, w, ht)
			if err != nil {
				return nil, err
			}
			panels = append(panels, img)
		}
	}
	hasClasses := false
	for _, e := range h.Evals {
		hasClasses = hasClasses || len(e.ClassCounts) > 0
	}
	if hasClasses {
		p, err := Classes(h)
		if err != nil {
			return nil, err
		}
		img, err := vis.PlotImage(p, w, ht)
		if err != nil {
			return nil, err
		}
		panels = append(panels, img)
	}
	if h.HasEvaluator() {
		p, err := CoverageCurves(h)
		if err != nil {
			return nil, err
		}
		img, err := vis.PlotImage(p, w, ht)
		if err != nil {
			return nil, err
		}
		panels = append(panels, img)
	}
	return panels, nil
}

// samplesPanel draws the samples of a dashboard captioned with step: a
// scatter plot ht × ht of 2-D points, or a grid of images.
func samplesPanel(samples *orw.Images, step int64, opts DashboardOptions, ht vg.Length) (image.Image, error) {
	if IsPoints(samples) {
		p, err := vis.Scatter(Points(samples), nil)
		if err != nil {
			return nil, err
		}
		p.Title.Text = fmt.Sprintf("samples at step %d", step)
		return vis.PlotImage(p, ht, ht)
	}
	n, cols := opts.Samples, opts.Cols
	if n <= 0 {
		n = 64
	}
	if cols <= 0 {
		cols = 8
	}
	g, err := SampleGrid(samples, n, cols, 1, nil)
	if err != nil {
		return nil, err
	}
	return vis.Grid([]image.Image{g}, 1, vis.GridOptions{Scale: 1, Captions: []string{fmt.Sprintf("samples at step %d", step)}, CaptionsAbove: true}), nil
}
