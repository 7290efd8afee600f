package vis_test

import (
	"bytes"
	"fmt"
	"image/png"
	"log"

	"gonum.org/v1/plot/vg"

	"github.com/orwcfm/orwcfm/pkg/vis"
)

func ExampleGrid() {
	// A batch of five 28×28 grayscale images with values in [-1, 1],
	// as a flow-matching model produces them.
	const n, h, w = 5, 28, 28
	pix := make([]float32, n*h*w)
	for i := range pix {
		pix[i] = float32(i%w)/w*2 - 1
	}
	imgs := vis.ImagesFromBatch(pix, n, h, w, 1, -1, 1)

	g := vis.Grid(imgs, 3, vis.GridOptions{
		Scale:    2,
		Pad:      4,
		Captions: []string{"0.97", "0.12", "0.55", "0.80", "0.31"},
	})
	// Three columns of 56-pixel tiles with four pixels of padding, two
	// rows of tiles with their 15-pixel caption bands.
	fmt.Println(g.Bounds().Dx(), "x", g.Bounds().Dy())
	// Output:
	// 184 x 154
}

func ExampleParetoFront() {
	// Final W2 distance and reward of runs with different α.
	alpha := []float64{0, 0.01, 0.1, 1, 10}
	w2 := []float64{9.0, 4.0, 5.0, 0.5, 0.1}
	reward := []float64{0.97, 0.96, 0.90, 0.70, 0.40}

	// Minimise W2, maximise reward. The run with α=0.1 is dominated by
	// the one with α=0.01: more W2 and less reward.
	for _, i := range vis.ParetoFront(w2, reward, false, true) {
		fmt.Printf("α=%g: W2=%.1f reward=%.2f\n", alpha[i], w2[i], reward[i])
	}
	// Output:
	// α=0: W2=9.0 reward=0.97
	// α=0.01: W2=4.0 reward=0.96
	// α=1: W2=0.5 reward=0.70
	// α=10: W2=0.1 reward=0.40
}

func ExampleMeanBand() {
	// The same metric logged by three seeds; the third stopped early.
	runs := [][]float64{
		{0.1, 0.5, 0.8},
		{0.3, 0.5, 0.6},
		{0.2, 0.8},
	}
	mean, lo, hi := vis.MeanBand(runs)
	for t := range mean {
		fmt.Printf("step %d: %.2f [%.2f, %.2f]\n", t, mean[t], lo[t], hi[t])
	}
	// Output:
	// step 0: 0.20 [0.10, 0.30]
	// step 1: 0.60 [0.43, 0.77]
	// step 2: 0.70 [0.56, 0.84]
}

func ExampleCurves() {
	steps := []float64{0, 100, 200, 300, 400}
	runs := [][]float64{
		{0.10, 0.42, 0.61, 0.70, 0.74},
		{0.12, 0.35, 0.58, 0.69, 0.77},
		{0.09, 0.40, 0.66, 0.75, 0.78},
	}
	mean, lo, hi := vis.MeanBand(runs)
	p, err := vis.Curves("reward", "step", "mean reward",
		vis.Series{Name: "ORW-CFM-W2", X: steps, Y: mean, Lo: lo, Hi: hi})
	if err != nil {
		log.Fatal(err)
	}
	// 300×225 points are 400×300 pixels at vis.PNGDPI.
	b, err := vis.PlotPNG(p, 300*vg.Points(1), 225*vg.Points(1))
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.Width, "x", cfg.Height)
	// Output:
	// 400 x 300
}

func ExampleAlphaSweep() {
	alpha := []float64{0, 0.01, 0.1, 1, 10}
	w2 := []float64{9.0, 4.0, 1.2, 0.5, 0.1}
	// α = 0 is drawn one decade below α = 0.01, at a tick labelled "0".
	p, err := vis.AlphaSweep("final W2", "W2", true, vis.Series{X: alpha, Y: w2})
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max) {
		if t.Label != "" {
			fmt.Print(t.Label, " ")
		}
	}
	fmt.Println()
	// Output:
	// 0 0.01 0.1 1 10
}
