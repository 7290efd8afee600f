package vis

import (
	"image"
	"image/color"
	"image/draw"
	"math"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// DefaultScale is the upscaling factor Grid uses when GridOptions.Scale is
// not positive. It makes 28×28 MNIST digits 56 pixels wide.
const DefaultScale = 2

// CaptionHeight is the height in pixels of the caption band that Grid adds
// to every tile when captions are given: one line of the 7×13 basic font
// with a one pixel margin above and below.
const CaptionHeight = 15

// GridOptions controls the layout of Grid. The zero value gives tiles
// enlarged by DefaultScale, touching each other, on a white background,
// without captions.
type GridOptions struct {
	// Scale is the integer factor by which each image is enlarged by
	// pixel replication. Values below 1 mean DefaultScale.
	Scale int

	// Pad is the number of background pixels between neighbouring
	// tiles and around the border of the grid. Negative values mean 0.
	Pad int

	// Captions, when not empty, holds a short text for each image,
	// such as a reward "0.97" or a class "6". Every tile then gets a
	// caption band of CaptionHeight pixels. Missing captions are left
	// blank, extra captions are ignored, and captions wider than a tile
	// are clipped to it. Captions are drawn in the 7×13 bitmap font of
	// golang.org/x/image/font/basicfont, which covers printable ASCII;
	// other characters show as a replacement box.
	Captions []string

	// CaptionsAbove puts the caption bands above the tiles rather
	// than below them.
	CaptionsAbove bool

	// Background is the colour of the padding and caption bands.
	// Nil means white.
	Background color.Color

	// TextColor is the colour of captions. Nil means black.
	TextColor color.Color
}

// Grid lays imgs out in rows of cols tiles and returns the composite image.
//
// Every tile has the size of the largest image times the scale; smaller
// images are centred in their tile, and nil images leave their tile blank.
// Images are drawn over the background, so transparent areas show it.
// If cols is not positive, Grid uses ⌈√n⌉ columns; if cols exceeds the
// number of images it is reduced to that number. With n images, r = ⌈n/cols⌉
// rows, tiles of size tw×th, padding p and a caption band of height ch
// (CaptionHeight with captions, 0 otherwise), the result measures
//
//	cols*tw + (cols+1)*p  by  r*(th+ch) + (r+1)*p
//
// pixels and has its origin at (0, 0). Grid returns an empty image when
// imgs is empty.
func Grid(imgs []image.Image, cols int, opts GridOptions) *image.RGBA {
	n := len(imgs)
	if n == 0 {
		return image.NewRGBA(image.Rectangle{})
	}
	if cols <= 0 {
		cols = int(math.Ceil(math.Sqrt(float64(n))))
	}
	cols = min(cols, n)
	rows := (n + cols - 1) / cols

	scale := opts.Scale
	if scale < 1 {
		scale = DefaultScale
	}
	pad := max(opts.Pad, 0)
	bg := opts.Background
	if bg == nil {
		bg = color.White
	}
	fg := opts.TextColor
	if fg == nil {
		fg = color.Black
	}
	capH := 0
	if len(opts.Captions) > 0 {
		capH = CaptionHeight
	}

	var maxW, maxH int
	for _, img := range imgs {
		if img == nil {
			continue
		}
		b := img.Bounds()
		maxW = max(maxW, b.Dx())
		maxH = max(maxH, b.Dy())
	}
	tileW, tileH := maxW*scale, maxH*scale
	cellH := tileH + capH

	dst := image.NewRGBA(image.Rect(0, 0, cols*tileW+(cols+1)*pad, rows*cellH+(rows+1)*pad))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)

	face := basicfont.Face7x13
	for i, img := range imgs {
		x0 := pad + (i%cols)*(tileW+pad)
		y0 := pad + (i/cols)*(cellH+pad)
		tileY, capY := y0, y0+tileH
		if opts.CaptionsAbove {
			tileY, capY = y0+capH, y0
		}
		if img != nil {
			b := img.Bounds()
			w, h := b.Dx()*scale, b.Dy()*scale
			r := image.Rect(0, 0, w, h).Add(image.Pt(x0+(tileW-w)/2, tileY+(tileH-h)/2))
			xdraw.NearestNeighbor.Scale(dst, r, img, b, xdraw.Over, nil)
		}
		if capH == 0 || i >= len(opts.Captions) || opts.Captions[i] == "" {
			continue
		}
		s := opts.Captions[i]
		band := dst.SubImage(image.Rect(x0, capY, x0+tileW, capY+capH)).(*image.RGBA)
		tw := font.MeasureString(face, s).Ceil()
		tx := x0
		if tw < tileW {
			tx += (tileW - tw) / 2
		}
		d := font.Drawer{
			Dst:  band,
			Src:  image.NewUniform(fg),
			Face: face,
			Dot:  fixed.P(tx, capY+1+face.Ascent),
		}
		d.DrawString(s)
	}
	return dst
}
