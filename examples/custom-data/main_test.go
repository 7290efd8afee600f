package main

import (
	"image"
	"image/color"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLoadImages reads a directory of gray PNGs in file-name order, one of
// colour PNGs as RGB, and refuses images of two sizes.
func TestLoadImages(t *testing.T) {
	gray := t.TempDir()
	for i, v := range []uint8{200, 10} { // written in the order b, a
		g := image.NewGray(image.Rect(0, 0, 4, 2))
		for j := range g.Pix {
			g.Pix[j] = v + uint8(j)
		}
		if err := writePNG(filepath.Join(gray, []string{"b.png", "a.png"}[i]), g); err != nil {
			t.Fatal(err)
		}
	}
	set, err := loadImages(gray)
	if err != nil {
		t.Fatal(err)
	}
	im := set.Images
	if im.N != 2 || im.H != 2 || im.W != 4 || im.C != 1 || im.At(0)[0] != 10 || im.At(1)[7] != 207 {
		t.Errorf("gray images: %d of %dx%dx%d, pixels %d and %d", im.N, im.H, im.W, im.C, im.At(0)[0], im.At(1)[7])
	}

	rgb := t.TempDir()
	c := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	c.Set(1, 0, color.NRGBA{R: 255, G: 128, B: 7, A: 255})
	if err := writePNG(filepath.Join(rgb, "x.png"), c); err != nil {
		t.Fatal(err)
	}
	set, err = loadImages(rgb)
	if err != nil {
		t.Fatal(err)
	}
	if im := set.Images; im.C != 3 || !slices.Equal(im.Pix[3:6], []uint8{255, 128, 7}) {
		t.Errorf("colour image: %d channels, pixel (1, 0) = %v", im.C, im.Pix[3:6])
	}

	if err := writePNG(filepath.Join(gray, "c.png"), image.NewGray(image.Rect(0, 0, 3, 3))); err != nil {
		t.Fatal(err)
	}
	if _, err := loadImages(gray); err == nil || !strings.Contains(err.Error(), "one size") {
		t.Errorf("images of two sizes: error %v", err)
	}
}
