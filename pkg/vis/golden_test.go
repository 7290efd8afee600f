package vis_test

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/orwcfm/orwcfm/pkg/vis"
	"github.com/orwcfm/orwcfm/pkg/vis/internal/golden"
)

// Plots are drawn at 300×225 points, which is 400×300 pixels at vis.PNGDPI.
const plotW, plotH vg.Length = 300, 225

func checkPlot(t *testing.T, name string, p *plot.Plot, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	b, err := vis.PlotPNG(p, plotW, plotH)
	if err != nil {
		t.Fatal(err)
	}
	golden.CheckPNG(t, name, b, golden.Tolerance)
}

// blob returns a 28×28 digit-like test image: a seeded random stroke of
// Gaussian dots, values in [0, 1].
func blob(rnd *rand.Rand) []float32 {
	const n = 28
	pix := make([]float32, n*n)
	x, y := 8+12*rnd.Float64(), 6+4*rnd.Float64()
	dx, dy := rnd.NormFloat64(), 1+rnd.Float64()
	for range 14 {
		for i := range n {
			for j := range n {
				d2 := (float64(i)-y)*(float64(i)-y) + (float64(j)-x)*(float64(j)-x)
				pix[i*n+j] = max(pix[i*n+j], float32(math.Exp(-d2/4)))
			}
		}
		x, y = x+dx, y+dy
		dx += 0.6 * rnd.NormFloat64()
		x = min(max(x, 4), 24)
	}
	return pix
}

func TestGoldenGrid(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	imgs := make([]image.Image, 11)
	caps := make([]string, len(imgs))
	for i := range imgs {
		imgs[i] = vis.GrayImage(blob(rnd), 28, 28, 0, 1)
		caps[i] = fmt.Sprintf("%.2f", rnd.Float64())
	}
	g := vis.Grid(imgs, 6, vis.GridOptions{Scale: 2, Pad: 2, Captions: caps})
	golden.CheckImage(t, "grid_captions", g, golden.Tolerance)
}

func TestGoldenGridRGB(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	const n, h, w = 5, 16, 16
	pix := make([]float32, n*h*w*3)
	for i := range n {
		c := [3]float32{float32(rnd.Float64()), float32(rnd.Float64()), float32(rnd.Float64())}
		for y := range h {
			for x := range w {
				for k := range 3 {
					v := c[k] * float32(x+y) / float32(w+h-2)
					if k == i%3 {
						v = 1 - v
					}
					pix[((i*h+y)*w+x)*3+k] = 2*v - 1
				}
			}
		}
	}
	imgs := vis.ImagesFromBatch(pix, n, h, w, 3, -1, 1)
	g := vis.Grid(imgs, 3, vis.GridOptions{
		Scale:         3,
		Pad:           4,
		Captions:      []string{"0", "1", "2", "3", "wider than a tile"},
		CaptionsAbove: true,
		Background:    color.Gray{Y: 0x30},
		TextColor:     color.White,
	})
	golden.CheckImage(t, "grid_rgb", g, golden.Tolerance)
}

// runs returns seeded noisy learning curves of one metric over steps.
func runs(rnd *rand.Rand, seeds, steps int, f func(step float64) float64, noise float64) [][]float64 {
	out := make([][]float64, seeds)
	for s := range out {
		out[s] = make([]float64, steps)
		for i := range out[s] {
			out[s][i] = f(float64(i)) + noise*rnd.NormFloat64()
		}
	}
	return out
}

func TestGoldenCurves(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	const steps = 40
	x := make([]float64, steps)
	for i := range x {
		x[i] = float64(25 * i)
	}
	m1, lo1, hi1 := vis.MeanBand(runs(rnd, 3, steps, func(s float64) float64 { return 0.9 - 0.8*math.Exp(-s/8) }, 0.04))
	m2, lo2, hi2 := vis.MeanBand(runs(rnd, 3, steps, func(s float64) float64 { return 0.6 - 0.5*math.Exp(-s/12) }, 0.03))
	p, err := vis.Curves("reward over training", "step", "reward",
		vis.Series{Name: "α=0.1", X: x, Y: m1, Lo: lo1, Hi: hi1},
		vis.Series{Name: "α=1", X: x, Y: m2, Lo: lo2, Hi: hi2},
		vis.Series{Name: "reference", X: []float64{0, 975}, Y: []float64{0.1, 0.1}},
		vis.Series{Name: "α=1, other", X: x, Y: hi2, Color: vis.Color(1), Dashed: true},
	)
	if err == nil {
		vis.Reference(p, 0.7, "a reference level")
	}
	checkPlot(t, "curves", p, err)
}

