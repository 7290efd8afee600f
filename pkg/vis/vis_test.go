package vis

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

func TestGrayImageMapping(t *testing.T) {
	nan := float32(math.NaN())
	pix := []float32{-1, 0, 0.25, 0.5, 1, 2, nan, float32(math.Inf(1))}
	img := GrayImage(pix, 2, 4, 0, 1)
	want := []uint8{0, 0, 64, 128, 255, 255, 0, 255}
	if !slices.Equal(img.Pix, want) {
		t.Errorf("levels = %v, want %v", img.Pix, want)
	}
	if got := img.Bounds(); got != image.Rect(0, 0, 4, 2) {
		t.Errorf("bounds = %v, want 4×2", got)
	}
	// A [-1, 1] range maps its midpoint to 128 and its ends to 0 and 255.
	img = GrayImage([]float32{-1, 0, 1}, 1, 3, -1, 1)
	if want := []uint8{0, 128, 255}; !slices.Equal(img.Pix, want) {
		t.Errorf("levels = %v, want %v", img.Pix, want)
	}
	// Row-major order: the value at row 1, column 0 is pix[w].
	img = GrayImage([]float32{0, 0, 0, 1, 0, 0}, 2, 3, 0, 1)
	if got := img.GrayAt(0, 1).Y; got != 255 {
		t.Errorf("GrayAt(0, 1) = %d, want 255", got)
	}
}

func TestRGBImageHWC(t *testing.T) {
	// One row, two pixels: red, then a mid gray clipped in blue.
	pix := []float32{1, 0, 0, 0.5, 0.5, 7}
	img := RGBImage(pix, 1, 2, 0, 1)
	if got, want := img.RGBAAt(0, 0), (color.RGBA{R: 255, A: 255}); got != want {
		t.Errorf("pixel 0 = %v, want %v", got, want)
	}
	if got, want := img.RGBAAt(1, 0), (color.RGBA{R: 128, G: 128, B: 255, A: 255}); got != want {
		t.Errorf("pixel 1 = %v, want %v", got, want)
	}
}

func TestImagesFromBatch(t *testing.T) {
	const n, h, w = 2, 2, 3
	gray := make([]float32, n*h*w)
	for i := range gray {
		gray[i] = float32(i) / float32(len(gray)-1)
	}
	imgs := ImagesFromBatch(gray, n, h, w, 1, 0, 1)
	if len(imgs) != n {
		t.Fatalf("got %d images, want %d", len(imgs), n)
	}
	g, ok := imgs[1].(*image.Gray)
	if !ok {
		t.Fatalf("image type %T, want *image.Gray", imgs[1])
	}
	if want := GrayImage(gray[h*w:], h, w, 0, 1); !reflect.DeepEqual(g, want) {
		t.Errorf("second image = %v, want %v", g.Pix, want.Pix)
	}
	before := g.Pix[0]
	gray[h*w] = 0 // The images must not share memory with pix.
	if g.Pix[0] != before {
		t.Errorf("image changed with its source: %d, was %d", g.Pix[0], before)
	}

	rgb := make([]float32, n*h*w*3)
	for i := range rgb {
		rgb[i] = float32(i % 3)
	}
	imgs = ImagesFromBatch(rgb, n, h, w, 3, 0, 2)
	c, ok := imgs[1].(*image.RGBA)
	if !ok {
		t.Fatalf("image type %T, want *image.RGBA", imgs[1])
	}
	if got, want := c.RGBAAt(2, 1), (color.RGBA{R: 0, G: 128, B: 255, A: 255}); got != want {
		t.Errorf("pixel = %v, want %v", got, want)
	}
	if got := ImagesFromBatch(nil, 0, 28, 28, 1, 0, 1); len(got) != 0 {
		t.Errorf("empty batch gave %d images", len(got))
	}
}

func TestImagePanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
		msg  string
	}{
		{"gray length", func() { GrayImage(make([]float32, 5), 2, 3, 0, 1) }, "len(pix)=5"},
		{"gray range", func() { GrayImage(make([]float32, 6), 2, 3, 1, 1) }, "invalid value range"},
		{"gray NaN range", func() { GrayImage(make([]float32, 6), 2, 3, math.NaN(), 1) }, "invalid value range"},
		{"negative", func() { GrayImage(nil, -1, 3, 0, 1) }, "negative dimension"},
		{"rgb length", func() { RGBImage(make([]float32, 6), 2, 3, 0, 1) }, "want 18"},
		{"batch channels", func() { ImagesFromBatch(make([]float32, 8), 1, 2, 2, 2, 0, 1) }, "want 1 or 3"},
		{"batch length", func() { ImagesFromBatch(make([]float32, 8), 3, 2, 2, 1, 0, 1) }, "want 12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				s, _ := r.(string)
				if !strings.HasPrefix(s, "vis: ") || !strings.Contains(s, tc.msg) {
					t.Errorf("panic %q, want one mentioning %q", r, tc.msg)
				}
			}()
			tc.f()
		})
	}
}

func TestGridGeometry(t *testing.T) {
	tile := func(w, h int) image.Image { return image.NewGray(image.Rect(0, 0, w, h)) }
	many := func(n int) []image.Image {
		imgs := make([]image.Image, n)
		for i := range imgs {
			imgs[i] = tile(28, 28)
		}
		return imgs
	}
	for _, tc := range []struct {
		name string
		imgs []image.Image
		cols int
		opts GridOptions
		w, h int
	}{
		{"one", many(1), 1, GridOptions{Scale: 1}, 28, 28},
		{"default scale", many(1), 1, GridOptions{}, 56, 56},
		{"row", many(4), 4, GridOptions{Scale: 1, Pad: 2}, 4*28 + 5*2, 28 + 2*2},
		{"partial row", many(7), 3, GridOptions{Scale: 3, Pad: 1}, 3*84 + 4*1, 3*84 + 4*1},
		{"auto cols", many(10), 0, GridOptions{Scale: 1}, 4 * 28, 3 * 28},
		{"cols above n", many(2), 8, GridOptions{Scale: 1}, 2 * 28, 28},
		{"negative pad", many(2), 2, GridOptions{Scale: 1, Pad: -3}, 2 * 28, 28},
		{"captions", many(5), 5, GridOptions{Scale: 2, Pad: 3, Captions: []string{"1"}}, 5*56 + 6*3, 56 + CaptionHeight + 2*3},
		{"captions above", many(6), 3, GridOptions{Scale: 2, Captions: []string{"a", "b"}, CaptionsAbove: true}, 3 * 56, 2 * (56 + CaptionHeight)},
		{"largest tile", []image.Image{tile(10, 4), nil, tile(3, 12)}, 3, GridOptions{Scale: 2, Pad: 1}, 3*20 + 4, 24 + 2},
		{"all nil", []image.Image{nil, nil}, 2, GridOptions{Pad: 5}, 15, 10},
		{"empty", nil, 3, GridOptions{Pad: 5}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := Grid(tc.imgs, tc.cols, tc.opts)
			if got, want := g.Bounds(), image.Rect(0, 0, tc.w, tc.h); got != want {
				t.Errorf("bounds = %v, want %v", got, want)
			}
		})
	}
}

func TestGridPlacement(t *testing.T) {
	white := image.NewGray(image.Rect(0, 0, 2, 1))
	white.Pix[0], white.Pix[1] = 255, 255
	small := image.NewGray(image.Rect(5, 5, 6, 6)) // Not at the origin.
	small.Pix[0] = 255
	g := Grid([]image.Image{white, small, nil}, 2, GridOptions{Scale: 3, Pad: 2, Background: color.Black})
	// Tiles are 6×3; the grid is 2·6+3·2 = 18 by 2·3+3·2 = 12.
	lit := func(x, y int) bool { return g.RGBAAt(x, y).R == 255 }
	for y := range g.Bounds().Dy() {
		for x := range g.Bounds().Dx() {
			want := (x >= 2 && x < 8 && y >= 2 && y < 5) || // first tile, scaled 3×
				(x >= 11 && x < 14 && y >= 2 && y < 5) // 1×1 image centred in the second tile
			if lit(x, y) != want {
				t.Fatalf("pixel (%d,%d) lit = %v, want %v", x, y, lit(x, y), want)
			}
		}
	}
}

