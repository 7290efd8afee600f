package vis

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	vgdraw "gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// PNGDPI is the resolution, in dots per inch, at which PlotPNG and SavePlot
// rasterise plots. A plot of width w then measures w/vg.Inch*PNGDPI pixels;
// for example 300×225 points give 400×300 pixels.
const PNGDPI = 96

// SavePNG writes img to path as a PNG file. The file is written atomically:
// the image is encoded into a temporary file in the same directory, which is
// then renamed to path.
func SavePNG(path string, img image.Image) error {
	if img == nil {
		return errors.New("vis: SavePNG: nil image")
	}
	return writeAtomic(path, func(w io.Writer) error {
		return png.Encode(w, img)
	})
}

// SaveGIF writes frames to path as an animated GIF that loops forever,
// showing each frame for delay (rounded to the GIF resolution of 10ms).
// The file is written atomically, as by SavePNG.
//
// If every frame is grayscale the animation uses a palette of all 256 gray
// levels, so gray frames are stored exactly. Otherwise it uses a fixed
// palette of a 6×6×6 colour cube and 40 further grays, and colours are
// Floyd–Steinberg dithered. Frames of different sizes are aligned at their
// top-left corner on a white screen as large as the largest frame.
func SaveGIF(path string, frames []image.Image, delay time.Duration) error {
	if len(frames) == 0 {
		return errors.New("vis: SaveGIF: no frames")
	}
	var screen image.Rectangle
	gray := true
	for i, f := range frames {
		if f == nil {
			return fmt.Errorf("vis: SaveGIF: frame %d is nil", i)
		}
		screen = screen.Union(image.Rectangle{Max: f.Bounds().Size()})
		gray = gray && isGray(f)
	}
	if screen.Empty() {
		return errors.New("vis: SaveGIF: frames are empty")
	}
	pal := colourPalette()
	if gray {
		pal = grayPalette()
	}
	d := max(int(math.Round(float64(delay)/float64(10*time.Millisecond))), 0)
	anim := &gif.GIF{
		Image:  make([]*image.Paletted, len(frames)),
		Delay:  make([]int, len(frames)),
		Config: image.Config{ColorModel: pal, Width: screen.Dx(), Height: screen.Dy()},
	}
	for i, f := range frames {
		p := image.NewPaletted(screen, pal)
		b := f.Bounds()
		if b.Size() != screen.Size() {
			draw.Draw(p, screen, image.White, image.Point{}, draw.Src)
		}
		r := image.Rectangle{Max: b.Size()}
		if gray {
			for y := 0; y < r.Dy(); y++ {
				for x := 0; x < r.Dx(); x++ {
					p.SetColorIndex(x, y, color.GrayModel.Convert(f.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y)
				}
			}
		} else {
			draw.FloydSteinberg.Draw(p, r, f, b.Min)
		}
		anim.Image[i] = p
		anim.Delay[i] = d
	}
	return writeAtomic(path, func(w io.Writer) error {
		return gif.EncodeAll(w, anim)
	})
}

// isGray reports whether every pixel of img has equal red, green and blue
// components.
func isGray(img image.Image) bool {
	switch img := img.(type) {
	case *image.Gray, *image.Gray16:
		return true
	case *image.RGBA:
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := img.Pix[img.PixOffset(b.Min.X, y):img.PixOffset(b.Max.X, y)]
			for i := 0; i < len(row); i += 4 {
				if row[i] != row[i+1] || row[i] != row[i+2] {
					return false
				}
			}
		}
		return true
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r != g || r != bl {
				return false
			}
		}
	}
	return true
}

func grayPalette() color.Palette {
	p := make(color.Palette, 256)
	for i := range p {
		p[i] = color.Gray{Y: uint8(i)}
	}
	return p
}

func colourPalette() color.Palette {
	p := make(color.Palette, 0, 256)
	for r := 0; r < 6; r++ {
		for g := 0; g < 6; g++ {
			for b := 0; b < 6; b++ {
				p = append(p, color.RGBA{R: uint8(51 * r), G: uint8(51 * g), B: uint8(51 * b), A: 0xff})
			}
		}
	}
	for k := 1; k <= 40; k++ {
		v := uint8(math.Round(255 * float64(k) / 41))
		p = append(p, color.RGBA{R: v, G: v, B: v, A: 0xff})
	}
	return p
}

// SavePlot draws p on a canvas of size w×h and writes it to path. The format
// follows the file name suffix: ".png" (rasterised at PNGDPI, as by PlotPNG),
// ".svg", or any other suffix gonum.org/v1/plot supports (".pdf", ".eps",
// ".jpg", ".tif", ".tex"). The file is written atomically, as by SavePNG.
func SavePlot(p *plot.Plot, path string, w, h vg.Length) error {
	if p == nil {
		return errors.New("vis: SavePlot: nil plot")
	}
	if !(w > 0 && h > 0) {
		return fmt.Errorf("vis: SavePlot: invalid size %v×%v", w, h)
	}
	format := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	var wt io.WriterTo
	if format == "png" {
		b, err := PlotPNG(p, w, h)
		if err != nil {
			return err
		}
		wt = bytes.NewReader(b)
	} else {
		err := catch(func() error {
			var err error
			wt, err = p.WriterTo(w, h, format)
			return err
		})
		if err != nil {
			return fmt.Errorf("vis: SavePlot: %w", err)
		}
	}
	return writeAtomic(path, func(w io.Writer) error {
		_, err := wt.WriteTo(w)
		return err
	})
}

// PlotPNG draws p on a canvas of size w×h and returns it encoded as PNG,
// rasterised at PNGDPI. It is meant for inline display, for example in a
// notebook.
func PlotPNG(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	if p == nil {
		return nil, errors.New("vis: PlotPNG: nil plot")
	}
	if !(w > 0 && h > 0) {
		return nil, fmt.Errorf("vis: PlotPNG: invalid size %v×%v", w, h)
	}
	var buf bytes.Buffer
	err := catch(func() error {
		c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(PNGDPI))
		p.Draw(vgdraw.New(c))
		_, err := vgimg.PngCanvas{Canvas: c}.WriteTo(&buf)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("vis: PlotPNG: %w", err)
	}
	return buf.Bytes(), nil
}

// catch runs f and turns a panic raised while drawing (gonum/plot panics,
// for instance, on a log axis that contains non-positive values) into an
// error.
func catch(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("drawing failed: %v", r)
		}
	}()
	return f()
}

// writeAtomic writes the file at path through a temporary file in the same
// directory that is renamed to path once write has succeeded.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("vis: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriter(f)
	if err = write(bw); err != nil {
		return fmt.Errorf("vis: writing %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("vis: writing %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("vis: writing %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("vis: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("vis: writing %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("vis: %w", err)
	}
	return nil
}

// PlotImage draws p on a canvas of size w×h, rasterised at PNGDPI, and
// returns the picture, for example to place plots next to a sample grid with
// Grid or to make animation frames.
func PlotImage(p *plot.Plot, w, h vg.Length) (image.Image, error) {
	if p == nil {
		return nil, errors.New("vis: PlotImage: nil plot")
	}
	if !(w > 0 && h > 0) {
		return nil, fmt.Errorf("vis: PlotImage: invalid size %v×%v", w, h)
	}
	var img image.Image
	err := catch(func() error {
		c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(PNGDPI))
		p.Draw(vgdraw.New(c))
		img = c.Image()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("vis: PlotImage: %w", err)
	}
	return img, nil
}
