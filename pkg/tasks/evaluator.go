package tasks

import (
	"fmt"
	"slices"
	"sync"

	"github.com/gomlx/compute"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/metrics"
	"github.com/orwcfm/orwcfm/pkg/tasks/datasets"
)

// The evaluator of a task ("evaluation is not the reward", docs/models.md) is a
// second classifier of the task's data set, trained apart from the reward's
// classifier: another layout (nets.EvaluatorClassifierConfig), another half of
// the training split (SecondHalf) and another seed (`orw train-classifier
// --evaluator`; docs/models.md). It is never a reward: a run's evaluations
// use it to recompute the reward, count classes and measure coverage in its
// own features, so that a run that learns the reward classifier's blind spots
// shows a gap between the two.

// ShippedEvaluator returns the shipped evaluator of a data set ("mnist" loads
// mnist-evaluator.ckpt), or loads an evaluator checkpoint when ref ends in
// .ckpt. MNIST and Fashion-MNIST ship one; CIFAR-10 has none unless the user
// trains it (`orw train-classifier --task cifar10 --evaluator --data DIR`,
// which writes cifar10-evaluator.ckpt in the current directory).
func ShippedEvaluator(ref string) (*Classifier, error) {
	return shippedClassifier(ref, "-evaluator.ckpt")
}

// EvaluatorRealImages is the most real test images whose evaluator features
// are the reference of an evaluation's precision, recall, density and
// coverage: the first ones of the test split (in the split's order) whose
// label is among the reward's classes, or the first ones of the whole split
// for a reward without classes. A thousand keeps the k-NN computations of an
// evaluation of 1,000 samples cheap.
const EvaluatorRealImages = 1000

// ClassifierRewarder is the optional interface of a classifier-based reward
// that can be recomputed with another classifier of the same classes (the
// task's evaluator): ClassSetReward, PromptReward (two-sided or not) and a
// Composite with such a term.
type ClassifierRewarder interface {
	// WithClassifier returns the same reward judged by c, or nil when no part
	// of it is judged by a classifier.
	WithClassifier(c *Classifier) orw.Reward
}

// WithClassifier returns the weighted sum with every classifier-based term
// judged by c and the other terms unchanged (ClassifierRewarder), or nil when
// no term is classifier-based.
func (c *Composite) WithClassifier(cl *Classifier) orw.Reward {
	out := &Composite{Terms: slices.Clone(c.Terms)}
	swapped := false
	for i, t := range out.Terms {
		if cr, ok := t.Reward.(ClassifierRewarder); ok {
			if r := cr.WithClassifier(cl); r != nil {
				out.Terms[i].Reward, swapped = r, true
			}
		}
	}
	if !swapped {
		return nil
	}
	return out
}

