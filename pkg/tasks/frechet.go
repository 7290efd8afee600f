package tasks

import (
	"fmt"
	"math"
	"sync"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/metrics"
	"github.com/orwcfm/orwcfm/pkg/tasks/datasets"
)

// realMoments caches, per classifier and data set, the moments of the
// classifier's features of the real test images (computing them takes one pass
// of the classifier over the test split, a few seconds).
var realMoments sync.Map // realKey → *realEntry

type realKey struct {
	clf       *Classifier
	data, dir string
}

type realEntry struct {
	once sync.Once
	m    metrics.Moments
	err  error
}

// Frechet is the Fréchet distance between the Gaussians fitted to the
// classifier's last-hidden-layer features of images and of the real test
// images of the judge's data set: the small-scale stand-in for the FID
// (docs/method.md, "7 Evaluation metrics"). Lower is closer to the data, in
// quality and in diversity at once. It is NaN when the judge names no data set.
func (j ClassifierJudge) Frechet(images *orw.Images) (float64, error) {
	if j.Data == "" {
		return math.NaN(), nil
	}
	real, err := j.realMoments()
	if err != nil {
		return 0, err
	}
	f, err := j.Classifier.Features(j.Backend, images)
	if err != nil {
		return 0, err
	}
	m, err := metrics.MomentsOf(f)
	if err != nil {
		return 0, fmt.Errorf("frechet: %w", err)
	}
	return m.Frechet(real)
}

// realMoments returns (once per process) the moments of the features of the
// test split of the judge's data set.
func (j ClassifierJudge) realMoments() (metrics.Moments, error) {
	v, _ := realMoments.LoadOrStore(realKey{j.Classifier, j.Data, j.DataDir}, &realEntry{})
	e := v.(*realEntry)
	e.once.Do(func() {
		set, err := LoadData(j.Data, j.DataDir, datasets.Test)
		if err != nil {
			e.err = fmt.Errorf("frechet: the real test images: %w", err)
			return
		}
		f, err := j.Classifier.Features(j.Backend, ImagesFromDataset(DatasetFromSet(set)))
		if err != nil {
			e.err = fmt.Errorf("frechet: features of the real test images: %w", err)
			return
		}
		e.m, e.err = metrics.MomentsOf(f)
	})
	return e.m, e.err
}
