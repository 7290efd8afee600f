package orw_test

import (
	"runtime"
	"slices"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/internal/orwtest"
)

// TestDrawSchedule checks that the online draws of every refresh period fall
// into blocks that tile the period's draws in order: each draw step (a multiple
// of StepsPerBatch) has one block and one index in it, consecutive draws of a
// block have consecutive indices, and no block crosses a refresh.
func TestDrawSchedule(t *testing.T) {
	for _, kp := range [][2]int{{1, 1}, {3, 2}, {4, 4}, {5, 2}, {2, 3}, {100, 1}, {7, 3}} {
		cfg := orwtest.TinyConfig()
		cfg.RefreshEvery, cfg.StepsPerBatch = kp[0], kp[1]
		tr, err := orw.NewTrainer(cfg, orwtest.TinyEnv(t, orw.MeanPixel))
		if err != nil {
			t.Fatal(err)
		}
		k, p := int64(kp[0]), int64(kp[1])
		var prevFirst int64 = -1
		prevIndex := 0
		for s := int64(0); s < 60; s++ {
			if s%p != 0 {
				continue
			}
			first, draws, i := tr.DrawSchedule(s, cfg.Batch)
			if first > s || first/k != s/k || first%p != 0 || i < 0 || i >= draws {
				t.Fatalf("K=%d P=%d step %d: block at %d with %d draws, index %d", k, p, s, first, draws, i)
			}
			if first+int64(i)*p != s {
				t.Fatalf("K=%d P=%d step %d: index %d of the block at %d is step %d", k, p, s, i, first, first+int64(i)*p)
			}
			if first == prevFirst && i != prevIndex+1 {
				t.Fatalf("K=%d P=%d step %d: index %d follows %d in the same block", k, p, s, i, prevIndex)
			}
			if first != prevFirst && i != 0 {
				t.Fatalf("K=%d P=%d step %d: a new block starts at index %d", k, p, s, i)
			}
			// The block's last draw is the period's last draw (no cap at this size).
			if last := first + int64(draws-1)*p; last/k != s/k || last+p < (s/k+1)*k {
				t.Fatalf("K=%d P=%d step %d: block [%d, %d] does not end the period", k, p, s, first, last)
			}
			prevFirst, prevIndex = first, i
		}
	}
}

// countingReward is MeanPixel that counts the images it scores.
type countingReward struct{ n *int }

func (c countingReward) Reward(im *orw.Images) ([]float64, error) {
	*c.n += im.N
	return orw.MeanPixel(im)
}

// TestOnlineBlocks: with a refresh every K steps, the trainer scores all the
// period's candidates when the period starts and none during it; a trainer on
// one core draws the same batches as one on several (chunks are independent of
// how many run at once).
func TestOnlineBlocks(t *testing.T) {
	const k = 4
	cfg := orwtest.TinyConfig()
	cfg.RefreshEvery = k
	cfg.Batch = 48 // a block of 4 x 48 candidates is scored in several chunks
	run := func(procs int) ([]orw.StepRecord, *orw.Samples, int) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		scored := 0
		tr, err := orw.NewTrainer(cfg, orwtest.TinyEnv(t, countingReward{&scored}))
		if err != nil {
			t.Fatal(err)
		}
		var recs []orw.StepRecord
		for s := range 2 * k {
			rec, err := tr.Step()
			if err != nil {
				t.Fatal(err)
			}
			if want := (s/k + 1) * k * cfg.Batch; scored != want {
				t.Fatalf("after step %d the reward scored %d images, want %d (whole periods)", s+1, scored, want)
			}
			rec.SampleMS, rec.TrainMS = 0, 0
			recs = append(recs, rec)
		}
		return recs, tr.State().Batch, scored
	}
	r1, b1, _ := run(1)
	r2, b2, _ := run(2)
	if !slices.Equal(r1, r2) || !slices.Equal(b1.X, b2.X) || !slices.Equal(b1.Rewards, b2.Rewards) {
		t.Fatal("the run on one core and the run on two differ")
	}
}