// RewardedClasses are the classes the sum favours (ClassRewarder): those of
// its terms of positive weight that favour classes, in increasing order; nil
// when no such term is there. "class:3=1,class:5=-1" favours 3;
// "jpeg=0.5,even=0.5" the even digits.
func (c *Composite) RewardedClasses() []int {
	var out []int
	for _, t := range c.Terms {
		if cr, ok := t.Reward.(ClassRewarder); ok && t.Weight > 0 {
			out = append(out, cr.RewardedClasses()...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// WithClassifier returns the reward judged by c (ClassifierRewarder).
func (r ClassSetReward) WithClassifier(c *Classifier) orw.Reward {
	r.Classifier = c
	return r
}

// WithClassifier returns the reward judged by c (ClassifierRewarder), two-sided
// when r is.
func (r PromptReward) WithClassifier(c *Classifier) orw.Reward {
	r.Classifier = c
	return r
}

// EvaluatorJudge is the judge of a task with an evaluator: a ClassifierJudge
// (the reward's classifier sorts the samples into classes and gives the
// Fréchet distance) that also assesses every evaluation's samples with the
// evaluator (Assess).
type EvaluatorJudge struct {
	ClassifierJudge
	// Evaluator is the task's evaluator (ShippedEvaluator), of the same
	// classes as the judge's classifier.
	Evaluator *Classifier
	// Reward is the run's reward. When it is a ClassifierRewarder, Assess
	// recomputes it with the evaluator; its classes (ClassRewarder) choose the
	// real images of the coverage metrics.
	Reward orw.Reward
}

// NewEvaluatorJudge returns the judge j with the evaluator ev, for a run whose
// reward is reward. It errors when the evaluator does not fit the judge's
// classifier (another data set, other classes or image shape) or when Data is empty (the real
// images of the coverage metrics come from the data set's test split).
func NewEvaluatorJudge(j ClassifierJudge, ev *Classifier, reward orw.Reward) (*EvaluatorJudge, error) {
	if ev == nil || j.Classifier == nil {
		return nil, fmt.Errorf("evaluator judge: needs a classifier and an evaluator")
	}
	if j.Data == "" {
		return nil, fmt.Errorf("evaluator judge: the judge names no data set for the real images")
	}
	if a, _ := ev.Info["data"].(string); a != "" {
		if b, _ := j.Classifier.Info["data"].(string); b != "" && a != b {
			return nil, fmt.Errorf("evaluator judge: the evaluator was trained on %q, the classifier on %q", a, b)
		}
	}
	if ev.NumClasses() != j.Classifier.NumClasses() {
		return nil, fmt.Errorf("evaluator judge: the evaluator has %d classes, the classifier %d", ev.NumClasses(), j.Classifier.NumClasses())
	}
	if a, b := ev.Net.Config().Shape, j.Classifier.Net.Config().Shape; !slices.Equal(a, b) {
		return nil, fmt.Errorf("evaluator judge: the evaluator takes images of shape %v, the classifier %v", a, b)
	}
	return &EvaluatorJudge{ClassifierJudge: j, Evaluator: ev, Reward: reward}, nil
}

// rewardClasses are the classes the reward favours (nil: none, or a reward
// that is not a ClassRewarder).
func (j *EvaluatorJudge) rewardClasses() []int {
	if cr, ok := j.Reward.(ClassRewarder); ok {
		return cr.RewardedClasses()
	}
	return nil
}

// Assess judges images with the evaluator: the reward recomputed with it (nil
// when the reward is not classifier-based: JPEG, target; a sum of rewards has
// its classifier-based terms recomputed), its class counts,
// precision, recall, density and coverage (k = metrics.DefaultNeighbours) of
// its last-hidden-layer features against those of at most
// EvaluatorRealImages real test images of the reward's classes (all classes
// when the reward has none), the Vendi score of the samples' features and
// their image statistics. orw fills the record's HackingGap. The Vendi score
// leaves out samples whose features are all zero (no ReLU unit fires: the
// cosine kernel has no direction for them), and is 0 when every sample's are.
func (j *EvaluatorJudge) Assess(images *orw.Images) (*orw.EvaluatorRecord, error) {
	if images == nil {
		return nil, fmt.Errorf("evaluator: no images")
	}
	if err := j.Evaluator.checkImages(images); err != nil {
		return nil, fmt.Errorf("evaluator: %w", err)
	}
	rec := &orw.EvaluatorRecord{Neighbours: metrics.DefaultNeighbours}
	var evReward orw.Reward
	if cr, ok := j.Reward.(ClassifierRewarder); ok {
		evReward = cr.WithClassifier(j.Evaluator)
	}
	if evReward != nil {
		r, err := evReward.Reward(images)
		if err != nil {
			return nil, fmt.Errorf("evaluator reward: %w", err)
		}
		if err := orw.CheckRewards(r, images.N); err != nil {
			return nil, fmt.Errorf("evaluator reward: %w", err)
		}
		m := 0.0
		for _, v := range r {
			m += v
		}
		m /= float64(len(r))
		rec.Reward = &m
	}
	cls, _, err := j.Evaluator.Predict(j.Backend, images)
	if err != nil {
		return nil, fmt.Errorf("evaluator: %w", err)
	}
	rec.ClassCounts = make([]int, j.Evaluator.NumClasses())
	for _, c := range cls {
		rec.ClassCounts[c]++
	}
	ref, err := j.realReference()
	if err != nil {
		return nil, err
	}
	if err := assessCoverage(j.Backend, j.Evaluator, images, ref, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// assessCoverage fills rec's coverage metrics, Vendi score and image
// statistics: the images' features by the evaluator ev against ref, the
// real images' features (see EvaluatorJudge.Assess).
func assessCoverage(backend compute.Backend, ev *Classifier, images *orw.Images, ref *metrics.Reference, rec *orw.EvaluatorRecord) error {
	fake, err := ev.Features(backend, images)
	if err != nil {
		return fmt.Errorf("evaluator: %w", err)
	}
	s, err := ref.Compare(fake)
	if err != nil {
		return fmt.Errorf("evaluator precision, recall, density and coverage: %w", err)
	}
	rec.Neighbours = metrics.DefaultNeighbours
	rec.Precision, rec.Recall, rec.Density, rec.Coverage = s.Precision, s.Recall, s.Density, s.Coverage
	if nz := nonZeroRows(fake); len(nz) > 0 {
		if rec.Vendi, err = metrics.Vendi(nz); err != nil {
			return fmt.Errorf("evaluator Vendi score: %w", err)
		}
	}
	rec.Image = metrics.ImageStatsOf(images.Pix, images.N, images.H, images.W, images.C)
	return nil
}

// Agreement is the fraction of images to which the judge's classifier and the
// evaluator give the same most probable class.
func (j *EvaluatorJudge) Agreement(images *orw.Images) (float64, error) {
	return ClassifierAgreement(j.Backend, j.Classifier, j.Evaluator, images)
}

// realKeyEv identifies a cache entry of real evaluator features.
type realKeyEv struct {
	ev        *Classifier
	data, dir string
	classes   string
}

// realReferenceCache holds, per evaluator, data set and class set, the
// evaluator features of the real reference images and their neighbourhoods
// (one pass over at most EvaluatorRealImages images, once per process).
var realReferenceCache sync.Map // realKeyEv → *realRefEntry

type realRefEntry struct {
	once sync.Once
	ref  *metrics.Reference
	err  error
}

// realReference returns the evaluator features of the real reference
// images, as the reference of the coverage metrics.
func (j *EvaluatorJudge) realReference() (*metrics.Reference, error) {
	classes := j.rewardClasses()
	v, _ := realReferenceCache.LoadOrStore(realKeyEv{j.Evaluator, j.Data, j.DataDir, fmt.Sprint(classes)}, &realRefEntry{})
	e := v.(*realRefEntry)
	e.once.Do(func() {
		set, err := LoadData(j.Data, j.DataDir, datasets.Test)
		if err != nil {
			e.err = fmt.Errorf("evaluator: the real test images: %w", err)
			return
		}
		imgs, err := realImages(set, classes, EvaluatorRealImages)
		if err != nil {
			e.err = fmt.Errorf("evaluator: %w", err)
			return
		}
		e.ref, e.err = featureReference(j.Backend, j.Evaluator, imgs)
	})
	return e.ref, e.err
}

// featureReference is the coverage metrics' reference of the real images:
// their features by the evaluator ev, with k = metrics.DefaultNeighbours.
func featureReference(backend compute.Backend, ev *Classifier, real *orw.Images) (*metrics.Reference, error) {
	f, err := ev.Features(backend, real)
	if err != nil {
		return nil, fmt.Errorf("evaluator: features of the real test images: %w", err)
	}
	return metrics.NewReference(f, metrics.DefaultNeighbours)
}

// realImages returns the first (at most) n images of set whose label is in
// classes (all images when classes is empty), in the set's order.
func realImages(set *datasets.Set, classes []int, n int) (*orw.Images, error) {
	im := set.Images
	size := im.H * im.W * im.C
	var idx []int
	for i := 0; i < im.N && len(idx) < n; i++ {
		if len(classes) == 0 || (set.Labels != nil && slices.Contains(classes, set.Labels[i])) {
			idx = append(idx, i)
		}
	}
	if len(classes) > 0 && set.Labels == nil {
		return nil, fmt.Errorf("the %s test split has no labels to pick the classes %v", set.Name, classes)
	}
	if len(idx) <= metrics.DefaultNeighbours {
		return nil, fmt.Errorf("only %d real test images of the classes %v (need more than %d)", len(idx), classes, metrics.DefaultNeighbours)
	}
	all := im.Float32(0, im.N)
	out := &orw.Images{N: len(idx), H: im.H, W: im.W, C: im.C, Pix: make([]float32, 0, len(idx)*size)}
	for _, i := range idx {
		out.Pix = append(out.Pix, all[i*size:(i+1)*size]...)
	}
	return out, nil
}

// ClassifierAgreement is the fraction of images to which two classifiers of
// the same classes give the same most probable class.
func ClassifierAgreement(backend compute.Backend, a, b *Classifier, images *orw.Images) (float64, error) {
	if a.NumClasses() != b.NumClasses() {
		return 0, fmt.Errorf("agreement: the classifiers have %d and %d classes", a.NumClasses(), b.NumClasses())
	}
	// b's accuracy with a's answers as the labels.
	pa, _, err := a.Predict(backend, images)
	if err != nil {
		return 0, err
	}
	return b.Accuracy(backend, images, pa)
}

// nonZeroRows returns the rows of x that are not all zeros.
func nonZeroRows(x [][]float64) [][]float64 {
	out := make([][]float64, 0, len(x))
	for _, r := range x {
		if slices.ContainsFunc(r, func(v float64) bool { return v != 0 }) {
			out = append(out, r)
		}
	}
	return out
}
