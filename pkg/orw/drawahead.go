package orw

import (
	"math/rand/v2"
	"slices"

	"github.com/gomlx/gomlx/core/tensors"
)

// This file is the draw-ahead machinery of the online sample source.
//
// Online draws come from the snapshot, which stays fixed for the K steps of a
// refresh period, so the trainer makes them ahead: at the first draw of a
// block it draws and scores the candidates of every draw of the block (all the
// draws of the period, unless they would hold more than maxBlockValues
// values), and the following draws take their share. That is the same
// distribution as drawing at each step, in larger and fewer calls that run
// side by side (see scoreInChunks). Each block has its own random stream,
// derived from the seed and the step of its first draw (blockRNG), so a block
// is a function of the seed, the snapshot and the step alone: a resumed run
// draws it again, identically. Only the candidates are kept, not their images.

// candidates returns the c scored candidates of the current step's online
// draw: its share of the block drawn ahead, drawing the block first when the
// step starts one (or the snapshot changed).
func (o *onlineSnapshot) candidates(tr *Trainer, c int) (*Samples, error) {
	first, draws, i := tr.drawSchedule(tr.step, c)
	if blk := o.block; blk == nil || blk.first != first || !slices.Equal(blk.snapshot, tr.snapshot.Tensors) {
		o.block = nil // free it before drawing the next
		blk, err := tr.drawBlock(first, draws, c)
		if err != nil {
			return nil, err
		}
		o.block = blk
	}
	return o.block.cand.Slice(i*c, (i+1)*c), nil
}

// maxBlockValues bounds the values of x1 an online block holds (64 MB of
// float32): the mnist-even job's period of 100 draws of 128 latent codes holds
// 204,800, 100 draws of 64 MNIST images 5 million.
const maxBlockValues = 1 << 24

// onlineBlock holds the scored candidates of consecutive online draws from one
// policy snapshot.
type onlineBlock struct {
	first    int64             // the step of its first draw
	snapshot []*tensors.Tensor // the snapshot's weights that drew it
	cand     *Samples          // the candidates of every draw, in draw order
}

// drawSchedule places the online draw of step s: the step of the first draw of
// its block, the number of draws in that block and s's index among them. The
// draws of a refresh period are its steps that are multiples of StepsPerBatch;
// they form blocks of at most maxBlockValues/(c × sample size) draws of c
// candidates each.
func (tr *Trainer) drawSchedule(s int64, c int) (first int64, draws, index int) {
	k, p := int64(tr.cfg.RefreshEvery), int64(tr.cfg.StepsPerBatch)
	if s%p != 0 {
		// A state without a batch at a step that reuses one (only a hand-made
		// TrainerState has that): draw for this step alone.
		return s, 1, 0
	}
	s0 := s - s%k              // the period's first step
	d0 := (s0 + p - 1) / p * p // its first draw (s is a draw, so d0 <= s)
	total := int((s0+k-1-d0)/p) + 1
	i := int((s - d0) / p)
	per := max(1, maxBlockValues/(c*tr.env.Base.SampleSize()))
	blk := i / per
	return d0 + int64(blk*per)*p, min(per, total-blk*per), i - blk*per
}

// blockStream separates the streams of the online blocks from the run's own.
const blockStream = 0x0b10c5

// blockRNG is the random stream of the online block whose first draw is at
// step first: a function of the seed and that step only.
func (tr *Trainer) blockRNG(first int64) *RNG {
	src := rand.NewPCG(tr.cfg.Seed, splitmix64(blockStream^uint64(first)))
	return &RNG{Rand: rand.New(src), src: src}
}

// splitmix64 scrambles x (the SplitMix64 finaliser), so that neighbouring
// steps give unrelated generator states.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// drawBlock draws and scores the candidates of draws online draws of c points
// each from the snapshot, with the block's own stream: per draw, the noise and
// then the labels (conditional flows).
func (tr *Trainer) drawBlock(first int64, draws, c int) (*onlineBlock, error) {
	rng := tr.blockRNG(first)
	base := tr.env.Base
	size, k := base.SampleSize(), base.NumClasses()
	n := draws * c
	noise := make([]float32, 0, n*size)
	var labels []int32
	for range draws {
		noise = append(noise, SampleNoise(rng.Rand, c*size)...)
		labels = append(labels, drawLabels(rng, k, c)...)
	}
	cand, err := tr.scoreInChunks(tr.snapshot, noise, labels, n)
	if err != nil {
		return nil, err
	}
	return &onlineBlock{first: first, snapshot: slices.Clone(tr.snapshot.Tensors), cand: cand}, nil
}
