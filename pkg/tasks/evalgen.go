package tasks

import (
	"fmt"
	"time"

	"github.com/gomlx/compute"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/metrics"
)

// GeneratorReport is how good a base generator is, judged by a classifier on
// samples (the quality bar of the shipped models: mean top-class probability
// ≥ 0.90 and every class between 7% and 13% of the samples).
type GeneratorReport struct {
	Model   string            `json:"model"`
	Sampler orw.SamplerConfig `json:"sampler"`
	Seed    uint64            `json:"seed"`
	// ClassifierTestAccuracy is the judge's accuracy on the data set's test split.
	ClassifierTestAccuracy float64 `json:"classifier_test_accuracy"`
	Samples                int     `json:"samples"`
	// MeanTopProb is the mean over samples of the classifier's largest class probability.
	MeanTopProb float64 `json:"mean_top_prob"`
	// ClassFractions is the fraction of samples per predicted class.
	ClassFractions []float64 `json:"class_fractions"`
	// EvenReward is the mean even-digit reward (MNIST only).
	EvenReward *float64 `json:"even_reward,omitempty"`
	// LabelAccuracy is, for a class-conditional generator, the fraction of
	// samples that the classifier puts in the class they were drawn for (sample
	// i gets label i mod K).
	LabelAccuracy *float64 `json:"label_accuracy,omitempty"`
	// SampleSeconds is the wall time of drawing the samples.
	SampleSeconds float64 `json:"sample_seconds"`
	// Evaluator is the same judgement by the data set's evaluator (absent
	// when none was given).
	Evaluator *EvaluatorReport `json:"evaluator,omitempty"`
}

// EvaluatorReport is a generator's samples judged by the data set's
// evaluator, and how often it agrees with the classifier.
type EvaluatorReport struct {
	// TestAccuracy is the evaluator's accuracy on the test split.
	TestAccuracy float64 `json:"test_accuracy"`
	// Agreement is the fraction of samples to which the evaluator and the
	// classifier give the same most probable class.
	Agreement float64 `json:"agreement"`
	// MeanTopProb is the mean of the evaluator's largest class probability.
	MeanTopProb float64 `json:"mean_top_prob"`
	// ClassFractions is the fraction of samples per class of the evaluator.
	ClassFractions []float64 `json:"class_fractions"`
	// EvenReward is the mean even-digit reward judged by the evaluator (MNIST only).
	EvenReward *float64 `json:"even_reward,omitempty"`
	// Coverage compares the samples with the first EvaluatorRealImages
	// images of the test split (all classes) in the evaluator's features:
	// precision, recall, density, coverage, the Vendi score and the image
	// statistics, as a run's evaluations record them (absent without test
	// images).
	Coverage *orw.EvaluatorRecord `json:"coverage,omitempty"`
}

// SampleImages draws n images from g with noise from seed, in batches of 250.
func SampleImages(backend compute.Backend, g *orw.Generator, cfg orw.SamplerConfig, n int, seed uint64) (*orw.Images, error) {
	if n <= 0 {
		return nil, fmt.Errorf("the number of samples must be positive, got %d", n)
	}
	rng := orw.NewRNG(seed)
	var all *orw.Images
	for done := 0; done < n; done += 250 {
		m := min(250, n-done)
		noise := orw.SampleNoise(rng.Rand, m*g.SampleSize())
		var labels []int32
		if k := g.NumClasses(); k > 0 {
			labels = make([]int32, m)
			for i := range labels {
				labels[i] = int32((done + i) % k)
			}
		}
		_, imgs, err := g.Sample(backend, cfg, nil, noise, m, labels)
		if err != nil {
			return nil, err
		}
		if all == nil {
			all = &orw.Images{H: imgs.H, W: imgs.W, C: imgs.C}
		}
		all.N += imgs.N
		all.Pix = append(all.Pix, imgs.Pix...)
	}
	return all, nil
}

