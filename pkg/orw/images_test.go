package orw_test

import (
	"fmt"

	"github.com/orwcfm/orwcfm/pkg/orw"
)

// MeanPixel scores two 1x2 gray images by their mean values.
func ExampleMeanPixel() {
	im := &orw.Images{N: 2, H: 1, W: 2, C: 1, Pix: []float32{-1, 1, 0.5, 1}}
	r, err := orw.MeanPixel.Reward(im)
	fmt.Println(r, err)
	// Output: [0 0.75] <nil>
}
