package tasks

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/orwcfm/orwcfm/pkg/internal/parallel"
	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/ckpt"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/optim"
	"github.com/orwcfm/orwcfm/pkg/orw/pretrain"
)

// Classifier is a trained image classifier: the judge behind class-based rewards
// (even digits, prompts) and diversity metrics (digit histograms).
type Classifier struct {
	Net    *nets.Classifier
	Params *nets.Params
	// ClassNames names the classes ("0".."9" for digits).
	ClassNames []string
	// Info is provenance stored with the weights (data set, test accuracy, training).
	Info map[string]any

	mu       sync.Mutex
	exec     *Exec
	featExec *Exec // hidden-layer features (Features)
	// lastPix and lastProbs are the last images Probs classified and its answer.
	lastPix   []float32
	lastProbs [][]float64
}

// KindClassifier is the checkpoint kind of classifiers.
const KindClassifier = "classifier"

type classifierMeta struct {
	Schema     int                   `json:"schema"`
	Net        nets.ClassifierConfig `json:"net"`
	ClassNames []string              `json:"class_names"`
	Info       map[string]any        `json:"info,omitempty"`
}

// SaveClassifier writes c as a checkpoint file, atomically.
func SaveClassifier(path string, c *Classifier) error {
	meta := classifierMeta{Schema: 1, Net: c.Net.Config(), ClassNames: c.ClassNames, Info: c.Info}
	return ckpt.Write(path, KindClassifier, meta, c.Params)
}

func classifierFromCheckpoint(ck *ckpt.Checkpoint) (*Classifier, error) {
	if ck.Kind != KindClassifier {
		return nil, fmt.Errorf("checkpoint holds a %q, not a classifier", ck.Kind)
	}
	var meta classifierMeta
	if err := json.Unmarshal(ck.Meta, &meta); err != nil {
		return nil, fmt.Errorf("classifier metadata: %w", err)
	}
	if meta.Schema != 1 {
		return nil, fmt.Errorf("classifier schema %d, this build reads 1", meta.Schema)
	}
	net, err := nets.NewClassifier(meta.Net)
	if err != nil {
		return nil, err
	}
	if err := ck.Params.Match(net.Specs()); err != nil {
		return nil, err
	}
	if len(meta.ClassNames) != meta.Net.NumClasses {
		return nil, fmt.Errorf("classifier has %d classes but %d class names", meta.Net.NumClasses, len(meta.ClassNames))
	}
	return &Classifier{Net: net, Params: ck.Params, ClassNames: meta.ClassNames, Info: meta.Info}, nil
}

// NumClasses is the number of classes.
func (c *Classifier) NumClasses() int { return c.Net.Config().NumClasses }

// ProbsGraph returns, inside a graph, the class probabilities [B, NumClasses]
// of images [B, H, W, C] from the classifier's weights given as nodes (in the
// order of Params). It panics with a clear message when the images do not have
// the classifier's shape.
func (c *Classifier) ProbsGraph(params []*Node, images *Node) *Node {
	want := c.Net.Config().Shape
	if d := images.Shape().Dimensions; len(d) != 4 || d[1] != want[0] || d[2] != want[1] || d[3] != want[2] {
		panic(fmt.Sprintf("classifier expects %dx%dx%d images, got a batch of shape %v", want[0], want[1], want[2], d))
	}
	return Softmax(c.Net.Logits(nets.Bind(c.Net.Specs(), params), images), -1)
}

// probsChunk is the number of images Probs classifies per graph call (the
// convolutions' buffers grow with it); chunks run two at a time.
const probsChunk = 128

// checkImages says what is wrong with images as the classifier's input.
func (c *Classifier) checkImages(images *orw.Images) error {
	if err := images.Validate(); err != nil {
		return err
	}
	want := c.Net.Config().Shape
	if images.H != want[0] || images.W != want[1] || images.C != want[2] {
		return fmt.Errorf("classifier expects %dx%dx%d images, got %dx%dx%d", want[0], want[1], want[2], images.H, images.W, images.C)
	}
	return nil
}

