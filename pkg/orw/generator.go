package orw

import (
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/orwcfm/orwcfm/pkg/internal/parallel"
	"github.com/orwcfm/orwcfm/pkg/orw/ckpt"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/ode"
)

// Decoder maps points of a flow's space to images in [-1, 1]. A generator whose
// flow lives in pixel space has none.
type Decoder interface {
	// Specs lists the decoder's (frozen) tensors.
	Specs() []nets.ParamSpec
	// Decode maps z [B, flow shape...] to images [B, H, W, C].
	Decode(w *nets.Weights, z *Node) *Node
	// ImageShape is [H, W, C].
	ImageShape() []int
}

// LatentDecoder decodes normalised latent codes with an autoencoder's decoder:
// images = Decode(z·std + mean). The flow is trained on codes normalised to zero
// mean and unit variance per dimension, so that its noise x0 ~ N(0, I) matches
// the data's scale.
type LatentDecoder struct {
	AE *nets.Autoencoder
}

// Specs are the decoder's tensors ("dec/...") and the code statistics
// ("latent/mean", "latent/std").
func (d LatentDecoder) Specs() []nets.ParamSpec {
	n := d.AE.Config().Latent
	return append(d.AE.DecoderSpecs(),
		nets.ParamSpec{Name: "latent/mean", Shape: []int{n}, Init: nets.InitZeros},
		nets.ParamSpec{Name: "latent/std", Shape: []int{n}, Init: nets.InitOnes})
}

// Decode un-normalises z and decodes it.
func (d LatentDecoder) Decode(w *nets.Weights, z *Node) *Node {
	z = Add(Mul(z, InsertAxes(w.Get("latent/std"), 0)), InsertAxes(w.Get("latent/mean"), 0))
	return d.AE.Decode(w, z)
}

// ImageShape is the autoencoder's image shape.
func (d LatentDecoder) ImageShape() []int { return d.AE.Config().Shape }

// Generator turns noise into images: a velocity field over some space, integrated
// from t=0 to t=1, plus an optional decoder from that space to images.
type Generator struct {
	// Flow is the velocity network and Params its weights.
	Flow   nets.Velocity
	Params *nets.Params
	// Decoder is nil when the flow lives in image space; DecoderParams are its frozen weights.
	Decoder       Decoder
	DecoderParams *nets.Params
	// Encoder, when the generator has an autoencoder, maps images to normalised codes;
	// EncoderParams holds "enc/..." and the "latent/..." statistics.
	Encoder       *nets.Autoencoder
	EncoderParams *nets.Params
	// Sampler is the default sampler of this generator.
	Sampler SamplerConfig
	// Meta is free-form provenance stored with the generator (data set, training, timings).
	Meta map[string]any
	// Unbounded turns off the clipping of samples to [-1, 1] (for flows over points
	// rather than images, such as the 2-D toy).
	Unbounded bool

	mu       sync.Mutex
	samplers map[SamplerConfig]*Exec
	decode   *Exec
}

// SampleShape is the shape of one point of the flow's space.
func (g *Generator) SampleShape() []int { return g.Flow.Shape() }

// SampleSize is the number of values of one point of the flow's space.
func (g *Generator) SampleSize() int { return prod(g.Flow.Shape()) }

// ImageShape is [H, W, C] of the generated images.
func (g *Generator) ImageShape() []int {
	if g.Decoder != nil {
		return g.Decoder.ImageShape()
	}
	return g.Flow.Shape()
}

// Latent reports whether the flow lives in a decoder's latent space.
func (g *Generator) Latent() bool { return g.Decoder != nil }

// NumClasses is the number of classes of a class-conditional flow (0: unconditional).
func (g *Generator) NumClasses() int { return g.Flow.Config().NumClasses }

