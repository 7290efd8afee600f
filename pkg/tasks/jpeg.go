package tasks

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"runtime"

	"github.com/orwcfm/orwcfm/pkg/internal/parallel"
	"github.com/orwcfm/orwcfm/pkg/orw"
)

// JPEGQuality is the quality of DDPO's compressibility reward.
const JPEGQuality = 95

// JPEGReward is DDPO's JPEG compressibility reward (Black et al., 2023, as used by
// the paper's CIFAR-10 experiment): each image is quantised to 8 bits
// (round((x+1)·127.5), clipped to 0..255), encoded by Go's image/jpeg at quality
// 95 — one channel as a gray JPEG, three as a colour JPEG with 4:2:0 chroma
// subsampling — and its size is measured in kB, 1 kB = 1000 bytes (DDPO divides
// the byte count by 1000). The reward is −kB (compressibility: smaller files
// score higher) or, with Incompress, +kB (incompressibility).
//
// Sizes differ from PIL's by a roughly constant offset (different headers and
// Huffman tables), so compare changes, not absolute values, with the paper.
type JPEGReward struct {
	// Incompress rewards large files instead of small ones.
	Incompress bool
	// Quality is the JPEG quality (0: JPEGQuality).
	Quality int
}

// Reward scores a batch; images are encoded in parallel, one goroutine per core.
func (r JPEGReward) Reward(images *orw.Images) ([]float64, error) {
	sizes, err := JPEGSizes(images, r.Quality)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(sizes))
	for i, s := range sizes {
		kb := float64(s) / 1000
		if r.Incompress {
			out[i] = kb
		} else {
			out[i] = -kb
		}
	}
	return out, nil
}

// JPEGSizes returns the JPEG size in bytes of every image of a batch (quality 0:
// JPEGQuality). Images must have 1 (gray) or 3 (RGB) channels.
func JPEGSizes(images *orw.Images, quality int) ([]int, error) {
	if err := images.Validate(); err != nil {
		return nil, err
	}
	if images.C != 1 && images.C != 3 {
		return nil, fmt.Errorf("jpeg reward: images have %d channels; JPEG needs 1 (gray) or 3 (RGB)", images.C)
	}
	if quality == 0 {
		quality = JPEGQuality
	}
	if quality < 1 || quality > 100 {
		return nil, fmt.Errorf("jpeg reward: quality must be in 1..100, got %d", quality)
	}
	sizes := make([]int, images.N)
	err := parallel.For(images.N, runtime.GOMAXPROCS(0), func(i int) error {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, to8Bit(images.At(i), images.H, images.W, images.C), &jpeg.Options{Quality: quality}); err != nil {
			return fmt.Errorf("jpeg reward: image %d: %w", i, err)
		}
		sizes[i] = buf.Len()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sizes, nil
}

// to8Bit converts one image in [-1, 1] (channels last) to an 8-bit Go image:
// *image.Gray for one channel, *image.RGBA (opaque) for three.
func to8Bit(pix []float32, h, w, c int) image.Image {
	q := func(v float32) uint8 {
		x := (float64(v) + 1) * 127.5
		switch {
		case !(x > 0): // also NaN
			return 0
		case x >= 255:
			return 255
		}
		return uint8(x + 0.5)
	}
	if c == 1 {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i, v := range pix {
			g.Pix[i] = q(v)
		}
		return g
	}
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for p := range h * w {
		m.Pix[4*p], m.Pix[4*p+1], m.Pix[4*p+2], m.Pix[4*p+3] = q(pix[3*p]), q(pix[3*p+1]), q(pix[3*p+2]), 255
	}
	return m
}
