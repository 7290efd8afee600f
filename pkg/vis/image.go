package vis

import (
	"fmt"
	"image"
	"math"
)

// GrayImage returns an h×w grayscale image built from the row-major values
// in pix. Each value v is mapped linearly from [lo, hi] to [0, 255]:
// lo and anything below it (and NaN) become 0, hi and anything above it
// become 255, and values in between are rounded to the nearest level.
//
// GrayImage panics if h or w is negative, if len(pix) != h*w, or if lo and
// hi are not finite with lo < hi.
func GrayImage(pix []float32, h, w int, lo, hi float64) *image.Gray {
	checkShape("GrayImage", len(pix), 1, h, w, 1)
	checkRange("GrayImage", lo, hi)
	img := image.NewGray(image.Rect(0, 0, w, h))
	fillGray(img, pix, lo, hi)
	return img
}

// RGBImage returns an h×w colour image built from pix, which holds the
// channels-last (HWC) values of three channels, red, green and blue, for
// each pixel in row-major order. Values are mapped to [0, 255] as described
// for GrayImage; the alpha channel of the result is opaque.
//
// RGBImage panics if h or w is negative, if len(pix) != h*w*3, or if lo and
// hi are not finite with lo < hi.
func RGBImage(pix []float32, h, w int, lo, hi float64) *image.RGBA {
	checkShape("RGBImage", len(pix), 1, h, w, 3)
	checkRange("RGBImage", lo, hi)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fillRGB(img, pix, lo, hi)
	return img
}

// ImagesFromBatch splits a batch of n images stored channels-last (NHWC) in
// pix into n images of size h×w. With c == 1 the images are *image.Gray,
// with c == 3 they are *image.RGBA. Values are mapped to [0, 255] as
// described for GrayImage. The images do not share memory with pix.
//
// ImagesFromBatch panics if c is not 1 or 3, if n, h or w is negative, if
// len(pix) != n*h*w*c, or if lo and hi are not finite with lo < hi.
func ImagesFromBatch(pix []float32, n, h, w, c int, lo, hi float64) []image.Image {
	if c != 1 && c != 3 {
		panic(fmt.Sprintf("vis: ImagesFromBatch: c=%d channels, want 1 or 3", c))
	}
	checkShape("ImagesFromBatch", len(pix), n, h, w, c)
	checkRange("ImagesFromBatch", lo, hi)
	imgs := make([]image.Image, n)
	size := h * w * c
	for i := range imgs {
		p := pix[i*size : (i+1)*size]
		if c == 1 {
			img := image.NewGray(image.Rect(0, 0, w, h))
			fillGray(img, p, lo, hi)
			imgs[i] = img
		} else {
			img := image.NewRGBA(image.Rect(0, 0, w, h))
			fillRGB(img, p, lo, hi)
			imgs[i] = img
		}
	}
	return imgs
}

func fillGray(img *image.Gray, pix []float32, lo, hi float64) {
	for i, v := range pix {
		img.Pix[i] = level(v, lo, hi)
	}
}

func fillRGB(img *image.RGBA, pix []float32, lo, hi float64) {
	for i := 0; i < len(pix)/3; i++ {
		img.Pix[4*i+0] = level(pix[3*i+0], lo, hi)
		img.Pix[4*i+1] = level(pix[3*i+1], lo, hi)
		img.Pix[4*i+2] = level(pix[3*i+2], lo, hi)
		img.Pix[4*i+3] = 0xff
	}
}

// level maps v from [lo, hi] to a clipped, rounded 8-bit level.
func level(v float32, lo, hi float64) uint8 {
	t := (float64(v) - lo) / (hi - lo)
	switch {
	case !(t > 0): // Also catches NaN.
		return 0
	case t >= 1:
		return 255
	}
	return uint8(t*255 + 0.5)
}

func checkShape(fn string, got, n, h, w, c int) {
	if n < 0 || h < 0 || w < 0 {
		panic(fmt.Sprintf("vis: %s: negative dimension in n=%d h=%d w=%d", fn, n, h, w))
	}
	if want := n * h * w * c; got != want {
		panic(fmt.Sprintf("vis: %s: len(pix)=%d does not match shape n=%d h=%d w=%d c=%d (want %d)", fn, got, n, h, w, c, want))
	}
}

func checkRange(fn string, lo, hi float64) {
	if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) || lo >= hi {
		panic(fmt.Sprintf("vis: %s: invalid value range [%v, %v]", fn, lo, hi))
	}
}