func prod(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// velocityFn binds the flow's weights into the ODE's right-hand side. Every
// sample of a solver step shares its time, so a flow that can use that
// (nets.SharedTimeVelocity) computes its time embedding once per step.
func velocityFn(flow nets.Velocity, w *nets.Weights, labels *Node) ode.VelocityFn {
	return func(t, x *Node) *Node {
		return applyAt(flow, w, ConvertDType(t, dtypes.Float32), x, labels)
	}
}

// applyAt is v(t, x) for one time t (a scalar) shared by the whole batch x.
func applyAt(flow nets.Velocity, w *nets.Weights, t, x, labels *Node) *Node {
	if s, ok := flow.(nets.SharedTimeVelocity); ok {
		return s.ApplyShared(w, t, x, labels)
	}
	return flow.Apply(w, BroadcastToDims(t, x.Shape().Dimensions[0]), x, labels)
}

// clipImages clips decoded or pixel-space samples to the data range [-1, 1].
func clipImages(x *Node) *Node { return ClipScalar(x, -1, 1) }

// GraphReward is a Reward that can also be computed inside a graph: a frozen
// network's function of the images, such as a classifier's probability of a set
// of classes. The trainer then samples, decodes and scores a batch in one
// compiled graph, without taking the images out (Trainer.Step); the result must
// equal Reward's up to float32 rounding.
type GraphReward interface {
	Reward
	// RewardParams are the reward's frozen tensors, fed to RewardGraph as nodes.
	RewardParams() []*tensors.Tensor
	// RewardGraph returns the rewards [B] of images [B, H, W, C] in [-1, 1].
	RewardGraph(params []*Node, images *Node) *Node
}

// sampleGraph integrates the flow from x0 and decodes the end points: it
// returns x1 [B, flow shape...] and the images (x1 itself, clipped unless
// Unbounded, for a pixel-space flow). in holds the flow's weights, then the
// decoder's (none for a pixel-space flow).
func (g *Generator) sampleGraph(cfg SamplerConfig, in []*Node, x0, labels *Node) (x1, images *Node) {
	specs := g.Flow.Specs()
	nf := len(specs)
	x1 = ode.Integrate(cfg.Solver, velocityFn(g.Flow, nets.Bind(specs, in[:nf]), labels), x0, 0, 1, cfg.Steps)
	if g.Decoder == nil {
		if !g.Unbounded {
			x1 = clipImages(x1)
		}
		return x1, x1
	}
	return x1, clipImages(g.Decoder.Decode(nets.Bind(g.Decoder.Specs(), in[nf:]), x1))
}

// decoderTensors are the decoder's weights (none for a pixel-space flow).
func (g *Generator) decoderTensors() []*tensors.Tensor {
	if g.Decoder == nil {
		return nil
	}
	return g.DecoderParams.Tensors
}

// numGraphParams is the number of tensors sampleGraph reads: the flow's and the decoder's.
func (g *Generator) numGraphParams() int {
	n := len(g.Flow.Specs())
	if g.Decoder != nil {
		n += len(g.Decoder.Specs())
	}
	return n
}

// graphArgs lists the flow weights params (nil: the generator's own) and the
// decoder's weights, in the order sampleGraph reads them, with room for extra.
func (g *Generator) graphArgs(params *nets.Params, extra int) []any {
	if params == nil {
		params = g.Params
	}
	args := make([]any, 0, g.numGraphParams()+extra)
	for _, t := range params.Tensors {
		args = append(args, t)
	}
	if g.Decoder != nil {
		for _, t := range g.DecoderParams.Tensors {
			args = append(args, t)
		}
	}
	return args
}

// samplerExec compiles (once per sampler configuration) the graph
// (flow params, decoder params, x0[, labels]) → (x1, images).
func (g *Generator) samplerExec(backend compute.Backend, cfg SamplerConfig) (*Exec, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e, ok := g.samplers[cfg]; ok {
		return e, nil
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	np := g.numGraphParams()
	cond := g.NumClasses() > 0
	exec, err := NewExec(backend, func(in []*Node) []*Node {
		var labels *Node
		if cond {
			labels = in[np+1]
		}
		x1, images := g.sampleGraph(cfg, in[:np], in[np], labels)
		return []*Node{x1, images}
	})
	if err != nil {
		return nil, err
	}
	if g.samplers == nil {
		g.samplers = map[SamplerConfig]*Exec{}
	}
	g.samplers[cfg] = exec
	return exec, nil
}

// scoredSamplerExec compiles the graph (flow params, decoder params, reward
// params, x0[, labels]) → (x1, rewards): sampling, decoding and scoring in one
// call. The caller keeps it (it depends on the reward).
func (g *Generator) scoredSamplerExec(backend compute.Backend, cfg SamplerConfig, reward GraphReward) (*Exec, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	np, nr := g.numGraphParams(), len(reward.RewardParams())
	cond := g.NumClasses() > 0
	return NewExec(backend, func(in []*Node) []*Node {
		var labels *Node
		if cond {
			labels = in[np+nr+1]
		}
		x1, images := g.sampleGraph(cfg, in[:np], in[np+nr], labels)
		if g.Decoder == nil && len(images.Shape().Dimensions) == 2 { // points [B, D] are 1x1 images with D channels
			d := images.Shape().Dimensions
			images = Reshape(images, d[0], 1, 1, d[1])
		}
		r := ConvertDType(reward.RewardGraph(in[np:np+nr], images), dtypes.Float32)
		return []*Node{x1, Reshape(r, x1.Shape().Dimensions[0])}
	})
}

// Sample integrates the flow from the noise x0 (n points of the flow space,
// flattened) with the given flow weights (nil: the generator's own) and returns
// the end points x1 (a tensor [n, shape...], ready to feed a training step) and
// the images. labels are required for a class-conditional flow, ignored otherwise.
func (g *Generator) Sample(backend compute.Backend, cfg SamplerConfig, params *nets.Params, x0 []float32, n int, labels []int32) (*tensors.Tensor, *Images, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if params == nil {
		params = g.Params
	}
	size := g.SampleSize()
	if n <= 0 || len(x0) != n*size {
		return nil, nil, fmt.Errorf("sample: noise has %d values, want %d samples x %d = %d", len(x0), n, size, n*size)
	}
	cond := g.NumClasses() > 0
	if cond && len(labels) != n {
		return nil, nil, fmt.Errorf("sample: the flow is class-conditional (%d classes) and needs %d labels, got %d", g.NumClasses(), n, len(labels))
	}
	exec, err := g.samplerExec(backend, cfg)
	if err != nil {
		return nil, nil, err
	}
	args := g.graphArgs(params, 2)
	if args, err = g.appendInputs(args, x0, n, labels); err != nil {
		return nil, nil, err
	}
	outs, err := exec.Call(args...)
	if err != nil {
		return nil, nil, fmt.Errorf("sample: %w", err)
	}
	return outs[0], imagesFromTensor(outs[1]), nil
}

// appendInputs appends the noise x0 of n points and, for a class-conditional
// flow, their labels (checked) to a graph's arguments.
func (g *Generator) appendInputs(args []any, x0 []float32, n int, labels []int32) ([]any, error) {
	args = append(args, tensors.FromFlatDataAndDimensions(x0, append([]int{n}, g.SampleShape()...)...))
	if g.NumClasses() > 0 {
		for _, l := range labels {
			if l < 0 || int(l) >= g.NumClasses() {
				return nil, fmt.Errorf("sample: label %d out of range 0..%d", l, g.NumClasses()-1)
			}
		}
		args = append(args, tensors.FromFlatDataAndDimensions(labels, n))
	}
	return args, nil
}

// imagesFromTensor views a batch [N, H, W, C] as images; a batch of points
// [N, D] becomes N images of 1×1 pixel with D channels.
func imagesFromTensor(t *tensors.Tensor) *Images {
	d := t.Shape().Dimensions
	if len(d) == 2 {
		return &Images{N: d[0], H: 1, W: 1, C: d[1], Pix: nets.Float32s(t)}
	}
	return &Images{N: d[0], H: d[1], W: d[2], C: d[3], Pix: nets.Float32s(t)}
}

// DecodeImages decodes points of the flow's space to clipped images (for a pixel
// flow it only clips).
func (g *Generator) DecodeImages(backend compute.Backend, z *tensors.Tensor) (*Images, error) {
	if g.Decoder == nil {
		return imagesFromTensor(z), nil
	}
	g.mu.Lock()
	if g.decode == nil {
		specs := g.Decoder.Specs()
		e, err := NewExec(backend, func(in []*Node) *Node {
			return clipImages(g.Decoder.Decode(nets.Bind(specs, in[:len(specs)]), in[len(specs)]))
		})
		if err != nil {
			g.mu.Unlock()
			return nil, err
		}
		g.decode = e
	}
	exec := g.decode
	g.mu.Unlock()
	args := make([]any, 0, g.DecoderParams.Len()+1)
	for _, t := range g.DecoderParams.Tensors {
		args = append(args, t)
	}
	args = append(args, z)
	out, err := exec.Call(args...)
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return imagesFromTensor(out[0]), nil
}

// generatorSchema is the version of the generator checkpoint metadata.
const generatorSchema = 1

// generatorMeta is stored in a generator checkpoint.
type generatorMeta struct {
	Schema      int                     `json:"schema"`
	Flow        nets.Config             `json:"flow"`
	Autoencoder *nets.AutoencoderConfig `json:"autoencoder,omitempty"`
	Sampler     SamplerConfig           `json:"sampler"`
	Unbounded   bool                    `json:"unbounded,omitempty"`
	Info        map[string]any          `json:"info,omitempty"`
}

// kindGenerator is the checkpoint kind of generators.
const kindGenerator = "generator"

// SaveGenerator writes g (flow, decoder, encoder, sampler defaults and Meta) as a
// checkpoint file, atomically.
func SaveGenerator(path string, g *Generator) error {
	meta := generatorMeta{Schema: generatorSchema, Flow: g.Flow.Config(), Sampler: g.Sampler, Info: g.Meta, Unbounded: g.Unbounded}
	parts := []*nets.Params{g.Params.Prefixed("flow")}
	if g.Encoder != nil {
		cfg := g.Encoder.Config()
		meta.Autoencoder = &cfg
		parts = append(parts, g.DecoderParams.Prefixed("ae"), onlyPrefix(g.EncoderParams, "enc").Prefixed("ae"))
	}
	return ckpt.Write(path, kindGenerator, meta, nets.Merge(parts...))
}

func onlyPrefix(p *nets.Params, prefix string) *nets.Params {
	return p.Sub(prefix).Prefixed(prefix)
}

// LoadGenerator reads a generator checkpoint and checks its tensors against the
// networks its metadata describes.
func LoadGenerator(path string) (*Generator, error) {
	c, err := ckpt.Read(path)
	if err != nil {
		return nil, err
	}
	g, err := GeneratorFromCheckpoint(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// GeneratorFromCheckpoint rebuilds a generator from a decoded checkpoint.
func GeneratorFromCheckpoint(c *ckpt.Checkpoint) (*Generator, error) {
	if c.Kind != kindGenerator {
		return nil, fmt.Errorf("checkpoint holds a %q, not a generator", c.Kind)
	}
	var meta generatorMeta
	if err := json.Unmarshal(c.Meta, &meta); err != nil {
		return nil, fmt.Errorf("generator metadata: %w", err)
	}
	if meta.Schema != generatorSchema {
		return nil, fmt.Errorf("generator schema %d, this build reads %d", meta.Schema, generatorSchema)
	}
	flow, err := nets.New(meta.Flow)
	if err != nil {
		return nil, err
	}
	g := &Generator{Flow: flow, Params: c.Params.Sub("flow"), Sampler: meta.Sampler, Meta: meta.Info, Unbounded: meta.Unbounded}
	if err := g.Params.Match(flow.Specs()); err != nil {
		return nil, fmt.Errorf("flow: %w", err)
	}
	if meta.Autoencoder != nil {
		ae, err := nets.NewAutoencoder(*meta.Autoencoder)
		if err != nil {
			return nil, err
		}
		if !slices.Equal([]int{ae.Config().Latent}, flow.Shape()) {
			return nil, fmt.Errorf("flow shape %v does not match the %d-dimensional latent space", flow.Shape(), ae.Config().Latent)
		}
		all := c.Params.Sub("ae")
		dec := LatentDecoder{AE: ae}
		g.Decoder, g.Encoder = dec, ae
		g.DecoderParams = nets.Merge(onlyPrefix(all, "dec"), onlyPrefix(all, "latent"))
		if err := g.DecoderParams.Match(dec.Specs()); err != nil {
			return nil, fmt.Errorf("decoder: %w", err)
		}
		g.EncoderParams = nets.Merge(onlyPrefix(all, "enc"), onlyPrefix(all, "latent"))
		if err := g.EncoderParams.Match(encoderSpecs(ae)); err != nil {
			return nil, fmt.Errorf("encoder: %w", err)
		}
	}
	if g.Sampler.Steps == 0 {
		g.Sampler = DefaultConfig().Sampler
	}
	return g, g.Sampler.Validate()
}

// encoderSpecs are the encoder's tensors and the code statistics.
func encoderSpecs(ae *nets.Autoencoder) []nets.ParamSpec {
	n := ae.Config().Latent
	return append(ae.EncoderSpecs(),
		nets.ParamSpec{Name: "latent/mean", Shape: []int{n}, Init: nets.InitZeros},
		nets.ParamSpec{Name: "latent/std", Shape: []int{n}, Init: nets.InitOnes})
}

// WithParams returns a generator like g with other flow weights (a fine-tuned
// version of g); networks and decoder are shared.
func (g *Generator) WithParams(params *nets.Params) *Generator {
	return &Generator{Flow: g.Flow, Params: params, Decoder: g.Decoder, DecoderParams: g.DecoderParams,
		Encoder: g.Encoder, EncoderParams: g.EncoderParams, Sampler: g.Sampler, Meta: g.Meta, Unbounded: g.Unbounded}
}

// sampleChunk is the largest batch SampleInChunks sends through the sampler at
// once: decoders and classifiers built from convolutions hold an im2col buffer of
// about 0.5 MB per image, so large batches are cut to keep memory flat.
const sampleChunk = 256

// maxChunkWorkers bounds how many chunks run at once (each holds its own
// buffers); runtime.GOMAXPROCS bounds it too.
const maxChunkWorkers = 4

// chunkWorkers is how many chunks of sampling or scoring run at once (see
// parallel.For): min(GOMAXPROCS, maxChunkWorkers). Chunks write their results
// by index, so what they compute does not depend on how many ran at once: the
// Go backend leaves one core idle through most single operations (only matrix
// products are split across cores), and running two graph calls side by side
// fills both.
func chunkWorkers() int { return min(runtime.GOMAXPROCS(0), maxChunkWorkers) }

// toDevice puts tensors on the backend's device ahead of graph calls that run side
// by side: a graph call moves a host tensor to the device itself, and two calls
// that do it for the same tensor at once can find it, for an instant, in neither
// place ("Tensor has no local or on-device representation"). A tensor already
// there is left as it is.
func toDevice(backend compute.Backend, groups ...[]*tensors.Tensor) error {
	for _, ts := range groups {
		for _, t := range ts {
			if err := t.MaterializeOnDevice(backend, true, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// SampleInChunks is Sample for any n: it samples sampleChunk points at a time
// (several chunks at once, see chunkWorkers) and returns the concatenated end
// points (flattened) and images.
func (g *Generator) SampleInChunks(backend compute.Backend, cfg SamplerConfig, params *nets.Params, x0 []float32, n int, labels []int32) ([]float32, *Images, error) {
	size := g.SampleSize()
	if len(x0) != n*size {
		return nil, nil, fmt.Errorf("sample: noise has %d values, want %d samples x %d = %d", len(x0), n, size, n*size)
	}
	chunks := (n + sampleChunk - 1) / sampleChunk
	xs := make([]*tensors.Tensor, chunks)
	ims := make([]*Images, chunks)
	if params == nil {
		params = g.Params
	}
	if err := toDevice(backend, params.Tensors, g.decoderTensors()); err != nil {
		return nil, nil, err
	}
	err := parallel.For(chunks, chunkWorkers(), func(c int) error {
		i0, i1 := c*sampleChunk, min((c+1)*sampleChunk, n)
		var l []int32
		if labels != nil {
			l = labels[i0:i1]
		}
		var err error
		xs[c], ims[c], err = g.Sample(backend, cfg, params, x0[i0*size:i1*size], i1-i0, l)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	x1 := make([]float32, 0, n*size)
	var all *Images
	for c, imgs := range ims {
		x1 = append(x1, nets.Float32s(xs[c])...)
		if all == nil {
			all = &Images{H: imgs.H, W: imgs.W, C: imgs.C, Pix: make([]float32, 0, n*imgs.Size())}
		}
		all.N += imgs.N
		all.Pix = append(all.Pix, imgs.Pix...)
	}
	return x1, all, nil
}

// NewLatentGenerator assembles a latent generator from a trained autoencoder
// (encoder and decoder weights), the code statistics and a flow.
func NewLatentGenerator(ae *nets.Autoencoder, aeParams *nets.Params, mean, std []float32, flow nets.Velocity, flowParams *nets.Params, sampler SamplerConfig) (*Generator, error) {
	stats := &nets.Params{
		Names:   []string{"latent/mean", "latent/std"},
		Tensors: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(mean, len(mean)), tensors.FromFlatDataAndDimensions(std, len(std))},
	}
	dec := LatentDecoder{AE: ae}
	g := &Generator{
		Flow: flow, Params: flowParams, Decoder: dec, Encoder: ae, Sampler: sampler,
		DecoderParams: nets.Merge(onlyPrefix(aeParams, "dec"), stats),
		EncoderParams: nets.Merge(onlyPrefix(aeParams, "enc"), stats),
	}
	if err := g.DecoderParams.Match(dec.Specs()); err != nil {
		return nil, err
	}
	if err := g.EncoderParams.Match(encoderSpecs(ae)); err != nil {
		return nil, err
	}
	return g, g.Params.Match(flow.Specs())
}
