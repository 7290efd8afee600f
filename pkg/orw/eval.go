package orw

import (
	"fmt"
	"math"
	"slices"
	"time"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/orwcfm/orwcfm/pkg/internal/parallel"
	"github.com/orwcfm/orwcfm/pkg/orw/metrics"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/ot"
)

// Seeds of the fixed evaluation draws, derived from the run's seed.
const (
	evalSeedOffset = 0xe7a1
	w2SeedOffset   = 0x3e2
	poolSeedOffset = 0x9001
)

// frechetJudge is a Judge that measures the Fréchet distance of images to real data.
type frechetJudge interface {
	Frechet(images *Images) (float64, error)
}

// assessor is a Judge with an independent evaluator: a classifier the reward
// never saw, with real data to compare the samples with in its features.
// Evaluate records what it says in EvalRecord.Evaluator and fills in the
// hacking gap itself, so that every evaluator shares one definition.
type assessor interface {
	Assess(images *Images) (*EvaluatorRecord, error)
}

// evalCache holds what every evaluation of a run reuses: the fixed evaluation
// noise and labels, the compiled W2 estimate and the reference model's images.
type evalCache struct {
	noise  []float32
	labels []int32
	w2exec *Exec
	ref    *Images
	dist   *Exec // squared distances between two image sets
}

// evalInputs draws (once) the fixed evaluation noise and labels.
func (tr *Trainer) evalInputs() ([]float32, []int32) {
	if tr.eval.noise == nil {
		rng := NewRNG(tr.cfg.Seed + evalSeedOffset)
		n := tr.cfg.EvalSamples
		tr.eval.noise = SampleNoise(rng.Rand, n*tr.env.Base.SampleSize())
		if k := tr.env.Base.NumClasses(); k > 0 {
			tr.eval.labels = make([]int32, n)
			for i := range tr.eval.labels {
				tr.eval.labels[i] = int32(i % k)
			}
		}
	}
	return tr.eval.noise, tr.eval.labels
}

// w2VelocityExec compiles the W2 velocity estimate
// (1/T)·Σ_k mean_i mean_pixels ‖v_ft(t_k, x_t) − v_ref(t_k, x_t)‖² on the straight
// paths between x0 and the evaluation samples x1, at t_k = (k + ½)/T.
func (tr *Trainer) w2VelocityExec() (*Exec, error) {
	if tr.eval.w2exec != nil {
		return tr.eval.w2exec, nil
	}
	flow := tr.env.Base.Flow
	specs := flow.Specs()
	n := len(specs)
	cond := tr.env.Base.NumClasses() > 0
	times := tr.cfg.W2Times
	e, err := NewExec(tr.env.Backend, func(in []*Node) *Node {
		w, wRef := nets.Bind(specs, in[:n]), nets.Bind(specs, in[n:2*n])
		x1, x0 := in[2*n], in[2*n+1]
		var labels *Node
		if cond {
			labels = in[2*n+2]
		}
		b := x1.Shape().Dimensions[0]
		var sum *Node
		for k := range times {
			tk := (float64(k) + 0.5) / float64(times)
			ts := Scalar(x1.Graph(), x1.DType(), tk)
			xt := Path{}.Xt(x0, x1, BroadcastToDims(ts, b))
			d := ReduceAllMean(W2Term(applyAt(flow, w, ts, xt, labels), applyAt(flow, wRef, ts, xt, labels)))
			if sum == nil {
				sum = d
			} else {
				sum = Add(sum, d)
			}
		}
		return DivScalar(sum, float64(times))
	})
	if err != nil {
		return nil, err
	}
	tr.eval.w2exec = e
	return e, nil
}

