package main

import (
	"math"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
)

// TestLeftInk scores made-up 2x4 images: all the ink on the left, all on the
// right, half and half, a blank image, and a grey stroke of half the ink.
func TestLeftInk(t *testing.T) {
	const off, on, grey = -1, 1, 0 // pixel values: background, stroke, half ink
	images := [][]float32{
		{on, on, off, off, on, off, off, off},
		{off, off, on, on, off, off, off, on},
		{on, off, on, off, on, off, on, off},
		{off, off, off, off, off, off, off, off},
		{grey, off, on, off, off, off, off, off},
	}
	want := []float64{1, 0, 0.5, 0, 1.0 / 3}
	im := &orw.Images{N: len(images), H: 2, W: 4, C: 1}
	for _, p := range images {
		im.Pix = append(im.Pix, p...)
	}
	got, err := leftInk(im)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("image %d: left ink %g, want %g", i, got[i], want[i])
		}
	}
}
