package metrics

import (
	"fmt"
	"math"
)

// Thresholds of ImageStatsOf, in intensity units of [0, 1].
const (
	darkBelow  = 0.1  // a pixel darker than this counts as dark
	edgeAbove  = 0.25 // a gradient magnitude above this counts as an edge
	entropyBin = 256  // bins of the intensity histogram
)

// ImageStats are cheap statistics of a batch of images' pixels, probes for
// reward hacking that needs no model: images gone blank, saturated or noisy.
// Each is computed on the grey image (the mean over channels) with intensities
// mapped from [−1, 1] to [0, 1].
type ImageStats struct {
	// Brightness is the mean intensity, in [0, 1].
	Brightness float64 `json:"brightness"`
	// DarkFraction is the fraction of pixels with intensity below 0.1.
	DarkFraction float64 `json:"dark_fraction"`
	// EdgeDensity is the fraction of pixels whose gradient magnitude, by forward
	// differences √((g[y][x+1] − g[y][x])² + (g[y+1][x] − g[y][x])²) (a difference
	// past the last row or column is 0), exceeds 0.25.
	EdgeDensity float64 `json:"edge_density"`
	// PixelEntropy is the Shannon entropy of each image's 256-bin intensity
	// histogram in bits divided by 8, so in [0, 1], averaged over the images:
	// 0 for a flat image, 1 for intensities spread evenly over all bins.
	PixelEntropy float64 `json:"pixel_entropy"`
}

// ImageStatsOf returns the ImageStats of n images of h×w pixels with c channels,
// laid out N×H×W×C with values in [−1, 1] (values outside are clipped, NaN
// counts as mid grey). All fields are 0 when n is 0. It panics if
// len(pix) ≠ n·h·w·c or a dimension is negative, a caller's mistake like an
// index out of range.
func ImageStatsOf(pix []float32, n, h, w, c int) ImageStats {
	if n < 0 || h < 0 || w < 0 || c < 0 || len(pix) != n*h*w*c {
		panic(fmt.Sprintf("metrics: ImageStatsOf: %d values for %d images of %dx%dx%d", len(pix), n, h, w, c))
	}
	if n == 0 || h*w*c == 0 {
		return ImageStats{}
	}
	var st ImageStats
	grey := make([]float64, h*w)
	hist := make([]float64, entropyBin)
	for i := range n {
		img := pix[i*h*w*c : (i+1)*h*w*c]
		for p := range grey {
			var s float64
			for _, v := range img[p*c : (p+1)*c] {
				s += unitIntensity(v)
			}
			grey[p] = s / float64(c)
		}
		clear(hist)
		for p, g := range grey {
			st.Brightness += g
			if g < darkBelow {
				st.DarkFraction++
			}
			hist[min(int(g*entropyBin), entropyBin-1)]++
			y, x := p/w, p%w
			var gx, gy float64
			if x+1 < w {
				gx = grey[p+1] - g
			}
			if y+1 < h {
				gy = grey[p+w] - g
			}
			if math.Sqrt(gx*gx+gy*gy) > edgeAbove {
				st.EdgeDensity++
			}
		}
		st.PixelEntropy += Entropy(hist) / math.Ln2 / 8
	}
	total := float64(n * h * w)
	st.Brightness /= total
	st.DarkFraction /= total
	st.EdgeDensity /= total
	st.PixelEntropy /= float64(n)
	return st
}

// unitIntensity maps a pixel from [−1, 1] to [0, 1], clipping and sending NaN to ½.
func unitIntensity(v float32) float64 {
	if v != v {
		return 0.5
	}
	return min(max((float64(v)+1)/2, 0), 1)
}
