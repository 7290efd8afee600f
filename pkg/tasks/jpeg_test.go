package tasks

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
)

// patternImages returns n images of h×w×c: a smooth deterministic pattern
// (image 0), a flat gray image (1) and uniform noise (2, ...).
func patternImages(n, h, w, c int) *orw.Images {
	im := &orw.Images{N: n, H: h, W: w, C: c, Pix: make([]float32, n*h*w*c)}
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range n {
		px := im.At(i)
		for y := range h {
			for x := range w {
				for k := range c {
					j := (y*w+x)*c + k
					switch i {
					case 0:
						px[j] = float32(math.Sin(float64(x)/3+float64(k)) * math.Cos(float64(y)/5))
					case 1:
						px[j] = 0.2
					default:
						px[j] = float32(2*rng.Float64() - 1)
					}
				}
			}
		}
	}
	return im
}

func TestJPEGFlatBeatsNoise(t *testing.T) {
	for _, shape := range [][3]int{{28, 28, 1}, {32, 32, 3}} {
		im := patternImages(3, shape[0], shape[1], shape[2])
		r, err := JPEGReward{}.Reward(im)
		if err != nil {
			t.Fatal(err)
		}
		inc, err := JPEGReward{Incompress: true}.Reward(im)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%v: compressibility pattern %.3f, flat %.3f, noise %.3f kB", shape, r[0], r[1], r[2])
		if !(r[1] > r[0] && r[0] > r[2]) {
			t.Errorf("%v: want flat > pattern > noise in compressibility, got %v", shape, r)
		}
		for i := range r {
			if inc[i] != -r[i] {
				t.Errorf("incompressibility %g is not minus compressibility %g", inc[i], r[i])
			}
		}
	}
}

// TestJPEGRegression pins the byte counts of fixed images (Go 1.27's image/jpeg
// at quality 95): a change means the encoder or the quantisation changed, and
// every JPEG reward of the project with it.
func TestJPEGRegression(t *testing.T) {
	for _, tc := range []struct {
		shape [3]int
		want  []int
	}{
		{[3]int{28, 28, 1}, []int{780, 387, 1360}},
		{[3]int{32, 32, 3}, []int{1089, 609, 1786}},
	} {
		im := patternImages(3, tc.shape[0], tc.shape[1], tc.shape[2])
		sizes, err := JPEGSizes(im, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range sizes {
			if s != tc.want[i] {
				t.Errorf("%v image %d: %d bytes, want %d", tc.shape, i, s, tc.want[i])
			}
		}
		r, _ := JPEGReward{}.Reward(im)
		if r[0] != -float64(tc.want[0])/1000 {
			t.Errorf("reward %g, want −%d/1000 kB", r[0], tc.want[0])
		}
	}
}

func TestJPEGParallelMatchesSerial(t *testing.T) {
	im := patternImages(37, 28, 28, 1)
	all, err := JPEGSizes(im, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range im.N {
		one, err := JPEGSizes(im.Slice(i, i+1), 0)
		if err != nil {
			t.Fatal(err)
		}
		if one[0] != all[i] {
			t.Fatalf("image %d: %d bytes alone, %d in a batch", i, one[0], all[i])
		}
	}
}

func TestJPEGQuantisationAndErrors(t *testing.T) {
	g := to8Bit([]float32{-1, -2, 0, 1, 2, float32(math.NaN()), -0.5}, 1, 7, 1)
	want := []uint8{0, 0, 128, 255, 255, 0, 64}
	for i, v := range want {
		if got := g.(*image.Gray).Pix[i]; got != v {
			t.Errorf("value %d quantised to %d, want %d", i, got, v)
		}
	}
	if _, err := (JPEGReward{}).Reward(&orw.Images{N: 1, H: 1, W: 1, C: 2, Pix: []float32{0, 0}}); err == nil {
		t.Error("2-channel images were accepted")
	}
	if _, err := JPEGSizes(patternImages(1, 8, 8, 1), 101); err == nil {
		t.Error("quality 101 was accepted")
	}
}
