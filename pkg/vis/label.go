package vis

import (
	"image"
	"image/color"
	"image/draw"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	vgdraw "gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// TitleFontSize is the size of the titles that Titled draws.
const TitleFontSize = vg.Length(11)

// Titled returns img with title written above it, centred, in the plots'
// font (so, unlike Grid captions, it may use any character the font has,
// such as "τ = 0.5" or "α"). The title band is TitleFontSize·1.8 points
// high; when the title is wider than img, the result is as wide as the
// title and img is centred under it. The background is white.
func Titled(img image.Image, title string) *image.RGBA {
	sty := text.Style{
		Color:   color.Black,
		Font:    font.From(plot.DefaultFont, TitleFontSize),
		XAlign:  vgdraw.XCenter,
		YAlign:  vgdraw.YCenter,
		Handler: plot.DefaultTextHandler,
	}
	px := func(l vg.Length) int { return int(l/vg.Inch*PNGDPI + 0.5) }
	pt := func(n int) vg.Length { return vg.Length(n) * vg.Inch / PNGDPI }
	b := img.Bounds()
	bandH := px(TitleFontSize * 1.8)
	w := max(b.Dx(), px(sty.Width(title)+TitleFontSize))
	dst := image.NewRGBA(image.Rect(0, 0, w, bandH+b.Dy()))
	draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src)
	if title != "" {
		c := vgimg.NewWith(vgimg.UseWH(pt(w), pt(bandH)), vgimg.UseDPI(PNGDPI))
		dc := vgdraw.New(c)
		dc.FillText(sty, vg.Point{X: pt(w) / 2, Y: pt(bandH) / 2}, title)
		draw.Draw(dst, image.Rect(0, 0, w, bandH), c.Image(), c.Image().Bounds().Min, draw.Src)
	}
	draw.Draw(dst, image.Rect((w-b.Dx())/2, bandH, (w-b.Dx())/2+b.Dx(), bandH+b.Dy()), img, b.Min, draw.Over)
	return dst
}