func TestGridCaptions(t *testing.T) {
	imgs := []image.Image{image.NewGray(image.Rect(0, 0, 28, 28)), image.NewGray(image.Rect(0, 0, 28, 28))}
	g := Grid(imgs, 2, GridOptions{Scale: 1, Captions: []string{"6"}})
	dark := func(x0, x1 int) int {
		var n int
		for y := 28; y < 28+CaptionHeight; y++ {
			for x := x0; x < x1; x++ {
				if g.RGBAAt(x, y).R < 128 {
					n++
				}
			}
		}
		return n
	}
	if n := dark(0, 28); n == 0 {
		t.Error("caption of the first tile was not drawn")
	}
	if n := dark(28, 56); n != 0 {
		t.Errorf("second tile has no caption but %d dark pixels in its band", n)
	}
}

func TestMeanBand(t *testing.T) {
	nan := math.NaN()
	runs := [][]float64{
		{1, 2, 3, 10},
		{3, 4, 5},
		{2, nan, 7},
	}
	mean, lo, hi := MeanBand(runs)
	// Step 0: values 1, 3, 2: mean 2, sample variance (1+1+0)/2 = 1.
	// Step 1: values 2, 4: mean 3, variance (1+1)/1 = 2.
	// Step 2: values 3, 5, 7: mean 5, variance (4+0+4)/2 = 4.
	// Step 3: value 10 alone: no spread.
	wantMean := []float64{2, 3, 5, 10}
	sd := []float64{1, math.Sqrt2, 2, 0}
	for i := range wantMean {
		if !close(mean[i], wantMean[i]) || !close(lo[i], wantMean[i]-sd[i]) || !close(hi[i], wantMean[i]+sd[i]) {
			t.Errorf("step %d: got %v [%v, %v], want %v ± %v", i, mean[i], lo[i], hi[i], wantMean[i], sd[i])
		}
	}
	mean, lo, hi = MeanBand([][]float64{{nan, 1}, {nan}})
	if !math.IsNaN(mean[0]) || !math.IsNaN(lo[0]) || !math.IsNaN(hi[0]) || mean[1] != 1 {
		t.Errorf("got %v %v %v, want NaN where no run has a value", mean, lo, hi)
	}
	if m, l, h := MeanBand(nil); m != nil || l != nil || h != nil {
		t.Error("MeanBand(nil) is not nil")
	}
	if m, _, _ := MeanBand([][]float64{{}, {}}); m != nil {
		t.Error("MeanBand of empty runs is not nil")
	}
}

func close(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

// paretoBrute is the definition of the front: the points no other point
// dominates.
func paretoBrute(x, y []float64, maxX, maxY bool) []int {
	better := func(a, b float64, maximize bool) (ge, gt bool) {
		if maximize {
			return a >= b, a > b
		}
		return a <= b, a < b
	}
	var front []int
	for i := range x {
		if math.IsNaN(x[i]) || math.IsNaN(y[i]) {
			continue
		}
		dominated := false
		for j := range x {
			if j == i || math.IsNaN(x[j]) || math.IsNaN(y[j]) {
				continue
			}
			xge, xgt := better(x[j], x[i], maxX)
			yge, ygt := better(y[j], y[i], maxY)
			if xge && yge && (xgt || ygt) {
				dominated = true
				break
			}
		}
		if !dominated {
			front = append(front, i)
		}
	}
	return front
}

func TestParetoFront(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	specials := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1)}
	for trial := range 2000 {
		n := rnd.IntN(12)
		x, y := make([]float64, n), make([]float64, n)
		for i := range x {
			if trial%2 == 0 {
				// Few distinct values: many ties and duplicates.
				x[i], y[i] = float64(rnd.IntN(4)), float64(rnd.IntN(4))
			} else {
				x[i], y[i] = rnd.NormFloat64(), rnd.NormFloat64()
			}
			if rnd.IntN(10) == 0 {
				x[i] = specials[rnd.IntN(len(specials))]
			}
			if rnd.IntN(10) == 0 {
				y[i] = specials[rnd.IntN(len(specials))]
			}
		}
		for _, mx := range []bool{false, true} {
			for _, my := range []bool{false, true} {
				got := ParetoFront(x, y, mx, my)
				want := paretoBrute(x, y, mx, my)
				if !slices.Equal(got, want) {
					t.Fatalf("ParetoFront(%v, %v, %v, %v) = %v, want %v", x, y, mx, my, got, want)
				}
			}
		}
	}
}

