package orw

import "fmt"

// Images is a batch of images on the host: channels-last float32 pixels in
// [-1, 1], laid out N×H×W×C. It is what generators produce and rewards score.
type Images struct {
	N, H, W, C int
	Pix        []float32
}

// Size is the number of values per image.
func (im *Images) Size() int { return im.H * im.W * im.C }

// At returns image i's pixels (a sub-slice, not a copy).
func (im *Images) At(i int) []float32 { s := im.Size(); return im.Pix[i*s : (i+1)*s] }

// Shape returns [H, W, C].
func (im *Images) Shape() []int { return []int{im.H, im.W, im.C} }

// Validate checks that the dimensions are positive and match the pixel count.
func (im *Images) Validate() error {
	if im == nil {
		return fmt.Errorf("images: nil batch")
	}
	if im.N < 0 || im.H <= 0 || im.W <= 0 || im.C <= 0 {
		return fmt.Errorf("images: invalid shape %dx%dx%dx%d", im.N, im.H, im.W, im.C)
	}
	if len(im.Pix) != im.N*im.Size() {
		return fmt.Errorf("images: %d values for %d images of %dx%dx%d (want %d)", len(im.Pix), im.N, im.H, im.W, im.C, im.N*im.Size())
	}
	return nil
}

// Slice returns images i0..i1-1 (sharing memory).
func (im *Images) Slice(i0, i1 int) *Images {
	s := im.Size()
	return &Images{N: i1 - i0, H: im.H, W: im.W, C: im.C, Pix: im.Pix[i0*s : i1*s]}
}

// Reward scores a batch of images, one value per image (higher is better). It is
// a black box to the trainer: no gradients are taken through it.
type Reward interface {
	Reward(images *Images) ([]float64, error)
}

// RewardFunc adapts a function to the Reward interface.
type RewardFunc func(images *Images) ([]float64, error)

// Reward calls f.
func (f RewardFunc) Reward(images *Images) ([]float64, error) { return f(images) }

// MeanPixel scores each image by its mean pixel value: the timing reward of the
// benchmark workloads (orw bench) and a cheap black-box reward for tests.
var MeanPixel = RewardFunc(func(im *Images) ([]float64, error) {
	r := make([]float64, im.N)
	for i := range r {
		for _, v := range im.At(i) {
			r[i] += float64(v)
		}
		r[i] /= float64(im.Size())
	}
	return r, nil
})
