package orw

import (
	"fmt"
	"math"
	"sync"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/orwcfm/orwcfm/pkg/internal/parallel"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
)

// sampleSource is where step 2 of Algorithm 1 draws x1 from: the policy
// snapshot (the online methods, ORW and RAFT) or a fixed pool of base-model
// samples (the offline baselines, RW-CFM and ReFT). MethodSpec.source chooses
// it.
type sampleSource interface {
	// prepare readies the source before a step: the offline pool is drawn
	// before the first one.
	prepare(tr *Trainer) error
	// draw returns the Batch points x1 of the trainer's current step, with
	// their rewards r(x1).
	draw(tr *Trainer) (*Samples, error)
}

// source is the sample source that the method draws x1 from.
func (s MethodSpec) source() sampleSource {
	if s.Online {
		return &onlineSnapshot{keep: s.Keep}
	}
	return &offlinePool{keep: s.Keep}
}

// onlineSnapshot draws x1 from the policy snapshot: ceil(Batch/keep)
// candidates, of which it keeps the best Batch (all of them when keep is 1).
// The draws are made ahead, a block at a time (drawahead.go).
type onlineSnapshot struct {
	keep  float64
	block *onlineBlock // online draws made ahead from the current snapshot
}

// prepare does nothing: the snapshot is the trainer's.
func (*onlineSnapshot) prepare(*Trainer) error { return nil }

// draw returns the best Batch of the current step's candidates.
func (o *onlineSnapshot) draw(tr *Trainer) (*Samples, error) {
	b := tr.cfg.Batch
	c := int(math.Ceil(float64(b) / o.keep))
	cand, err := o.candidates(tr, c)
	if err != nil {
		return nil, err
	}
	if c == b {
		return cand, nil
	}
	return cand.Best(b), nil
}

// offlinePool draws x1 uniformly, with replacement, from a fixed pool of
// samples of the base model, drawn once with their rewards; the pool keeps
// the best keep fraction of PoolSize draws (all of them when keep is 1).
type offlinePool struct {
	keep    float64
	samples *Samples // nil until prepare (or Trainer.SetPool)
}

// prepare draws the pool from the base model, once, with its own random
// stream (a function of the seed alone).
func (o *offlinePool) prepare(tr *Trainer) error {
	if o.samples != nil {
		return nil
	}
	rng := NewRNG(tr.cfg.Seed + poolSeedOffset)
	base := tr.env.Base
	n := tr.cfg.PoolSize
	noise := make([]float32, 0, n*base.SampleSize())
	var labels []int32
	for done := 0; done < n; done += sampleChunk { // the noise and labels of each chunk of 256, in turn
		m := min(sampleChunk, n-done)
		noise = append(noise, SampleNoise(rng.Rand, m*base.SampleSize())...)
		labels = append(labels, drawLabels(rng, base.NumClasses(), m)...)
	}
	p, err := tr.scoreInChunks(nil, noise, labels, n)
	if err != nil {
		return err
	}
	if o.keep < 1 {
		p = p.Best(max(1, int(math.Ceil(float64(p.Len())*o.keep))))
	}
	o.samples = p
	return nil
}

// draw picks Batch points of the pool with the run's random stream.
func (o *offlinePool) draw(tr *Trainer) (*Samples, error) {
	idx := make([]int, tr.cfg.Batch)
	for i := range idx {
		idx[i] = tr.rng.IntN(o.samples.Len())
	}
	return o.samples.Gather(idx), nil
}

// drawLabels draws uniform class labels for a flow with k classes (nil when k is 0).
func drawLabels(rng *RNG, k, n int) []int32 {
	if k == 0 {
		return nil
	}
	l := make([]int32, n)
	for i := range l {
		l[i] = int32(rng.IntN(k))
	}
	return l
}

// scoreChunk is the number of points sampled, decoded and scored per graph
// call: small enough that two calls run side by side on two cores (chunkWorkers),
// large enough for efficient matrix products.
const scoreChunk = 64

// scoreInChunks samples n points from the generator with weights params (nil:
// the base model) from the given noise and labels, and scores them, scoreChunk
// points per call and several calls at once. A GraphReward is computed inside
// the sampling graph; any other reward is called on each chunk's images, one
// call at a time. Each point's value depends only on its own noise and chunk,
// never on the number of calls running at once.
func (tr *Trainer) scoreInChunks(params *nets.Params, noise []float32, labels []int32, n int) (*Samples, error) {
	base := tr.env.Base
	if params == nil {
		params = base.Params
	}
	size := base.SampleSize()
	gr, fused := tr.env.Reward.(GraphReward)
	if fused && tr.scored == nil {
		e, err := base.scoredSamplerExec(tr.env.Backend, tr.cfg.Sampler, gr)
		if err != nil {
			return nil, err
		}
		tr.scored = e
	}
	var rewardParams []*tensors.Tensor
	if fused {
		rewardParams = gr.RewardParams()
	}
	if err := toDevice(tr.env.Backend, params.Tensors, base.decoderTensors(), rewardParams); err != nil {
		return nil, err
	}
	x1 := make([]float32, n*size)
	r := make([]float64, n)
	var rewardMu sync.Mutex
	chunks := (n + scoreChunk - 1) / scoreChunk
	err := parallel.For(chunks, chunkWorkers(), func(ch int) error {
		i0, i1 := ch*scoreChunk, min((ch+1)*scoreChunk, n)
		var l []int32
		if labels != nil {
			l = labels[i0:i1]
		}
		if fused {
			args := base.graphArgs(params, len(gr.RewardParams())+2)
			for _, t := range gr.RewardParams() {
				args = append(args, t)
			}
			args, err := base.appendInputs(args, noise[i0*size:i1*size], i1-i0, l)
			if err != nil {
				return err
			}
			outs, err := tr.scored.Call(args...)
			if err != nil {
				return fmt.Errorf("sample and score: %w", err)
			}
			copy(x1[i0*size:], nets.Float32s(outs[0]))
			for i, v := range nets.Float32s(outs[1]) {
				r[i0+i] = float64(v)
			}
			return nil
		}
		x, imgs, err := base.Sample(tr.env.Backend, tr.cfg.Sampler, params, noise[i0*size:i1*size], i1-i0, l)
		if err != nil {
			return err
		}
		copy(x1[i0*size:], nets.Float32s(x))
		rewardMu.Lock()
		defer rewardMu.Unlock()
		part, err := tr.env.Reward.Reward(imgs)
		if err != nil {
			return fmt.Errorf("reward: %w", err)
		}
		if len(part) != i1-i0 {
			return CheckRewards(part, i1-i0)
		}
		copy(r[i0:], part)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := CheckRewards(r, n); err != nil {
		return nil, err
	}
	return &Samples{X: x1, Shape: base.SampleShape(), Labels: labels, Rewards: r}, nil
}
