package notebook

import "github.com/orwcfm/orwcfm/pkg/orw"

// The quick size's settings (see Sized).
const (
	// QuickBatch is the batch size of the quick size.
	QuickBatch = 32
	// QuickEvalSamples is the number of evaluation samples of the quick size.
	QuickEvalSamples = 96
	// QuickPool is the largest offline pool (RW-CFM, ReFT) of the quick size.
	QuickPool = 512
)

// Sized returns cfg for a run of steps steps at the notebooks' size: in the
// full size cfg itself; in the quick size (Quick) cfg on batches of
// QuickBatch, evaluated on QuickEvalSamples samples four times over the run
// (and checkpointed as often), its sampling policy refreshed at least four
// times, and offline pools of at most QuickPool samples. Every notebook
// takes its configurations through Sized, so that its parameters cell holds
// only what differs between its two sizes.
func Sized(cfg orw.Config, steps int64) orw.Config {
	if !Quick() {
		return cfg
	}
	quarter := int(max(steps/4, 1))
	cfg.Batch = QuickBatch
	cfg.EvalSamples = QuickEvalSamples
	cfg.EvalEvery = quarter
	cfg.CheckpointEvery = quarter
	cfg.RefreshEvery = min(cfg.RefreshEvery, quarter)
	cfg.PoolSize = min(cfg.PoolSize, QuickPool)
	return cfg
}