// w2Velocity estimates E_t E‖v_ft − v_ref‖² for params on paths to the points x1
// (flattened, n of them), in chunks of sampleChunk.
func (tr *Trainer) w2Velocity(params *nets.Params, x1 []float32, n int, labels []int32) (float64, error) {
	exec, err := tr.w2VelocityExec()
	if err != nil {
		return 0, err
	}
	size := tr.env.Base.SampleSize()
	rng := NewRNG(tr.cfg.Seed + w2SeedOffset)
	x0 := SampleNoise(rng.Rand, n*size)
	chunks := (n + sampleChunk - 1) / sampleChunk
	parts := make([]float64, chunks)
	if err := toDevice(tr.env.Backend, params.Tensors, tr.env.Base.Params.Tensors); err != nil {
		return 0, err
	}
	err = parallel.For(chunks, chunkWorkers(), func(c int) error {
		i0, i1 := c*sampleChunk, min((c+1)*sampleChunk, n)
		dims := append([]int{i1 - i0}, tr.env.Base.SampleShape()...)
		args := make([]any, 0, 2*params.Len()+3)
		for _, t := range params.Tensors {
			args = append(args, t)
		}
		for _, t := range tr.env.Base.Params.Tensors {
			args = append(args, t)
		}
		args = append(args, tensors.FromFlatDataAndDimensions(x1[i0*size:i1*size], dims...), tensors.FromFlatDataAndDimensions(x0[i0*size:i1*size], dims...))
		if labels != nil {
			args = append(args, tensors.FromFlatDataAndDimensions(labels[i0:i1], i1-i0))
		}
		out, err := exec.Call(args...)
		if err != nil {
			return fmt.Errorf("w2 estimate: %w", err)
		}
		parts[c] = float64(tensors.ToScalar[float32](out[0])) * float64(i1-i0)
		return nil
	})
	if err != nil {
		return 0, err
	}
	total := 0.0
	for _, p := range parts {
		total += p
	}
	return total / float64(n), nil
}

// referenceEval returns (once) the reference model's images of the evaluation noise.
func (tr *Trainer) referenceEval() (*Images, error) {
	if tr.eval.ref == nil {
		noise, labels := tr.evalInputs()
		_, imgs, err := tr.env.Base.SampleInChunks(tr.env.Backend, tr.cfg.Sampler, nil, noise, tr.cfg.EvalSamples, labels)
		if err != nil {
			return nil, err
		}
		tr.eval.ref = imgs
	}
	return tr.eval.ref, nil
}

// Evaluate computes the evaluation metrics of the trainee at the current step and
// returns them with the evaluation images.
func (tr *Trainer) Evaluate() (EvalRecord, *Images, error) {
	t0 := time.Now()
	rec := EvalRecord{Kind: "eval", Step: tr.step}
	noise, labels := tr.evalInputs()
	n := tr.cfg.EvalSamples
	x1flat, imgs, err := tr.env.Base.SampleInChunks(tr.env.Backend, tr.cfg.Sampler, tr.params, noise, n, labels)
	if err != nil {
		return rec, nil, err
	}
	r, err := tr.env.Reward.Reward(imgs)
	if err != nil {
		return rec, nil, fmt.Errorf("reward: %w", err)
	}
	if err := CheckRewards(r, n); err != nil {
		return rec, nil, err
	}
	rec.Reward, rec.RewardStd, _, _ = stats(r)
	if tr.env.Judge != nil {
		cls, err := tr.env.Judge.Classify(imgs)
		if err != nil {
			return rec, nil, fmt.Errorf("judge: %w", err)
		}
		rec.ClassCounts = make([]int, len(tr.env.Judge.ClassNames()))
		counts := make([]float64, len(rec.ClassCounts))
		for _, c := range cls {
			if c >= 0 && c < len(counts) {
				rec.ClassCounts[c]++
				counts[c]++
			}
		}
		rec.ClassEntropy = metrics.NormalizedEntropy(counts)
		if f, ok := tr.env.Judge.(frechetJudge); ok {
			d, err := f.Frechet(imgs)
			if err != nil {
				return rec, nil, fmt.Errorf("judge: %w", err)
			}
			if !math.IsNaN(d) {
				rec.Frechet = d
			}
		}
		if a, ok := tr.env.Judge.(assessor); ok {
			ev, err := a.Assess(imgs)
			if err != nil {
				return rec, nil, fmt.Errorf("evaluator: %w", err)
			}
			if ev != nil {
				ev.HackingGap = nil
				if ev.Reward != nil {
					gap := rec.Reward - *ev.Reward
					ev.HackingGap = &gap
				}
				rec.Evaluator = ev
			}
		}
	}
	pts := imageRows(imgs, min(n, 256))
	rec.MeanPairwise = metrics.MeanPairwiseDistance(pts) / math.Sqrt(float64(imgs.Size()))
	if rec.W2Velocity, err = tr.w2Velocity(tr.params, x1flat, n, labels); err != nil {
		return rec, nil, err
	}
	if tr.eval.ref == nil && tr.params.Equal(tr.env.Base.Params) {
		// The trainee is still the reference model: these are its images.
		tr.eval.ref = &Images{N: imgs.N, H: imgs.H, W: imgs.W, C: imgs.C, Pix: slices.Clone(imgs.Pix)}
	}
	ref, err := tr.referenceEval()
	if err != nil {
		return rec, nil, err
	}
	w2, err := tr.empiricalW2(imgs, ref, n)
	if err != nil {
		return rec, nil, err
	}
	rec.EmpiricalW2 = w2 / math.Sqrt(float64(imgs.Size()))
	rec.EvalMS = msSince(t0)
	return rec, imgs, nil
}