// EvaluateGenerator samples n images from g and judges them with clf, and with
// the evaluator ev when it is not nil; testImages and testLabels (optional)
// measure the classifiers' own accuracy.
func EvaluateGenerator(backend compute.Backend, g *orw.Generator, clf, ev *Classifier, cfg orw.SamplerConfig, n int, seed uint64, test *orw.Images, testLabels []int) (*GeneratorReport, error) {
	rep := &GeneratorReport{Sampler: cfg, Seed: seed, Samples: n}
	if test != nil {
		acc, err := clf.Accuracy(backend, test, testLabels)
		if err != nil {
			return nil, err
		}
		rep.ClassifierTestAccuracy = acc
	}
	t0 := time.Now()
	imgs, err := SampleImages(backend, g, cfg, n, seed)
	if err != nil {
		return nil, err
	}
	rep.SampleSeconds = time.Since(t0).Seconds()
	probs, err := clf.Probs(backend, imgs)
	if err != nil {
		return nil, err
	}
	rep.ClassFractions = make([]float64, clf.NumClasses())
	even, match := 0.0, 0.0
	k := g.NumClasses()
	for i, p := range probs {
		best := 0
		for j := range p {
			if p[j] > p[best] {
				best = j
			}
		}
		rep.MeanTopProb += p[best] / float64(n)
		rep.ClassFractions[best] += 1 / float64(n)
		even += evenProb(p) / float64(n)
		if k > 0 && best == i%k {
			match += 1 / float64(n)
		}
	}
	if data, _ := clf.Info["data"].(string); data == "mnist" || (data == "" && clf.NumClasses() == 10 && len(clf.ClassNames) > 0 && clf.ClassNames[0] == "0") {
		rep.EvenReward = &even
	}
	if k > 0 {
		rep.LabelAccuracy = &match
	}
	if ev != nil {
		if rep.Evaluator, err = evaluatorReport(backend, clf, ev, imgs, test, testLabels, rep.EvenReward != nil); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// evaluatorReport judges images with the evaluator ev (see EvaluatorReport).
func evaluatorReport(backend compute.Backend, clf, ev *Classifier, imgs, test *orw.Images, testLabels []int, even bool) (*EvaluatorReport, error) {
	if ev.NumClasses() != clf.NumClasses() {
		return nil, fmt.Errorf("the evaluator has %d classes, the classifier %d", ev.NumClasses(), clf.NumClasses())
	}
	er := &EvaluatorReport{ClassFractions: make([]float64, ev.NumClasses())}
	if test != nil {
		acc, err := ev.Accuracy(backend, test, testLabels)
		if err != nil {
			return nil, fmt.Errorf("evaluator: %w", err)
		}
		er.TestAccuracy = acc
	}
	probs, err := ev.Probs(backend, imgs)
	if err != nil {
		return nil, fmt.Errorf("evaluator: %w", err)
	}
	n := float64(len(probs))
	ev0 := 0.0
	for _, p := range probs {
		best := 0
		for j := range p {
			if p[j] > p[best] {
				best = j
			}
		}
		er.MeanTopProb += p[best] / n
		er.ClassFractions[best] += 1 / n
		ev0 += evenProb(p) / n
	}
	if even {
		er.EvenReward = &ev0
	}
	if er.Agreement, err = ClassifierAgreement(backend, clf, ev, imgs); err != nil {
		return nil, err
	}
	if test != nil && test.N > metrics.DefaultNeighbours {
		ref, err := featureReference(backend, ev, test.Slice(0, min(test.N, EvaluatorRealImages)))
		if err != nil {
			return nil, err
		}
		er.Coverage = &orw.EvaluatorRecord{}
		if err := assessCoverage(backend, ev, imgs, ref, er.Coverage); err != nil {
			return nil, err
		}
	}
	return er, nil
}

// evenProb is Σ_k even p(k).
func evenProb(p []float64) float64 {
	s := 0.0
	for k := 0; k < len(p); k += 2 {
		s += p[k]
	}
	return s
}