func TestParetoFrontPanics(t *testing.T) {
	defer func() {
		if r, _ := recover().(string); !strings.Contains(r, "len(x)=2 != len(y)=1") {
			t.Errorf("panic %q, want a length mismatch", r)
		}
	}()
	ParetoFront([]float64{1, 2}, []float64{1}, true, true)
}

func TestColor(t *testing.T) {
	seen := map[color.Color]bool{}
	for i := range 10 {
		seen[Color(i)] = true
	}
	if len(seen) != 10 {
		t.Errorf("%d distinct colours among the first ten", len(seen))
	}
	if Color(13) != Color(3) || Color(-1) != Color(9) {
		t.Error("Color does not cycle")
	}
}

func labels(ts []plot.Tick) []string {
	var s []string
	for _, t := range ts {
		if t.Label != "" {
			s = append(s, t.Label)
		}
	}
	return s
}

func TestTicks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ticks  []plot.Tick
		labels []string
	}{
		{"linear unit", linearTicks(0, 1), []string{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}},
		{"linear steps", linearTicks(0, 29), []string{"0", "5", "10", "15", "20", "25"}},
		{"linear negative", linearTicks(-3.1, 3.1), []string{"-3", "-2", "-1", "0", "1", "2", "3"}},
		{"linear small", linearTicks(0.001, 0.0052), []string{"0.001", "0.002", "0.003", "0.004", "0.005"}},
		{"log decades", logTicks(3e-4, 20), []string{"0.001", "0.01", "0.1", "1", "10"}},
		{"log narrow", logTicks(0.15, 0.9), []string{"0.2", "0.5"}},
		{"log wide", logTicks(1, 1e7), []string{"1", "10", "100", "1000", "10000", "100000", "1e+06", "1e+07"}},
		{"alpha", alphaTicks(0.001, 0.01, []float64{0, 0.01, 0.1, 1, 10}).Ticks(0.001, 10), []string{"0", "0.01", "0.1", "1", "10"}},
		{"alpha decade", alphaTicks(0.01, 0.1, []float64{0.1, 1}).Ticks(0.01, 1), []string{"0", "0.1", "1"}},
		// Every swept α is labelled, and only those (0.3 is between the decades).
		{"alpha swept", alphaTicks(0.03, 0.3, []float64{0, 0.3, 1}).Ticks(0.03, 1), []string{"0", "0.3", "1"}},
		{"alpha grid", alphaTicks(0.01, 0.1, []float64{0, 0.1, 0.2, 0.5, 1, 10}).Ticks(0.01, 10), []string{"0", "0.1", "0.2", "0.5", "1", "10"}},
		// The compression grid over four decades: labels 0.3 decades apart
		// would touch, so the decades are labelled and the rest are minor ticks;
		// the MNIST grid's 0.03 and 0.3 are half a decade from their neighbours.
		{"alpha crowded", alphaTicks(0.001, 0.01, []float64{0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 10}).Ticks(0.001, 10), []string{"0", "0.01", "0.1", "1", "10"}},
		{"alpha mnist", alphaTicks(0.003, 0.03, []float64{0, 0.03, 0.1, 0.3, 1}).Ticks(0.003, 1), []string{"0", "0.03", "0.1", "0.3", "1"}},
		// W2 = 0 on a log axis: "0" a decade below the decade of the smallest
		// positive value (3e-3 → 1e-3 → 1e-4), then log ticks from 1e-3.
		{"log zero", zeroTicks(logZero(3e-3), 10*logZero(3e-3), nil).Ticks(1e-4, 0.5), []string{"0", "0.001", "0.01", "0.1"}},
		// Just above the break: the decade and the top, not a crowd of linear ticks.
		{"log zero narrow", zeroTicks(1e-3, 1e-2, nil).Ticks(1e-3, 0.0115), []string{"0", "0.01"}},
		{"log zero half decade", zeroTicks(1e-3, 1e-2, nil).Ticks(1e-3, 0.0249), []string{"0", "0.01", "0.024"}},
		{"linear empty", linearTicks(2, 2), []string{"2"}},
		{"log point", logTicks(3, 3), []string{"3"}},
	} {
		if got := labels(tc.ticks); !slices.Equal(got, tc.labels) {
			t.Errorf("%s: labels %q, want %q", tc.name, got, tc.labels)
		}
	}
	// No minor ticks in the gap between α = 0 and the smallest positive α.
	for _, tk := range alphaTicks(0.001, 0.01, []float64{0.01, 10}).Ticks(0.001, 10) {
		if tk.Value > 0.001 && tk.Value < 0.01 {
			t.Errorf("tick %v in the gap below the smallest α", tk.Value)
		}
	}
	for _, tc := range []struct{ minPos, zero float64 }{{3e-3, 1e-4}, {1e-3, 1e-4}, {0.58, 0.01}, {2, 0.1}, {0.099999, 1e-3}} {
		if got := logZero(tc.minPos); math.Abs(got-tc.zero) > 1e-12*tc.zero {
			t.Errorf("logZero(%g) = %g, want %g", tc.minPos, got, tc.zero)
		}
	}
}

