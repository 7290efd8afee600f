// Package pretrain trains the base models that fine-tuning starts from: flows
// with the plain CFM objective, autoencoders for latent flows, and (through
// the same Fit) classifiers. Every run goes through the one training loop of
// package train, with checkpoints and resumption.
package pretrain

import (
	"context"
	"fmt"
	"math"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/optim"
)

// Dataset is a set of training points in a flow's space (images in [-1, 1], or
// normalised latent codes), flattened, with optional class labels.
type Dataset struct {
	// X holds N points of Shape each.
	X     []float32
	N     int
	Shape []int
	// Labels are the classes of the points (nil when unlabelled).
	Labels []int32
}

// Validate checks sizes and labels.
func (d *Dataset) Validate() error {
	if d.N <= 0 || len(d.X) != d.N*prod(d.Shape) {
		return fmt.Errorf("dataset: %d values for %d points of shape %v", len(d.X), d.N, d.Shape)
	}
	if d.Labels != nil && len(d.Labels) != d.N {
		return fmt.Errorf("dataset: %d labels for %d points", len(d.Labels), d.N)
	}
	return nil
}

// gather copies the rows idx of d into a new batch.
func (d *Dataset) gather(idx []int) ([]float32, []int32) {
	size := prod(d.Shape)
	x := make([]float32, len(idx)*size)
	var l []int32
	if d.Labels != nil {
		l = make([]int32, len(idx))
	}
	for i, j := range idx {
		copy(x[i*size:(i+1)*size], d.X[j*size:(j+1)*size])
		if l != nil {
			l[i] = d.Labels[j]
		}
	}
	return x, l
}

// CFMBatcher draws minibatches for CFMLoss: x1 uniformly from data (with
// replacement), x0 ~ N(0, I) paired by the coupling, t ~ U(0, 1).
func CFMBatcher(data *Dataset, batch int, coupling orw.Coupling) Batcher {
	size := prod(data.Shape)
	dims := append([]int{batch}, data.Shape...)
	return func(rng *orw.RNG, _ int64) ([]*tensors.Tensor, error) {
		idx := make([]int, batch)
		for i := range idx {
			idx[i] = rng.IntN(data.N)
		}
		x1, labels := data.gather(idx)
		x0 := orw.SampleNoise(rng.Rand, batch*size)
		perm, err := coupling.Pair(x0, x1, batch)
		if err != nil {
			return nil, err
		}
		x0 = orw.Permute(x0, batch, perm)
		t := orw.SampleTimes(rng.Rand, batch)
		out := []*tensors.Tensor{
			tensors.FromFlatDataAndDimensions(x1, dims...),
			tensors.FromFlatDataAndDimensions(x0, dims...),
			tensors.FromFlatDataAndDimensions(t, batch),
		}
		if labels != nil {
			out = append(out, tensors.FromFlatDataAndDimensions(labels, batch))
		}
		return out, nil
	}
}

// AutoencoderLoss is the mean squared reconstruction error of an autoencoder;
// its batch input is one image tensor [B, H, W, C].
func AutoencoderLoss(ae *nets.Autoencoder) optim.LossFn {
	specs := append(ae.EncoderSpecs(), ae.DecoderSpecs()...)
	return func(p, batch []*Node) (*Node, []*Node) {
		w := nets.Bind(specs, p)
		x := batch[0]
		return ReduceAllMean(Square(Sub(ae.Decode(w, ae.Encode(w, x)), x))), nil
	}
}

// ImageBatcher draws minibatches of images (with replacement) from data, plus the
// labels when labelled is true.
func ImageBatcher(data *Dataset, batch int, labelled bool) Batcher {
	dims := append([]int{batch}, data.Shape...)
	return func(rng *orw.RNG, _ int64) ([]*tensors.Tensor, error) {
		idx := make([]int, batch)
		for i := range idx {
			idx[i] = rng.IntN(data.N)
		}
		x, labels := data.gather(idx)
		out := []*tensors.Tensor{tensors.FromFlatDataAndDimensions(x, dims...)}
		if labelled {
			if labels == nil {
				return nil, fmt.Errorf("the data set has no labels")
			}
			out = append(out, tensors.FromFlatDataAndDimensions(labels, batch))
		}
		return out, nil
	}
}

// EncodeDataset encodes images with an autoencoder's encoder (params "enc/..."),
// in chunks, and returns the raw codes.
func EncodeDataset(backend compute.Backend, ae *nets.Autoencoder, encParams *nets.Params, data *Dataset, chunk int) (*Dataset, error) {
	specs := ae.EncoderSpecs()
	enc := encParams.Sub("enc").Prefixed("enc")
	if err := enc.Match(specs); err != nil {
		return nil, err
	}
	exec, err := NewExec(backend, func(in []*Node) *Node {
		return ae.Encode(nets.Bind(specs, in[:len(specs)]), in[len(specs)])
	})
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	latent := ae.Config().Latent
	out := &Dataset{N: data.N, Shape: []int{latent}, Labels: data.Labels, X: make([]float32, 0, data.N*latent)}
	size := prod(data.Shape)
	for i0 := 0; i0 < data.N; i0 += chunk {
		i1 := min(i0+chunk, data.N)
		args := make([]any, 0, len(specs)+1)
		for _, t := range enc.Tensors {
			args = append(args, t)
		}
		args = append(args, tensors.FromFlatDataAndDimensions(data.X[i0*size:i1*size], append([]int{i1 - i0}, data.Shape...)...))
		z, err := exec.Call(args...)
		if err != nil {
			return nil, fmt.Errorf("encoding: %w", err)
		}
		out.X = append(out.X, nets.Float32s(z[0])...)
	}
	return out, nil
}

// Standardize returns the per-dimension mean and standard deviation of codes and
// the codes normalised with them.
func Standardize(codes *Dataset) (mean, std []float32, normalised *Dataset) {
	d := prod(codes.Shape)
	m := make([]float64, d)
	s := make([]float64, d)
	for i := 0; i < codes.N; i++ {
		for k := 0; k < d; k++ {
			m[k] += float64(codes.X[i*d+k])
		}
	}
	for k := range m {
		m[k] /= float64(codes.N)
	}
	for i := 0; i < codes.N; i++ {
		for k := 0; k < d; k++ {
			diff := float64(codes.X[i*d+k]) - m[k]
			s[k] += diff * diff
		}
	}
	mean, std = make([]float32, d), make([]float32, d)
	for k := range m {
		mean[k] = float32(m[k])
		std[k] = float32(math.Max(math.Sqrt(s[k]/float64(codes.N)), 1e-6))
	}
	normalised = &Dataset{N: codes.N, Shape: codes.Shape, Labels: codes.Labels, X: make([]float32, len(codes.X))}
	for i := 0; i < codes.N; i++ {
		for k := 0; k < d; k++ {
			normalised.X[i*d+k] = (codes.X[i*d+k] - mean[k]) / std[k]
		}
	}
	return mean, std, normalised
}

// TrainFlow pretrains a flow on data with CFM; a thin wrapper of Fit.
func TrainFlow(ctx context.Context, backend compute.Backend, flow nets.Velocity, params *nets.Params, data *Dataset, batch int, coupling orw.Coupling, cfg FitConfig) (*FitResult, error) {
	if err := data.Validate(); err != nil {
		return nil, err
	}
	return Fit(ctx, backend, params, orw.CFMLoss(flow), CFMBatcher(data, batch, coupling), cfg)
}

func prod(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}
