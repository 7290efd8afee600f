package vis

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot"

	"github.com/orwcfm/orwcfm/pkg/vis/internal/golden"
)

// apngFrames decodes every frame of an animated PNG written by EncodeAPNG:
// it checks the chunk layout (acTL after IHDR, one fcTL per frame, sequence
// numbers 0, 1, 2, … across fcTL and fdAT) and rebuilds each frame as a plain
// PNG for image/png to decode. It returns the frames and their delays.
func apngFrames(t *testing.T, b []byte) ([]image.Image, []time.Duration, int) {
	t.Helper()
	chunks, err := readChunks(b)
	if err != nil {
		t.Fatal(err)
	}
	if chunks[0].typ != "IHDR" || chunks[1].typ != "acTL" || chunks[len(chunks)-1].typ != "IEND" {
		t.Fatalf("chunk order %v", chunkTypes(chunks))
	}
	ihdr := chunks[0].data
	n := int(binary.BigEndian.Uint32(chunks[1].data))
	plays := int(binary.BigEndian.Uint32(chunks[1].data[4:]))
	var frames []image.Image
	var delays []time.Duration
	var data []byte
	seq := uint32(0)
	flush := func() {
		if data == nil {
			return
		}
		var buf bytes.Buffer
		buf.WriteString(pngSignature)
		writeChunk(&buf, "IHDR", ihdr)
		writeChunk(&buf, "IDAT", data)
		writeChunk(&buf, "IEND", nil)
		img, err := png.Decode(&buf)
		if err != nil {
			t.Fatalf("frame %d: %v", len(frames), err)
		}
		frames = append(frames, img)
		data = nil
	}
	for _, c := range chunks[2:] {
		switch c.typ {
		case "fcTL":
			flush()
			if got := binary.BigEndian.Uint32(c.data); got != seq {
				t.Fatalf("fcTL sequence %d, want %d", got, seq)
			}
			seq++
			num, den := binary.BigEndian.Uint16(c.data[20:]), binary.BigEndian.Uint16(c.data[22:])
			delays = append(delays, time.Duration(num)*time.Second/time.Duration(den))
			data = []byte{}
		case "IDAT":
			data = append(data, c.data...)
		case "fdAT":
			if got := binary.BigEndian.Uint32(c.data); got != seq {
				t.Fatalf("fdAT sequence %d, want %d", got, seq)
			}
			seq++
			data = append(data, c.data[4:]...)
		}
	}
	flush()
	if len(frames) != n {
		t.Fatalf("acTL says %d frames, found %d", n, len(frames))
	}
	return frames, delays, plays
}

func chunkTypes(cs []pngChunk) []string {
	var s []string
	for _, c := range cs {
		s = append(s, c.typ)
	}
	return s
}