// Probs returns the class probabilities of each image: [N][NumClasses]. It
// remembers its last answer: called again on images with the same pixels (the
// reward and then the judge of an evaluation), it returns that answer without
// running the network again.
func (c *Classifier) Probs(backend compute.Backend, images *orw.Images) ([][]float64, error) {
	if err := c.checkImages(images); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.exec == nil {
		e, err := NewExec(backend, func(in []*Node) *Node {
			return c.ProbsGraph(in[:len(in)-1], in[len(in)-1])
		})
		if err != nil {
			c.mu.Unlock()
			return nil, err
		}
		c.exec = e
	}
	exec := c.exec
	if c.lastPix != nil && slices.Equal(c.lastPix, images.Pix) {
		out := cloneRows(c.lastProbs)
		c.mu.Unlock()
		return out, nil
	}
	c.mu.Unlock()
	out := make([][]float64, images.N)
	chunks := (images.N + probsChunk - 1) / probsChunk
	// On the device before the calls that run side by side (see orw's toDevice).
	for _, t := range c.Params.Tensors {
		if err := t.MaterializeOnDevice(backend, true, 0); err != nil {
			return nil, err
		}
	}
	err := parallel.For(chunks, 2, func(ch int) error {
		i0, i1 := ch*probsChunk, min((ch+1)*probsChunk, images.N)
		rows, err := c.rows(exec, images.Slice(i0, i1))
		if err != nil {
			return fmt.Errorf("classifier: %w", err)
		}
		copy(out[i0:], rows)
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.lastPix, c.lastProbs = slices.Clone(images.Pix), cloneRows(out)
	c.mu.Unlock()
	return out, nil
}

// rows runs exec (the probabilities' or the features' graph) on the images
// with the classifier's weights: one row of outputs per image.
func (c *Classifier) rows(exec *Exec, images *orw.Images) ([][]float64, error) {
	args := make([]any, 0, c.Params.Len()+1)
	for _, t := range c.Params.Tensors {
		args = append(args, t)
	}
	args = append(args, tensors.FromFlatDataAndDimensions(images.Pix, images.N, images.H, images.W, images.C))
	res, err := exec.Call(args...)
	if err != nil {
		return nil, err
	}
	f := nets.Float32s(res[0])
	k := len(f) / images.N
	out := make([][]float64, images.N)
	for i := range out {
		row := make([]float64, k)
		for j := range row {
			row[j] = float64(f[i*k+j])
		}
		out[i] = row
	}
	return out, nil
}

// cloneRows copies a table of rows.
func cloneRows(rows [][]float64) [][]float64 {
	out := make([][]float64, len(rows))
	for i, r := range rows {
		out[i] = slices.Clone(r)
	}
	return out
}

// Predict returns the most probable class of each image and its probability.
func (c *Classifier) Predict(backend compute.Backend, images *orw.Images) ([]int, []float64, error) {
	probs, err := c.Probs(backend, images)
	if err != nil {
		return nil, nil, err
	}
	cls := make([]int, len(probs))
	top := make([]float64, len(probs))
	for i, p := range probs {
		best := 0
		for j := range p {
			if p[j] > p[best] {
				best = j
			}
		}
		cls[i], top[i] = best, p[best]
	}
	return cls, top, nil
}

// Accuracy is the fraction of images classified as their label.
func (c *Classifier) Accuracy(backend compute.Backend, images *orw.Images, labels []int) (float64, error) {
	if len(labels) != images.N {
		return 0, fmt.Errorf("accuracy: %d labels for %d images", len(labels), images.N)
	}
	pred, _, err := c.Predict(backend, images)
	if err != nil {
		return 0, err
	}
	right := 0
	for i := range pred {
		if pred[i] == labels[i] {
			right++
		}
	}
	return float64(right) / float64(len(labels)), nil
}

// CrossEntropyLoss is the softmax cross-entropy of a classifier; its batch is
// images [B, H, W, C] and int32 labels [B].
func CrossEntropyLoss(net *nets.Classifier) optim.LossFn {
	specs := net.Specs()
	k := net.Config().NumClasses
	return func(p, batch []*Node) (*Node, []*Node) {
		logits := net.Logits(nets.Bind(specs, p), batch[0])
		onehot := OneHot(batch[1], k, logits.DType())
		return Neg(ReduceAllMean(ReduceSum(Mul(onehot, LogSoftmax(logits, -1)), -1))), nil
	}
}

// TrainClassifier trains a new classifier on labelled images with Fit.
func TrainClassifier(ctx context.Context, backend compute.Backend, cfg nets.ClassifierConfig, data *pretrain.Dataset, batch int, fit pretrain.FitConfig) (*Classifier, *pretrain.FitResult, error) {
	net, err := nets.NewClassifier(cfg)
	if err != nil {
		return nil, nil, err
	}
	if err := data.Validate(); err != nil {
		return nil, nil, err
	}
	if data.Labels == nil {
		return nil, nil, fmt.Errorf("train classifier: the data set has no labels")
	}
	params := nets.Init(net.Specs(), orw.NewRNG(fit.Seed^0x5eed).Rand)
	res, err := pretrain.Fit(ctx, backend, params, CrossEntropyLoss(net), pretrain.ImageBatcher(data, batch, true), fit)
	if err != nil {
		return nil, res, err
	}
	return &Classifier{Net: net, Params: params}, res, nil
}

// Features returns the activations of the classifier's last hidden layer for
// each image: [N][Hidden], the feature space of the Fréchet distance.
func (c *Classifier) Features(backend compute.Backend, images *orw.Images) ([][]float64, error) {
	if err := c.checkImages(images); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.featExec == nil {
		specs := c.Net.Specs()
		e, err := NewExec(backend, func(in []*Node) *Node { return c.Net.Features(nets.Bind(specs, in[:len(specs)]), in[len(specs)]) })
		if err != nil {
			c.mu.Unlock()
			return nil, err
		}
		c.featExec = e
	}
	exec := c.featExec
	c.mu.Unlock()
	out := make([][]float64, 0, images.N)
	for i0 := 0; i0 < images.N; i0 += probsChunk {
		rows, err := c.rows(exec, images.Slice(i0, min(i0+probsChunk, images.N)))
		if err != nil {
			return nil, fmt.Errorf("classifier features: %w", err)
		}
		out = append(out, rows...)
	}
	return out, nil
}

// SecondHalf returns the second half of a data set, points N/2 to N-1 in the
// set's own order (a view, not a copy): the training images of the evaluators
// (`orw train-classifier --evaluator`), which the reward's classifiers saw
// among all the others.
func SecondHalf(d *pretrain.Dataset) *pretrain.Dataset {
	h := d.N / 2
	size := len(d.X) / d.N
	out := &pretrain.Dataset{X: d.X[h*size:], N: d.N - h, Shape: d.Shape}
	if d.Labels != nil {
		out.Labels = d.Labels[h:]
	}
	return out
}
