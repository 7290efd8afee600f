package datasets

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
)

// ReadImages reads a data set's images from path: every PNG file of a
// directory (ReadPNGDir) or an idx file (ReadIDXImages).
func ReadImages(path string) (*Images, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return ReadPNGDir(path)
	}
	return ReadIDXImages(path)
}

// ReadPNGDir reads every .png file of dir, in the order of their names, as
// one batch of Images. The files must have one size; the batch is gray (one
// channel) when the first file is gray, RGB (three channels; alpha dropped)
// otherwise, and every file is converted to that.
func ReadPNGDir(dir string) (*Images, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.png"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s holds no .png files: give a directory of PNG images of one size, or an idx file", dir)
	}
	slices.Sort(files)
	var im *Images
	for _, f := range files {
		img, err := readPNG(f)
		if err != nil {
			return nil, err
		}
		b := img.Bounds()
		if im == nil {
			im = &Images{H: b.Dy(), W: b.Dx(), C: 3}
			if m := img.ColorModel(); m == color.GrayModel || m == color.Gray16Model {
				im.C = 1
			}
			im.Pix = make([]uint8, 0, len(files)*im.H*im.W*im.C)
		}
		if b.Dx() != im.W || b.Dy() != im.H {
			return nil, fmt.Errorf("%s is %dx%d, the first image %dx%d: the images must have one size", f, b.Dx(), b.Dy(), im.W, im.H)
		}
		im.Pix = appendPixels(im.Pix, img, im.C)
		im.N++
	}
	return im, nil
}

func readPNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// appendPixels appends img's pixels, row by row, as 8-bit gray (c = 1) or
// RGB (c = 3) values.
func appendPixels(pix []uint8, img image.Image, c int) []uint8 {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if c == 1 {
				pix = append(pix, color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
				continue
			}
			p := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			pix = append(pix, p.R, p.G, p.B)
		}
	}
	return pix
}