func TestGoldenCurvesLogY(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 8))
	const steps = 30
	x := make([]float64, steps)
	for i := range x {
		x[i] = float64(i)
	}
	var series []vis.Series
	for _, alpha := range []float64{0, 0.1, 10} {
		r := runs(rnd, 4, steps, func(s float64) float64 { return 0.002 * s * s / (1 + 3*alpha) }, 0)
		for _, run := range r {
			for i := range run {
				run[i] *= math.Exp(0.3 * rnd.NormFloat64())
			}
		}
		m, lo, hi := vis.MeanBand(r)
		series = append(series, vis.Series{Name: fmt.Sprintf("α=%g", alpha), X: x, Y: m, Lo: lo, Hi: hi})
	}
	p, err := vis.CurvesLogY("W2 to reference", "step", "W2", series...)
	checkPlot(t, "curves_logy", p, err)
}

var sweepAlpha = []float64{0, 0.01, 0.03, 0.1, 0.3, 1, 3, 10}

func TestGoldenAlphaSweep(t *testing.T) {
	rnd := rand.New(rand.NewPCG(9, 10))
	reward := make([][]float64, 3)
	w2 := make([][]float64, 3)
	for s := range reward {
		for _, a := range sweepAlpha {
			reward[s] = append(reward[s], 0.95-0.5*a/(a+0.5)+0.03*rnd.NormFloat64())
			w2[s] = append(w2[s], 20/(1+40*a)*math.Exp(0.2*rnd.NormFloat64()))
		}
	}
	m, lo, hi := vis.MeanBand(reward)
	p, err := vis.AlphaSweep("final reward", "reward", false, vis.Series{Name: "ORW-CFM-W2", X: sweepAlpha, Y: m, Lo: lo, Hi: hi})
	checkPlot(t, "alpha_reward", p, err)

	m, lo, hi = vis.MeanBand(w2)
	p, err = vis.AlphaSweep("final W2", "W2", true, vis.Series{X: sweepAlpha, Y: m, Lo: lo, Hi: hi})
	checkPlot(t, "alpha_w2", p, err)
}

func TestGoldenRewardW2(t *testing.T) {
	rnd := rand.New(rand.NewPCG(11, 12))
	var w2, reward []float64
	for _, a := range sweepAlpha {
		w2 = append(w2, 20/(1+40*a)*math.Exp(0.3*rnd.NormFloat64()))
		reward = append(reward, 0.95-0.5*a/(a+0.5)+0.05*rnd.NormFloat64())
	}
	p, err := vis.RewardW2("reward–W2 trade-off", w2, reward, sweepAlpha, true)
	checkPlot(t, "pareto", p, err)
}

func TestGoldenClassHistogram(t *testing.T) {
	counts := []float64{98, 112, 101, 95, 104, 88, 30, 102, 97, 173}
	p, err := vis.ClassHistogram(counts, nil)
	if err == nil {
		p.Title.Text = "generated digits"
	}
	checkPlot(t, "class_hist", p, err)
}

func TestGoldenClassStack(t *testing.T) {
	rnd := rand.New(rand.NewPCG(13, 14))
	const steps = 25
	x := make([]float64, steps)
	fr := make([][]float64, steps)
	for i := range fr {
		x[i] = float64(100 * i)
		fr[i] = make([]float64, 10)
		for k := range fr[i] {
			// The reward favours even digits: their share grows.
			w := 1.0
			if k%2 == 0 {
				w = math.Exp(float64(i) / 10)
			}
			fr[i][k] = w * (1 + 0.1*rnd.Float64())
		}
	}
	p, err := vis.ClassStack(x, fr, nil)
	if err == nil {
		p.Title.Text = "class make-up"
	}
	checkPlot(t, "class_stack", p, err)
	// The odd digits muted: two alternating greys that shrink.
	p, err = vis.ClassStack(x, fr, nil, 1, 3, 5, 7, 9)
	if err == nil {
		p.Title.Text = "class make-up, odd digits in grey"
	}
	checkPlot(t, "class_stack_muted", p, err)
}

func TestGoldenScatter(t *testing.T) {
	rnd := rand.New(rand.NewPCG(15, 16))
	pts := make([][2]float64, 400)
	vals := make([]float64, len(pts))
	for i := range pts {
		a := 2 * math.Pi * float64(i%8) / 8
		pts[i] = [2]float64{2*math.Cos(a) + 0.3*rnd.NormFloat64(), 2*math.Sin(a) + 0.3*rnd.NormFloat64()}
		vals[i] = -math.Hypot(pts[i][0]-2, pts[i][1])
	}
	p, err := vis.Scatter(pts, vals)
	if err == nil {
		p.Title.Text = "samples by reward"
	}
	checkPlot(t, "scatter", p, err)
}