func TestPlotErrors(t *testing.T) {
	ok := Series{X: []float64{1, 2}, Y: []float64{1, 2}}
	checkPlotErrors(t, []plotErrorCase{
		{"curves none", func() (*plot.Plot, error) { return Curves("", "", "") }, "no series"},
		{"curves empty", func() (*plot.Plot, error) { return Curves("", "", "", Series{}) }, "no points"},
		{"curves lengths", func() (*plot.Plot, error) {
			return Curves("", "", "", ok, Series{Name: "b", X: []float64{1, 2}, Y: []float64{1}})
		}, `series 1 ("b"): len(Y)=1 != len(X)=2`},
		{"curves band half", func() (*plot.Plot, error) {
			return Curves("", "", "", Series{X: ok.X, Y: ok.Y, Lo: ok.Y})
		}, "only one of Lo and Hi"},
		{"curves band length", func() (*plot.Plot, error) {
			return Curves("", "", "", Series{X: ok.X, Y: ok.Y, Lo: ok.Y, Hi: []float64{1}})
		}, "len(Hi)=1"},
		{"log no positive", func() (*plot.Plot, error) {
			return CurvesLogY("", "", "", Series{X: ok.X, Y: []float64{0, -1}})
		}, "no positive value"},
		{"alpha negative", func() (*plot.Plot, error) {
			return AlphaSweep("", "", false, Series{X: []float64{-1, 1}, Y: ok.Y})
		}, "negative α"},
		{"alpha zero only", func() (*plot.Plot, error) {
			return AlphaSweep("", "", false, Series{X: []float64{0, 0}, Y: ok.Y})
		}, "no positive α"},
		{"alpha none", func() (*plot.Plot, error) { return AlphaSweep("", "", false) }, "no series"},
		{"pareto empty", func() (*plot.Plot, error) { return RewardW2("", nil, nil, nil, false) }, "no points"},
		{"pareto lengths", func() (*plot.Plot, error) { return RewardW2("", []float64{1}, []float64{1, 2}, nil, false) }, "len(reward)=2"},
		{"pareto alpha", func() (*plot.Plot, error) { return RewardW2("", []float64{1}, []float64{1}, []float64{1, 2}, false) }, "len(alpha)=2"},
		{"pareto NaN", func() (*plot.Plot, error) {
			return RewardW2("", []float64{math.NaN()}, []float64{1}, nil, false)
		}, "no finite points"},
		{"pareto log", func() (*plot.Plot, error) { return RewardW2("", []float64{0}, []float64{1}, nil, true) }, "no positive W2"},
		{"hist empty", func() (*plot.Plot, error) { return ClassHistogram(nil, nil) }, "no classes"},
		{"hist names", func() (*plot.Plot, error) { return ClassHistogram([]float64{1, 2}, []string{"a"}) }, "1 names for 2 classes"},
		{"hist negative", func() (*plot.Plot, error) { return ClassHistogram([]float64{1, -2}, nil) }, "invalid count -2"},
		{"stack one step", func() (*plot.Plot, error) { return ClassStack([]float64{1}, [][]float64{{1}}, nil) }, "need at least 2"},
		{"stack rows", func() (*plot.Plot, error) { return ClassStack([]float64{1, 2}, [][]float64{{1}}, nil) }, "len(fractions)=1"},
		{"stack ragged", func() (*plot.Plot, error) {
			return ClassStack([]float64{1, 2}, [][]float64{{1, 2}, {1}}, nil)
		}, "fractions[1] has 1 values, want 2"},
		{"stack names", func() (*plot.Plot, error) {
			return ClassStack([]float64{1, 2}, [][]float64{{1, 2}, {1, 2}}, []string{"a", "b", "c"})
		}, "fractions[0] has 2 values, want 3"},
		{"stack order", func() (*plot.Plot, error) {
			return ClassStack([]float64{2, 1}, [][]float64{{1}, {1}}, nil)
		}, "increasing"},
		{"stack negative", func() (*plot.Plot, error) {
			return ClassStack([]float64{1, 2}, [][]float64{{1}, {-1}}, nil)
		}, "invalid value -1"},
		{"stack no classes", func() (*plot.Plot, error) { return ClassStack([]float64{1, 2}, [][]float64{{}, {}}, nil) }, "no classes"},
		{"scatter empty", func() (*plot.Plot, error) { return Scatter(nil, nil) }, "no points"},
		{"scatter values", func() (*plot.Plot, error) { return Scatter([][2]float64{{0, 0}}, []float64{1, 2}) }, "len(values)=2"},
		{"scatter NaN", func() (*plot.Plot, error) { return Scatter([][2]float64{{math.NaN(), 0}}, nil) }, "no finite points"},
		{"density small", func() (*plot.Plot, error) { return Density([][]float64{{1, 2}}, 0, 1, 0, 1, DensityOptions{}) }, "at least 2 rows"},
		{"density empty", func() (*plot.Plot, error) { return Density(nil, 0, 1, 0, 1, DensityOptions{}) }, "at least 2 rows"},
		{"density ragged", func() (*plot.Plot, error) {
			return Density([][]float64{{1, 2}, {1}}, 0, 1, 0, 1, DensityOptions{})
		}, "row 1 has 1 values, want 2"},
		{"density extent", func() (*plot.Plot, error) {
			return Density([][]float64{{1, 2}, {1, 2}}, 1, 0, 0, 1, DensityOptions{})
		}, "invalid extent"},
		{"density inf", func() (*plot.Plot, error) {
			return Density([][]float64{{1, 2}, {1, math.Inf(1)}}, 0, 1, 0, 1, DensityOptions{})
		}, "infinite value"},
		{"density NaN", func() (*plot.Plot, error) {
			nan := math.NaN()
			return Density([][]float64{{nan, nan}, {nan, nan}}, 0, 1, 0, 1, DensityOptions{})
		}, "all values are NaN"},
	})
}

