package orw

// BlockRNG is the random stream of the online block whose first draw is at
// step first (blockRNG), for tests that draw a block's candidates again.
func (tr *Trainer) BlockRNG(first int64) *RNG { return tr.blockRNG(first) }

// EmpiricalW2 is the evaluation's W2 distance between the first n images of a
// and b (empiricalW2), for tests.
func (tr *Trainer) EmpiricalW2(a, b *Images, n int) (float64, error) { return tr.empiricalW2(a, b, n) }

// DrawSchedule places the online draw of step s among the blocks
// (drawSchedule), for tests.
func (tr *Trainer) DrawSchedule(s int64, c int) (first int64, draws, index int) {
	return tr.drawSchedule(s, c)
}