func TestGoldenDensity(t *testing.T) {
	const n = 41
	dens := func(x, y float64) float64 {
		var s float64
		for k := range 8 {
			a := 2 * math.Pi * float64(k) / 8
			dx, dy := x-2*math.Cos(a), y-2*math.Sin(a)
			s += math.Exp(-(dx*dx+dy*dy)/(2*0.09)) / (2 * math.Pi * 0.09 * 8)
		}
		return s
	}
	grid := make([][]float64, n)
	for i := range grid {
		grid[i] = make([]float64, n)
		for j := range grid[i] {
			grid[i][j] = dens(-3+6*float64(j)/(n-1), -3+6*float64(i)/(n-1))
		}
	}
	rnd := rand.New(rand.NewPCG(17, 18))
	pts := make([][2]float64, 60)
	for i := range pts {
		a := 2 * math.Pi * float64(rnd.IntN(8)) / 8
		pts[i] = [2]float64{2*math.Cos(a) + 0.35*rnd.NormFloat64(), 2*math.Sin(a) + 0.35*rnd.NormFloat64()}
	}
	p, err := vis.Density(grid, -3, 3, -3, 3, vis.DensityOptions{Points: pts, Levels: []float64{0.05}})
	if err == nil {
		p.Title.Text = "exact density and samples"
	}
	checkPlot(t, "density", p, err)
}

func TestGoldenBarChart(t *testing.T) {
	p, err := vis.BarChart("loss terms per sample", "value", []string{"x1", "x2", "x3", "x4"},
		vis.Bars{Name: "w·fm", Values: []float64{0.8, 1.9, 0.4, 1.1}},
		vis.Bars{Name: "α·w2", Values: []float64{0.3, 0.1, 0.5, 0.2}},
		vis.Bars{Name: "advantage", Values: []float64{-0.4, 0.6, math.NaN(), 0.1}},
	)
	checkPlot(t, "bars", p, err)
}

// TestGoldenBarChartLongNames draws Fashion-MNIST's ten class names, which
// run into each other when set straight: they are slanted.
func TestGoldenBarChartLongNames(t *testing.T) {
	names := []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
	p, err := vis.BarChart("classes at the end", "fraction of samples", names,
		vis.Bars{Name: "α = 0", Values: []float64{0, 0, 0, 0, 0, 0.11, 0, 0.39, 0, 0.50}},
		vis.Bars{Name: "α = 1", Values: []float64{0.06, 0.06, 0.07, 0.07, 0.08, 0.13, 0.08, 0.18, 0.07, 0.20}},
	)
	checkPlot(t, "bars_long_names", p, err)
}

func TestGoldenHistogram(t *testing.T) {
	rnd := rand.New(rand.NewPCG(19, 20))
	a := make([]float64, 500)
	b := make([]float64, 200)
	for i := range a {
		a[i] = 0.45 + 0.2*rnd.NormFloat64()
	}
	for i := range b {
		b[i] = 0.9 - math.Abs(0.08*rnd.NormFloat64())
	}
	p, err := vis.Histogram("evaluation rewards", "reward", 25,
		vis.Sample{Name: "step 0", Values: a}, vis.Sample{Name: "step 1000", Values: b})
	checkPlot(t, "histogram", p, err)
}

func TestGoldenPaths(t *testing.T) {
	rnd := rand.New(rand.NewPCG(21, 22))
	var paths [][][2]float64
	var mid [][2]float64
	for i := range 24 {
		x0 := [2]float64{rnd.NormFloat64(), rnd.NormFloat64()}
		a := 2 * math.Pi * float64(i%4) / 4
		x1 := [2]float64{3*math.Cos(a) + 0.3*rnd.NormFloat64(), 3*math.Sin(a) + 0.3*rnd.NormFloat64()}
		var path [][2]float64
		for k := range 5 {
			s := float64(k) / 4
			path = append(path, [2]float64{s*x1[0] + (1-s)*x0[0], s*x1[1] + (1-s)*x0[1]})
		}
		paths = append(paths, path)
		mid = append(mid, path[2])
	}
	p, err := vis.Paths(paths, vis.PathOptions{StartName: "x0 (noise)", EndName: "x1 (data)", Points: mid, PointsName: "x_t, t = 0.5"})
	if err == nil {
		p.Title.Text = "conditional paths"
	}
	checkPlot(t, "paths", p, err)
}

