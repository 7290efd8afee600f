package orw_test

import (
	"cmp"
	"math"
	"slices"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/internal/orwtest"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
)

// fiveSamples is a batch of five points of shape [2] whose values encode their
// index (point i is [10i, 10i+1]), with ties in the rewards.
func fiveSamples(labels bool) *orw.Samples {
	s := &orw.Samples{Shape: []int{2}, Rewards: []float64{1, 3, 3, -2, 3}}
	for i := range 5 {
		s.X = append(s.X, float32(10*i), float32(10*i+1))
		if labels {
			s.Labels = append(s.Labels, int32(100+i))
		}
	}
	return s
}

// indexOf recovers the original indices of the points of a gathered fiveSamples.
func indexOf(t *testing.T, s *orw.Samples) []int {
	t.Helper()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	idx := make([]int, s.Len())
	for i := range idx {
		a, b := s.X[2*i], s.X[2*i+1]
		if b != a+1 || math.Mod(float64(a), 10) != 0 {
			t.Fatalf("point %d is %v, not a point of fiveSamples", i, s.X[2*i:2*i+2])
		}
		idx[i] = int(a) / 10
	}
	return idx
}

func TestSamplesGather(t *testing.T) {
	for _, withLabels := range []bool{false, true} {
		s := fiveSamples(withLabels)
		idx := []int{4, 0, 4, 2} // out of order, with a repeat
		g := s.Gather(idx)
		if got := indexOf(t, g); !slices.Equal(got, idx) {
			t.Errorf("labels %v: gathered points %v, want %v", withLabels, got, idx)
		}
		if want := []float64{3, 1, 3, 3}; !slices.Equal(g.Rewards, want) {
			t.Errorf("labels %v: rewards %v, want %v", withLabels, g.Rewards, want)
		}
		switch {
		case !withLabels && g.Labels != nil:
			t.Errorf("unconditional samples gathered labels %v, want nil", g.Labels)
		case withLabels && !slices.Equal(g.Labels, []int32{104, 100, 104, 102}):
			t.Errorf("labels %v, want [104 100 104 102]", g.Labels)
		}
		if !slices.Equal(g.Shape, s.Shape) {
			t.Errorf("shape %v, want %v", g.Shape, s.Shape)
		}
		// The result owns its slices: changing it leaves the source alone.
		g.X[0], g.Rewards[0], g.Shape[0] = -1, -1, 7
		if s.X[8] != 40 || s.Rewards[4] != 3 || s.Shape[0] != 2 {
			t.Errorf("labels %v: Gather's result shares memory with its source", withLabels)
		}
		if e := s.Gather(nil); e.Len() != 0 || len(e.X) != 0 || e.Validate() != nil {
			t.Errorf("labels %v: Gather(nil) = %+v, want an empty, valid batch", withLabels, e)
		}
	}
}

func TestSamplesBest(t *testing.T) {
	s := fiveSamples(true)
	for _, c := range []struct {
		k    int
		want []int
	}{
		{0, nil},
		{1, []int{1}},
		// Rewards 1, 3, 3, -2, 3: the three 3s tie and keep their order.
		{3, []int{1, 2, 4}},
		{4, []int{1, 2, 4, 0}},
		{5, []int{1, 2, 4, 0, 3}},
		{9, []int{1, 2, 4, 0, 3}}, // k > Len: all of them, best first
	} {
		b := s.Best(c.k)
		got := indexOf(t, b)
		if len(got) == 0 {
			got = nil
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("Best(%d) = points %v, want %v", c.k, got, c.want)
			continue
		}
		for i, j := range c.want {
			if b.Rewards[i] != s.Rewards[j] || b.Labels[i] != s.Labels[j] {
				t.Errorf("Best(%d)[%d]: reward %g label %d, want those of point %d (%g, %d)", c.k, i, b.Rewards[i], b.Labels[i], j, s.Rewards[j], s.Labels[j])
			}
		}
	}
	if s.Len() != 5 || !slices.Equal(s.Rewards, []float64{1, 3, 3, -2, 3}) {
		t.Errorf("Best changed its source: %v", s.Rewards)
	}
}

