package main

import (
	"image"
	"path/filepath"
	"testing"
)

// TestLoadImages reads what writeMNISTPNGs' writePNG writes: a directory of
// gray PNGs becomes the "my-images" set (datasets.ReadPNGDir is tested in its
// package).
func TestLoadImages(t *testing.T) {
	dir := t.TempDir()
	g := image.NewGray(image.Rect(0, 0, 4, 2))
	g.Pix[5] = 99
	if err := writePNG(filepath.Join(dir, "a.png"), g); err != nil {
		t.Fatal(err)
	}
	set, err := loadImages(dir)
	if err != nil {
		t.Fatal(err)
	}
	if im := set.Images; set.Name != dataName || im.N != 1 || im.H != 2 || im.W != 4 || im.C != 1 || im.Pix[5] != 99 {
		t.Errorf("set %q: %d images of %dx%dx%d, pixel 5 = %d", set.Name, im.N, im.H, im.W, im.C, im.Pix[5])
	}
}
