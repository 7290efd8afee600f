package vis

import "image/color"

// classColors are ten well separated hues, in the order of the widely used
// "category 10" scheme, so that the digits 0–9 are easy to tell apart.
var classColors = [10]color.RGBA{
	{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // blue
	{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, // orange
	{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, // green
	{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, // red
	{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, // purple
	{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}, // brown
	{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff}, // pink
	{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}, // gray
	{R: 0xbc, G: 0xbd, B: 0x22, A: 0xff}, // olive
	{R: 0x17, G: 0xbe, B: 0xcf, A: 0xff}, // cyan
}

// Color returns the i-th of ten distinguishable colours, cycling for i ≥ 10
// (and for negative i). Series and classes are coloured with Color in order,
// so class k of a digit data set is always drawn in Color(k).
func Color(i int) color.Color {
	i %= len(classColors)
	if i < 0 {
		i += len(classColors)
	}
	return classColors[i]
}

// translucent returns c, made opaque, with alpha a ∈ [0, 1] instead.
func translucent(c color.Color, a float64) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: uint8(255*a + 0.5)}
}