func TestAPNG(t *testing.T) {
	// Gray frames are stored exactly, as 8-bit gray.
	var gray []image.Image
	for k := range 3 {
		pix := make([]float32, 20)
		for i := range pix {
			pix[i] = float32((i*13+k*70)%256) / 255
		}
		gray = append(gray, GrayImage(pix, 4, 5, 0, 1))
	}
	var buf bytes.Buffer
	if err := EncodeAPNG(&buf, gray, 250*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// A decoder without animation support sees the first frame.
	first, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if msg := golden.Diff(first, gray[0], 0); msg != "" {
		t.Errorf("first frame: %s", msg)
	}
	frames, delays, plays := apngFrames(t, buf.Bytes())
	if plays != 0 {
		t.Errorf("plays %d, want 0 (forever)", plays)
	}
	for k := range gray {
		if _, ok := frames[k].(*image.Gray); !ok {
			t.Errorf("frame %d decodes as %T, want *image.Gray", k, frames[k])
		}
		if msg := golden.Diff(frames[k], gray[k], 0); msg != "" {
			t.Errorf("frame %d: %s", k, msg)
		}
		if delays[k] != 250*time.Millisecond {
			t.Errorf("frame %d delay %v", k, delays[k])
		}
	}

	// Colour frames of different sizes, not at the origin and partly
	// transparent, share a white canvas as large as the largest.
	red := image.NewRGBA(image.Rect(0, 0, 6, 4))
	blue := image.NewNRGBA(image.Rect(10, 10, 13, 15))
	for i := 0; i < len(red.Pix); i += 4 {
		copy(red.Pix[i:], []uint8{230, 20, 20, 255})
	}
	for i := 0; i < len(blue.Pix); i += 4 {
		copy(blue.Pix[i:], []uint8{0, 0, 255, 255})
	}
	blue.SetNRGBA(10, 10, color.NRGBA{B: 255, A: 0})
	buf.Reset()
	if err := EncodeAPNG(&buf, []image.Image{red, blue}, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	frames, delays, _ = apngFrames(t, buf.Bytes())
	white := color.RGBA{255, 255, 255, 255}
	for k, f := range frames {
		if f.Bounds() != image.Rect(0, 0, 6, 5) {
			t.Errorf("frame %d bounds %v, want 6×5", k, f.Bounds())
		}
		if delays[k] != math.MaxUint16*time.Millisecond {
			t.Errorf("delay %v not clamped to 65.535 s", delays[k])
		}
	}
	rgba := func(img image.Image, x, y int) color.RGBA {
		return color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
	}
	if got := rgba(frames[0], 2, 2); got != (color.RGBA{230, 20, 20, 255}) {
		t.Errorf("red frame pixel %v", got)
	}
	if got := rgba(frames[0], 2, 4); got != white {
		t.Errorf("canvas below the red frame %v, want white", got)
	}
	if got := rgba(frames[1], 1, 1); got != (color.RGBA{0, 0, 255, 255}) {
		t.Errorf("blue frame pixel %v", got)
	}
	if got := rgba(frames[1], 0, 0); got != white {
		t.Errorf("transparent pixel %v, want white", got)
	}
	if got := rgba(frames[1], 5, 4); got != white {
		t.Errorf("canvas beside the blue frame %v, want white", got)
	}

	dir := t.TempDir()
	for name, fr := range map[string][]image.Image{
		"none":  nil,
		"nil":   {red, nil},
		"empty": {image.NewRGBA(image.Rectangle{})},
	} {
		if err := SaveAPNG(filepath.Join(dir, "x.png"), fr, time.Second); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := SaveAPNG(filepath.Join(dir, "a.png"), gray, time.Second); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "a.png"))
	if err != nil {
		t.Fatal(err)
	}
	if frames, _, _ := apngFrames(t, b); len(frames) != 3 {
		t.Errorf("%d frames in the file", len(frames))
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"a.png"}) {
		t.Errorf("files %q, want only a.png", got)
	}
}

