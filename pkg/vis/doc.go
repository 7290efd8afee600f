// Package vis draws pictures from plain values: grids of sample images,
// training curves with bands over seeds, reward/W2 trade-off plots, class
// histograms, 2-D scatter and density maps, and animations.
//
// The package depends only on the standard library, gonum.org/v1/plot and
// golang.org/x/image. It takes slices, images and
// series rather than models or tensors, so every function can be tested and
// used without a model.
//
// Chart constructors return a *plot.Plot that callers may adjust further
// (titles, axis labels, ranges) before writing it with SavePlot or PlotPNG.
// Functions that take data and return an error validate their input and
// report empty or mismatched arguments as errors. The small constructors that
// return no error (GrayImage, RGBImage, ImagesFromBatch and ParetoFront)
// panic, in the manner of gonum's floats and mat packages, when they are
// given slices whose lengths do not match the stated shape or an invalid
// value range.
//
// Files are written atomically: output goes to a temporary file in the
// destination directory that is renamed over the destination once complete,
// so a reader never sees a partially written picture.
package vis // import "github.com/orwcfm/orwcfm/pkg/vis"