func TestSamplesValidate(t *testing.T) {
	s := fiveSamples(true)
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := fiveSamples(true)
	bad.X = bad.X[:9]
	if bad.Validate() == nil {
		t.Error("9 values for 5 points of shape [2] accepted")
	}
	bad = fiveSamples(true)
	bad.Labels = bad.Labels[:4]
	if bad.Validate() == nil {
		t.Error("4 labels for 5 points accepted")
	}
	if dims := s.Tensor().Shape().Dimensions; !slices.Equal(dims, []int{5, 2}) {
		t.Errorf("Tensor dimensions %v, want [5 2]", dims)
	}
}

// newTrainer builds a trainer of method m on the tiny fixtures with the
// mean-pixel reward.
func newTrainer(t *testing.T, m orw.Method) *orw.Trainer {
	t.Helper()
	cfg := orwtest.TinyConfig()
	cfg.Method = m
	cfg.KeepFraction = 0.25
	tr, err := orw.NewTrainer(cfg, orwtest.TinyEnv(t, orw.MeanPixel))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestRAFTSelection pins RAFT's selection: the batch of its first step is the
// best Batch of ceil(Batch/KeepFraction) candidates drawn from the policy, in
// order of reward, with uniform weights. The candidates are drawn again here
// the way the trainer draws them: noise (then labels, for a conditional flow)
// from the stream of the online block that starts at step 0, integrated with
// the base weights (the first policy snapshot).
func TestRAFTSelection(t *testing.T) {
	tr := newTrainer(t, orw.MethodRAFT)
	if _, err := tr.Step(); err != nil {
		t.Fatal(err)
	}
	cfg, env := tr.Config(), tr.Env()
	st := tr.State()
	batch := st.Batch
	if batch.Len() != cfg.Batch {
		t.Fatalf("batch of %d points, want %d", batch.Len(), cfg.Batch)
	}
	if !slices.IsSortedFunc(batch.Rewards, bestFirst) {
		t.Errorf("batch rewards are not best first: %v", batch.Rewards)
	}
	for i, w := range st.Weights {
		if w != 1 {
			t.Fatalf("weight %d is %g: RAFT weights uniformly", i, w)
		}
	}

	n := int(math.Ceil(float64(cfg.Batch) / cfg.KeepFraction))
	rng := tr.BlockRNG(0) // the stream of the online block drawn at step 0
	base := env.Base
	noise := orw.SampleNoise(rng.Rand, n*base.SampleSize())
	var labels []int32
	if k := base.NumClasses(); k > 0 {
		labels = make([]int32, n)
		for i := range labels {
			labels[i] = int32(rng.IntN(k))
		}
	}
	x1, imgs, err := base.Sample(env.Backend, cfg.Sampler, nil, noise, n, labels)
	if err != nil {
		t.Fatal(err)
	}
	r, err := env.Reward.Reward(imgs)
	if err != nil {
		t.Fatal(err)
	}
	cand := &orw.Samples{X: nets.Float32s(x1), Shape: base.SampleShape(), Labels: labels, Rewards: r}
	want := cand.Best(cfg.Batch)
	if !slices.Equal(batch.Rewards, want.Rewards) {
		t.Fatalf("batch rewards\n%v\nwant the best %d of %d candidates\n%v", batch.Rewards, cfg.Batch, n, want.Rewards)
	}
	if !slices.Equal(batch.X, want.X) || !slices.Equal(batch.Labels, want.Labels) {
		t.Error("the batch's points are not those of the best candidates")
	}
	// Every kept candidate beats every dropped one.
	kept := batch.Rewards[len(batch.Rewards)-1]
	dropped := 0
	for _, x := range r {
		if x < kept {
			dropped++
		}
	}
	if dropped < n-cfg.Batch {
		t.Errorf("only %d candidates score below the worst kept (%g), want %d", dropped, kept, n-cfg.Batch)
	}
}

// TestOfflinePools pins the offline baselines' pools: RW-CFM keeps the whole
// pool of PoolSize reference samples, ReFT the best KeepFraction of the same
// pool (same seed), best first; the online methods have none. The first
// batch of each is drawn from its pool.
func TestOfflinePools(t *testing.T) {
	for _, m := range []orw.Method{orw.MethodORW, orw.MethodRAFT} {
		tr := newTrainer(t, m)
		if err := tr.BuildPool(); err != nil || tr.Pool() != nil {
			t.Errorf("%s: BuildPool gave a pool %v (err %v), want none", m, tr.Pool(), err)
		}
	}
	rw := newTrainer(t, orw.MethodRWCFM)
	if err := rw.BuildPool(); err != nil {
		t.Fatal(err)
	}
	full := rw.Pool()
	cfg := rw.Config()
	if err := full.Validate(); err != nil {
		t.Fatal(err)
	}
	if full.Len() != cfg.PoolSize {
		t.Fatalf("RW-CFM pool of %d samples, want the whole PoolSize %d", full.Len(), cfg.PoolSize)
	}
	// A pool read back from a run directory is the one the trainer draws
	// from; an online method has none to set.
	if set := newTrainer(t, orw.MethodRWCFM); set.SetPool(full) != nil || set.Pool() != full {
		t.Error("SetPool did not set the RW-CFM trainer's pool")
	}
	if err := newTrainer(t, orw.MethodORW).SetPool(full); err == nil {
		t.Error("SetPool on an online method: no error")
	}

	reft := newTrainer(t, orw.MethodReFT)
	if err := reft.BuildPool(); err != nil {
		t.Fatal(err)
	}
	pool := reft.Pool()
	k := int(math.Ceil(float64(cfg.PoolSize) * cfg.KeepFraction))
	if pool.Len() != k {
		t.Fatalf("ReFT pool of %d samples, want %d (KeepFraction %g of %d)", pool.Len(), k, cfg.KeepFraction, cfg.PoolSize)
	}
	want := full.Best(k)
	if !slices.Equal(pool.Rewards, want.Rewards) || !slices.Equal(pool.X, want.X) || !slices.Equal(pool.Labels, want.Labels) {
		t.Fatalf("ReFT pool rewards\n%v\nwant the best %d of the RW-CFM pool\n%v", pool.Rewards, k, want.Rewards)
	}
	// Every kept reward is at least every dropped one.
	worstKept := slices.Min(pool.Rewards)
	var above int
	for _, r := range full.Rewards {
		if r >= worstKept {
			above++
		}
	}
	if above < k {
		t.Errorf("%d pool rewards ≥ the worst kept %g, want at least %d", above, worstKept, k)
	}
	sorted := slices.Clone(full.Rewards)
	slices.SortFunc(sorted, bestFirst)
	if sorted[k-1] != worstKept || (k < len(sorted) && sorted[k] > worstKept) {
		t.Errorf("the worst kept reward %g is not the %d-th best of the pool (%g)", worstKept, k, sorted[k-1])
	}

	// The first batches come from the pools.
	for _, c := range []struct {
		tr   *orw.Trainer
		pool *orw.Samples
		uni  bool
	}{{rw, full, false}, {reft, pool, true}} {
		if _, err := c.tr.Step(); err != nil {
			t.Fatal(err)
		}
		st := c.tr.State()
		for i := range st.Batch.Len() {
			j := slices.Index(c.pool.Rewards, st.Batch.Rewards[i])
			if j < 0 || !slices.Equal(st.Batch.Gather([]int{i}).X, c.pool.Gather([]int{j}).X) {
				t.Fatalf("%s: batch point %d (reward %g) is not in the pool", c.tr.Config().Method, i, st.Batch.Rewards[i])
			}
		}
		if c.uni && slices.ContainsFunc(st.Weights, func(w float64) bool { return w != 1 }) {
			t.Errorf("%s: weights %v, want uniform", c.tr.Config().Method, st.Weights)
		}
	}
}

// bestFirst orders rewards from the highest down.
func bestFirst(a, b float64) int { return cmp.Compare(b, a) }