func TestPlotImage(t *testing.T) {
	p, err := Curves("", "x", "y", Series{X: []float64{0, 1}, Y: []float64{0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	img, err := PlotImage(p, 150, 75)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds().Size(); got != image.Pt(200, 100) {
		t.Errorf("size %v, want 200×100", got)
	}
	b, err := PlotPNG(p, 150, 75)
	if err != nil {
		t.Fatal(err)
	}
	want, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if msg := golden.Diff(img, want, 0); msg != "" {
		t.Errorf("PlotImage differs from PlotPNG: %s", msg)
	}
	if _, err := PlotImage(nil, 1, 1); err == nil {
		t.Error("no error for a nil plot")
	}
	if _, err := PlotImage(p, 1, 0); err == nil {
		t.Error("no error for a zero height")
	}
}

func TestNewPlotErrors(t *testing.T) {
	checkPlotErrors(t, []plotErrorCase{
		{"bars no labels", func() (*plot.Plot, error) { return BarChart("", "", nil, Bars{}) }, "no categories"},
		{"bars none", func() (*plot.Plot, error) { return BarChart("", "", []string{"a"}) }, "no bars"},
		{"bars length", func() (*plot.Plot, error) {
			return BarChart("", "", []string{"a", "b"}, Bars{Name: "x", Values: []float64{1}})
		}, `bars 0 ("x") has 1 values for 2 categories`},
		{"bars inf", func() (*plot.Plot, error) {
			return BarChart("", "", []string{"a"}, Bars{Values: []float64{math.Inf(-1)}})
		}, "infinite value"},
		{"histogram none", func() (*plot.Plot, error) { return Histogram("", "", 0) }, "no samples"},
		{"histogram NaN", func() (*plot.Plot, error) {
			return Histogram("", "", 0, Sample{Values: []float64{math.NaN(), math.Inf(1)}})
		}, "no finite values"},
		{"tradeoff labels", func() (*plot.Plot, error) {
			return TradeOff("", []float64{1, 2}, []float64{1, 2}, []string{"a"}, false)
		}, "vis: TradeOff: len(labels)=1 != len(w2)=2"},
		{"tradeoff empty", func() (*plot.Plot, error) { return TradeOff("", nil, nil, nil, false) }, "vis: TradeOff: no points"},
		{"paths none", func() (*plot.Plot, error) { return Paths(nil, PathOptions{}) }, "no finite points"},
		{"paths NaN", func() (*plot.Plot, error) {
			return Paths([][][2]float64{{{math.NaN(), 0}}}, PathOptions{})
		}, "no finite points"},
	})
	// Awkward but valid data draws.
	nan := math.NaN()
	for name, f := range map[string]func() (*plot.Plot, error){
		"bars zeros":      func() (*plot.Plot, error) { return BarChart("", "", []string{"a", "b"}, Bars{Values: []float64{0, 0}}) },
		"bars NaN":        func() (*plot.Plot, error) { return BarChart("", "", []string{"a"}, Bars{Values: []float64{nan}}) },
		"bars negative":   func() (*plot.Plot, error) { return BarChart("", "", []string{"a"}, Bars{Values: []float64{-2}}) },
		"histogram const": func() (*plot.Plot, error) { return Histogram("", "", 3, Sample{Values: []float64{2, 2}}, Sample{}) },
		"paths one point": func() (*plot.Plot, error) {
			return Paths([][][2]float64{{{1, 1}}, {{0, 0}, {nan, 1}, {2, 2}}}, PathOptions{})
		},
		"paths all points": func() (*plot.Plot, error) {
			return Paths([][][2]float64{{{0, 0}, {1, 1}}}, PathOptions{Points: [][2]float64{{nan, 0}}})
		},
	} {
		p, err := f()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, err := PlotPNG(p, 150, 100); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestTitled(t *testing.T) {
	img := image.NewGray(image.Rect(5, 5, 105, 45))
	for i := range img.Pix {
		img.Pix[i] = 0x40
	}
	band := int(math.Round(float64(TitleFontSize) * 1.8 / 72 * PNGDPI))
	g := Titled(img, "x")
	if got := g.Bounds(); got != image.Rect(0, 0, 100, 40+band) {
		t.Errorf("bounds %v, want 100×%d", got, 40+band)
	}
	if got := g.At(50, band+20); got != (color.RGBA{0x40, 0x40, 0x40, 0xff}) {
		t.Errorf("image pixel %v", got)
	}
	// Some pixel of the band is dark: the title was drawn.
	dark := false
	for y := range band {
		for x := range 100 {
			if r, _, _, _ := g.At(x, y).RGBA(); r < 0x8000 {
				dark = true
			}
		}
	}
	if !dark {
		t.Error("no title drawn")
	}
	// A wide title widens the picture and centres the image.
	g = Titled(img, strings.Repeat("wide title ", 10))
	if g.Bounds().Dx() <= 100 {
		t.Fatalf("width %d, want more than the image", g.Bounds().Dx())
	}
	x0 := (g.Bounds().Dx() - 100) / 2
	if got := g.At(x0, band); got != (color.RGBA{0x40, 0x40, 0x40, 0xff}) {
		t.Errorf("image not centred: pixel %v", got)
	}
	if got := g.At(x0-1, band); got != (color.RGBA{0xff, 0xff, 0xff, 0xff}) {
		t.Errorf("background %v, want white", got)
	}
	if g := Titled(img, ""); g.Bounds().Dy() != 40+band {
		t.Errorf("empty title: bounds %v", g.Bounds())
	}
}