func TestGoldenTitled(t *testing.T) {
	rnd := rand.New(rand.NewPCG(23, 24))
	imgs := make([]image.Image, 6)
	for i := range imgs {
		imgs[i] = vis.GrayImage(blob(rnd), 28, 28, 0, 1)
	}
	g := vis.Titled(vis.Grid(imgs, 3, vis.GridOptions{Scale: 1, Pad: 1}), "τ = 0.5, α = 1")
	golden.CheckImage(t, "titled", g, golden.Tolerance)
}

func TestGoldenTradeOff(t *testing.T) {
	p, err := vis.TradeOff("methods at the end",
		[]float64{0.09, 0.004, 0.05, 0.002, 0.07, 0.03},
		[]float64{0.99, 0.93, 0.9, 0.7, 0.97, 0.8},
		[]string{"ORW-CFM", "ORW-CFM-W2", "RAFT", "RAFT+W2", "", "ReFT"}, true)
	checkPlot(t, "tradeoff", p, err)
}

// TestReferenceLabelKeepsCurvesVisible draws a curve that runs right under a
// reference label: most of the curve's pixels under the label must keep its
// colour, not be painted over by the label's ground.
func TestReferenceLabelKeepsCurvesVisible(t *testing.T) {
	render := func(label string) image.Image {
		t.Helper()
		p, err := vis.Curves("curve under a label", "step", "value",
			vis.Series{Name: "curve", X: []float64{0, 100}, Y: []float64{0.52, 0.52}, Color: color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}})
		if err != nil {
			t.Fatal(err)
		}
		p.Y.Min, p.Y.Max = 0, 1
		vis.Reference(p, 0.5, label)
		img, err := vis.PlotImage(p, plotW, plotH)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	bare, labelled := render(""), render("a long reference label over the curve")
	red := func(c color.Color) bool {
		r, g, b, _ := c.RGBA()
		return r > 0xa000 && g < 0x6000 && b < 0x6000
	}
	// The label box: pixels where the two renderings differ.
	under, shown := 0, 0
	bounds := bare.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			if bare.At(x, y) == labelled.At(x, y) || !red(bare.At(x, y)) {
				continue
			}
			under++
			r, g, b, _ := labelled.At(x, y).RGBA()
			if r > g+0x2000 && r > b+0x2000 { // still reddish, not white or grey
				shown++
			}
		}
	}
	if under == 0 {
		t.Fatal("the label does not cover the curve: the test draws them apart")
	}
	// The glyphs themselves cover part of the curve (an opaque ground kept 4
	// of 322 pixels, the translucent one 214).
	if shown < under/2 {
		t.Errorf("%d of the curve's %d pixels under the label keep its colour, want at least half", shown, under)
	}
}

// TestInsideLegendKeepsCurvesVisible checks that where every corner of the
// data area is crossed, the curves that run under CurvesInside's legend box
// still show through it: a curve along the top and one along the bottom
// leave the box no free corner.
func TestInsideLegendKeepsCurvesVisible(t *testing.T) {
	red := color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	blue := color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	render := func(names ...string) image.Image {
		t.Helper()
		x := []float64{0, 25, 50, 75, 100}
		p, err := vis.CurvesInside("legend over curves", "step", "value",
			vis.Series{Name: names[0], X: x, Y: []float64{0.97, 0.96, 0.97, 0.96, 0.97}, Color: red},
			vis.Series{Name: names[1], X: x, Y: []float64{0.03, 0.04, 0.03, 0.04, 0.03}, Color: blue})
		if err != nil {
			t.Fatal(err)
		}
		p.Y.Min, p.Y.Max = 0, 1
		img, err := vis.PlotImage(p, plotW, plotH)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	// The same curves with names of one letter and with long names: the
	// pixels that differ are the larger box's.
	short, long := render("a", "b"), render("a long name of the top curve", "a long name of the bottom curve")
	// A curve's pixel, and one that keeps a tint of its colour (not white or
	// grey) under the 70% white ground.
	coloured := func(c color.Color) bool {
		r, g, b, _ := c.RGBA()
		return max(r, g, b)-min(r, g, b) > 0x4000
	}
	tinted := func(c color.Color) bool {
		r, g, b, _ := c.RGBA()
		return max(r, g, b)-min(r, g, b) > 0x2000
	}
	under, shown := 0, 0
	bounds := short.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			if short.At(x, y) == long.At(x, y) || !coloured(short.At(x, y)) {
				continue
			}
			under++
			if tinted(long.At(x, y)) {
				shown++
			}
		}
	}
	if under == 0 {
		t.Fatal("the legend covers no curve: the test draws them apart")
	}
	if shown < under/2 {
		t.Errorf("%d of the curves' %d pixels under the legend keep their colour, want at least half", shown, under)
	}
}