// TestPlotsDraw draws plots whose data need care, such as gaps, zeros on
// log axes and constant values, which must render without panicking.
func TestPlotsDraw(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name string
		f    func() (*plot.Plot, error)
	}{
		{"gap", func() (*plot.Plot, error) {
			return Curves("", "", "", Series{Name: "a", X: []float64{0, 1, 2, 3, 4}, Y: []float64{1, nan, 2, 3, math.Inf(1)}, Lo: []float64{0, 0, 1, 2, 3}, Hi: []float64{2, 2, 3, 4, 5}})
		}},
		{"single points", func() (*plot.Plot, error) {
			return Curves("", "", "", Series{X: []float64{1}, Y: []float64{1}}, Series{X: []float64{0, 1, 2}, Y: []float64{0, nan, 1}})
		}},
		{"log zeros", func() (*plot.Plot, error) {
			return CurvesLogY("", "", "", Series{X: []float64{0, 1, 2}, Y: []float64{0, 0.1, 10}, Lo: []float64{-1, 0.05, 1}, Hi: []float64{1, 0.2, 20}})
		}},
		{"log constant", func() (*plot.Plot, error) {
			return CurvesLogY("", "", "", Series{X: []float64{0, 1}, Y: []float64{3, 3}})
		}},
		{"alpha single", func() (*plot.Plot, error) {
			return AlphaSweep("", "", true, Series{X: []float64{0, 1}, Y: []float64{0, 2}})
		}},
		{"pareto one", func() (*plot.Plot, error) { return RewardW2("", []float64{2}, []float64{1}, []float64{0}, true) }},
		{"pareto zero W2", func() (*plot.Plot, error) {
			return RewardW2("", []float64{0, 1, 2}, []float64{0, 1, nan}, nil, true)
		}},
		{"hist zeros", func() (*plot.Plot, error) { return ClassHistogram([]float64{0, 0}, []string{"a", "b"}) }},
		{"stack zero row", func() (*plot.Plot, error) {
			return ClassStack([]float64{0, 1, 2}, [][]float64{{1, 1}, {0, 0}, {3, 1}}, []string{"x", "y"})
		}},
		{"scatter constant", func() (*plot.Plot, error) {
			return Scatter([][2]float64{{0, 0}, {1, 1}, {nan, 1}}, []float64{2, 2, 2})
		}},
		{"density constant", func() (*plot.Plot, error) {
			return Density([][]float64{{1, 1}, {1, nan}}, 0, 1, 0, 1, DensityOptions{Points: [][2]float64{{0.5, 0.5}, {nan, 0}}, Levels: []float64{1}})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.f()
			if err != nil {
				t.Fatal(err)
			}
			b, err := PlotPNG(p, 150, 100)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := png.Decode(bytes.NewReader(b)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPlotPNGSize(t *testing.T) {
	p, err := Curves("", "x", "y", Series{X: []float64{0, 1}, Y: []float64{0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := PlotPNG(p, 3*vg.Inch, 2*vg.Inch)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width != 3*PNGDPI || cfg.Height != 2*PNGDPI {
		t.Errorf("size %d×%d, want %d×%d", cfg.Width, cfg.Height, 3*PNGDPI, 2*PNGDPI)
	}
	if _, err := PlotPNG(nil, 1, 1); err == nil {
		t.Error("PlotPNG(nil) gave no error")
	}
	if _, err := PlotPNG(p, 0, 1); err == nil {
		t.Error("PlotPNG with zero width gave no error")
	}
	// A plot made unusable by its caller yields an error, not a panic.
	bad := plot.New()
	bad.Y.Scale = plot.LogScale{}
	bad.Y.Min, bad.Y.Max = -1, 1
	if _, err := PlotPNG(bad, 100, 100); err == nil {
		t.Error("PlotPNG of a broken plot gave no error")
	}
}

// dirNames returns the names of the files in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestSavePlot(t *testing.T) {
	dir := t.TempDir()
	p, err := ClassHistogram([]float64{1, 2, 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"h.png", "h.svg", "h.PNG"} {
		if err := SavePlot(p, filepath.Join(dir, name), 150, 100); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "h.png"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil || cfg.Width != 200 || cfg.Height != 133 {
		t.Errorf("PNG: %v, %d×%d, want 200×133", err, cfg.Width, cfg.Height)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "h.svg"))
	if err != nil || !bytes.Contains(svg, []byte("<svg")) {
		t.Errorf("SVG: %v, %.40q", err, svg)
	}
	for _, bad := range []string{"h.xyz", "noext"} {
		if err := SavePlot(p, filepath.Join(dir, bad), 150, 100); err == nil {
			t.Errorf("SavePlot(%q) gave no error", bad)
		}
	}
	if err := SavePlot(nil, filepath.Join(dir, "n.png"), 1, 1); err == nil {
		t.Error("SavePlot(nil) gave no error")
	}
	if got, want := dirNames(t, dir), []string{"h.PNG", "h.png", "h.svg"}; !slices.Equal(got, want) {
		t.Errorf("files %q, want %q: temporary files left behind?", got, want)
	}
}

func TestSavePNG(t *testing.T) {
	dir := t.TempDir()
	img := GrayImage([]float32{0, 0.5, 1, 0.25}, 2, 2, 0, 1)
	path := filepath.Join(dir, "a.png")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := SavePNG(path, img); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := got.(*image.Gray); !ok || !slices.Equal(g.Pix, img.Pix) {
		t.Errorf("read back %v, want %v", got, img.Pix)
	}
	if err := SavePNG(filepath.Join(dir, "missing", "a.png"), img); err == nil {
		t.Error("no error for a missing directory")
	}
	if err := SavePNG(filepath.Join(dir, "b.png"), nil); err == nil {
		t.Error("no error for a nil image")
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"a.png"}) {
		t.Errorf("files %q, want only a.png", got)
	}
}

func TestSaveGIF(t *testing.T) {
	dir := t.TempDir()
	read := func(name string) *gif.GIF {
		t.Helper()
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		g, err := gif.DecodeAll(f)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}

	// Gray frames are stored exactly.
	var frames []image.Image
	for k := range 3 {
		pix := make([]float32, 16)
		for i := range pix {
			pix[i] = float32((i*17+k*50)%256) / 255
		}
		frames = append(frames, GrayImage(pix, 4, 4, 0, 1))
	}
	if err := SaveGIF(filepath.Join(dir, "g.gif"), frames, 250*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	g := read("g.gif")
	if len(g.Image) != 3 || g.LoopCount != 0 || g.Delay[0] != 25 {
		t.Fatalf("%d frames, loop %d, delay %d; want 3, 0, 25", len(g.Image), g.LoopCount, g.Delay[0])
	}
	for k, f := range g.Image {
		want := frames[k].(*image.Gray)
		for y := range 4 {
			for x := range 4 {
				if got := color.GrayModel.Convert(f.At(x, y)).(color.Gray); got != want.GrayAt(x, y) {
					t.Fatalf("frame %d pixel (%d,%d) = %v, want %v", k, x, y, got, want.GrayAt(x, y))
				}
			}
		}
	}

	// Colour frames of different sizes share a screen as large as the
	// largest; colours come back close to the originals.
	red := image.NewRGBA(image.Rect(0, 0, 6, 4))
	blue := image.NewRGBA(image.Rect(10, 10, 13, 15)) // Not at the origin.
	for i := 0; i < len(red.Pix); i += 4 {
		copy(red.Pix[i:], []uint8{230, 20, 20, 255})
	}
	for i := 0; i < len(blue.Pix); i += 4 {
		copy(blue.Pix[i:], []uint8{0, 0, 255, 255})
	}
	if err := SaveGIF(filepath.Join(dir, "c.gif"), []image.Image{red, blue}, 0); err != nil {
		t.Fatal(err)
	}
	g = read("c.gif")
	if g.Config.Width != 6 || g.Config.Height != 5 {
		t.Errorf("screen %d×%d, want 6×5", g.Config.Width, g.Config.Height)
	}
	if r, gr, b, _ := g.Image[0].At(2, 2).RGBA(); r>>8 < 200 || gr>>8 > 60 || b>>8 > 60 {
		t.Errorf("red frame pixel = %d %d %d", r>>8, gr>>8, b>>8)
	}
	if got := g.Image[1].At(1, 1); got != (color.RGBA{B: 255, A: 255}) {
		t.Errorf("blue frame pixel = %v", got)
	}
	if got := g.Image[1].At(5, 4); got != (color.RGBA{R: 255, G: 255, B: 255, A: 255}) {
		t.Errorf("screen outside a small frame = %v, want white", got)
	}

	for name, fr := range map[string][]image.Image{
		"none":  nil,
		"nil":   {red, nil},
		"empty": {image.NewRGBA(image.Rectangle{})},
	} {
		if err := SaveGIF(filepath.Join(dir, "x.gif"), fr, time.Second); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"c.gif", "g.gif"}) {
		t.Errorf("files %q, want c.gif and g.gif", got)
	}
}

// plotErrorCase is a call that must fail with a "vis: " error mentioning msg.
type plotErrorCase struct {
	name string
	f    func() (*plot.Plot, error)
	msg  string
}

// checkPlotErrors runs each case as a subtest: no plot, and a "vis: " error
// that mentions the case's msg.
func checkPlotErrors(t *testing.T, cases []plotErrorCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.f()
			if err == nil || p != nil {
				t.Fatalf("got plot %v, error %v; want an error mentioning %q", p, err, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "vis: ") || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q, want one mentioning %q", err, tc.msg)
			}
		})
	}
}
