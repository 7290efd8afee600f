package tasks

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
	"github.com/orwcfm/orwcfm/pkg/tasks/datasets"
)

// TestFrechetOfRealAndNoise: in the shipped MNIST classifier's feature space,
// 1,000 real test images are close to the whole test split, the training
// images are close too, and uniform noise is far; a judge without data set
// reports NaN (no distance) rather than a number.
func TestFrechetOfRealAndNoise(t *testing.T) {
	be, err := backends.Default()
	if err != nil {
		t.Fatal(err)
	}
	clf, err := ShippedClassifier("mnist")
	if err != nil {
		t.Fatal(err)
	}
	j := ClassifierJudge{Backend: be, Classifier: clf, Data: "mnist"}
	train, err := LoadData("mnist", "", datasets.Train)
	if err != nil {
		t.Fatal(err)
	}
	real := ImagesFromDataset(DatasetFromSet(train)).Slice(0, 1000)
	dReal, err := j.Frechet(real)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	noise := &orw.Images{N: 1000, H: 28, W: 28, C: 1, Pix: make([]float32, 1000*784)}
	for i := range noise.Pix {
		noise.Pix[i] = float32(2*rng.Float64() - 1)
	}
	dNoise, err := j.Frechet(noise)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Fréchet distance to the MNIST test split: 1,000 training images %.3g, 1,000 noise images %.3g", dReal, dNoise)
	if !(dReal >= 0 && dNoise > 20*dReal) {
		t.Fatalf("real images at %g, noise at %g: the noise should be far further", dReal, dNoise)
	}
	none := ClassifierJudge{Backend: be, Classifier: clf}
	if d, err := none.Frechet(real); err != nil || !math.IsNaN(d) {
		t.Fatalf("a judge without data set gave %g, %v; want NaN", d, err)
	}
}
