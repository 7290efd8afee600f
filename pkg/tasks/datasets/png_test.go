package datasets

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeTestPNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReadPNGDir reads a directory of gray PNGs in file-name order, one of
// colour PNGs as RGB, and refuses images of two sizes and an empty directory.
func TestReadPNGDir(t *testing.T) {
	gray := t.TempDir()
	for i, v := range []uint8{200, 10} { // written in the order b, a
		g := image.NewGray(image.Rect(0, 0, 4, 2))
		for j := range g.Pix {
			g.Pix[j] = v + uint8(j)
		}
		writeTestPNG(t, filepath.Join(gray, []string{"b.png", "a.png"}[i]), g)
	}
	im, err := ReadImages(gray)
	if err != nil {
		t.Fatal(err)
	}
	if im.N != 2 || im.H != 2 || im.W != 4 || im.C != 1 || im.At(0)[0] != 10 || im.At(1)[7] != 207 {
		t.Errorf("gray images: %d of %dx%dx%d, pixels %d and %d", im.N, im.H, im.W, im.C, im.At(0)[0], im.At(1)[7])
	}

	rgb := t.TempDir()
	c := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	c.Set(1, 0, color.NRGBA{R: 255, G: 128, B: 7, A: 255})
	writeTestPNG(t, filepath.Join(rgb, "x.png"), c)
	if im, err = ReadPNGDir(rgb); err != nil {
		t.Fatal(err)
	}
	if im.C != 3 || !slices.Equal(im.Pix[3:6], []uint8{255, 128, 7}) {
		t.Errorf("colour image: %d channels, pixel (1, 0) = %v", im.C, im.Pix[3:6])
	}

	writeTestPNG(t, filepath.Join(gray, "c.png"), image.NewGray(image.Rect(0, 0, 3, 3)))
	if _, err := ReadPNGDir(gray); err == nil || !strings.Contains(err.Error(), "one size") {
		t.Errorf("images of two sizes: error %v", err)
	}
	if _, err := ReadImages(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no .png files") {
		t.Errorf("an empty directory: error %v", err)
	}
}

// TestReadImagesIDX reads an idx file through ReadImages.
func TestReadImagesIDX(t *testing.T) {
	want := &Images{N: 2, H: 2, W: 3, C: 1, Pix: []uint8{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}
	var b bytes.Buffer
	if err := WriteIDXImages(&b, want); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "x-images-idx3-ubyte")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadImages(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.N != 2 || got.H != 2 || got.W != 3 || !slices.Equal(got.Pix, want.Pix) {
		t.Errorf("ReadImages of an idx file: %+v", got)
	}
}