// empiricalW2 is ot.EmpiricalW2 between the first n images of a and b, with
// the matrix of squared distances computed as ‖a‖² + ‖b‖² − 2·a·bᵀ by one
// float64 matrix product on the backend (the pairwise loop took most of an
// evaluation's time; float64 keeps the cancellation harmless).
func (tr *Trainer) empiricalW2(a, b *Images, n int) (float64, error) {
	d := a.Size()
	for s, im := range []*Images{a, b} {
		for i, x := range im.Pix[:n*d] {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return 0, fmt.Errorf("empirical W2: pixel %d of %s image %d is %v", i%d, []string{"the trainee's", "the reference's"}[s], i/d, x)
			}
		}
	}
	if tr.eval.dist == nil {
		e, err := NewExec(tr.env.Backend, func(x, y *Node) *Node {
			nx := ReduceSum(Square(x), -1)
			ny := ReduceSum(Square(y), -1)
			xy := DotGeneral(x, []int{1}, nil, y, []int{1}, nil)
			return Sub(Add(InsertAxes(nx, 1), InsertAxes(ny, 0)), MulScalar(xy, 2))
		})
		if err != nil {
			return 0, err
		}
		tr.eval.dist = e
	}
	rows := func(im *Images) *tensors.Tensor {
		v := make([]float64, n*d)
		for i, x := range im.Pix[:n*d] {
			v[i] = float64(x)
		}
		return tensors.FromFlatDataAndDimensions(v, n, d)
	}
	out, err := tr.eval.dist.Call(rows(a), rows(b))
	if err != nil {
		return 0, fmt.Errorf("empirical W2: %w", err)
	}
	flat := tensors.MustCopyFlatData[float64](out[0])
	cost := make([][]float64, n)
	for i := range cost {
		cost[i] = flat[i*n : (i+1)*n : (i+1)*n]
		for j, c := range cost[i] {
			cost[i][j] = max(c, 0) // a tiny negative value is rounding of a zero distance
		}
	}
	_, total, err := ot.Assign(cost)
	if err != nil {
		return 0, fmt.Errorf("empirical W2: %w", err)
	}
	return math.Sqrt(max(total, 0) / float64(n)), nil
}

// imageRows converts the first n images to float64 rows.
func imageRows(im *Images, n int) [][]float64 {
	rows := make([][]float64, n)
	for i := range rows {
		src := im.At(i)
		row := make([]float64, len(src))
		for j, v := range src {
			row[j] = float64(v)
		}
		rows[i] = row
	}
	return rows
}
