package orw_test

import (
	"fmt"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/tasks"
)

// ORWLoss on a batch of three 2-value samples: the weights w multiply only the
// flow-matching term fm; the W2 term enters unweighted, scaled by α.
func ExampleORWLoss() {
	backend, err := backends.Default()
	if err != nil {
		fmt.Println(err)
		return
	}
	v := [][]float32{{1, 0}, {0, 1}, {1, 1}}    // the trainee's velocities v_ft(t, x_t)
	u := [][]float32{{1, 1}, {0, 0}, {1, 1}}    // the targets u = x1 − x0
	vRef := [][]float32{{0, 0}, {0, 0}, {0, 0}} // the reference's velocities v_ref(t, x_t)
	w := []float32{2, 1, 0.5}                   // the weights exp(τ·r)
	for _, alpha := range []float64{0, 1} {
		out, err := graph.CallOnceN(backend, func(v, u, vRef, w *graph.Node) []*graph.Node {
			fm, w2 := orw.CFMTerm(v, u), orw.W2Term(v, vRef)
			return []*graph.Node{fm, w2, orw.ORWLoss(w, fm, w2, alpha)}
		}, v, u, vRef, w)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("alpha=%g: fm %v, w2 %v, loss %.4f\n", alpha, nets.Float32s(out[0]), nets.Float32s(out[1]), tensors.ToScalar[float32](out[2]))
	}
	// Output:
	// alpha=0: fm [0.5 0.5 0], w2 [0.5 0.5 1], loss 0.5000
	// alpha=1: fm [0.5 0.5 0], w2 [0.5 0.5 1], loss 1.1667
}

// ExpWeighting turns rewards into the weights exp(τ·r); with Normalize they
// are rescaled to mean 1 within the batch, keeping their ratios.
func ExampleExpWeighting() {
	r := []float64{0, 0.5, 1, 2}
	for _, e := range []orw.ExpWeighting{{Tau: 1}, {Tau: 1, Normalize: true}, {Tau: 0}} {
		w, err := e.Weights(r)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("tau=%g normalize=%v:", e.Tau, e.Normalize)
		for _, x := range w {
			fmt.Printf(" %.4f", x)
		}
		fmt.Println()
	}
	// A weight that does not fit in a float32 is an error, not an inf.
	_, err := orw.ExpWeighting{Tau: 100}.Weights(r)
	fmt.Println(err)
	// Output:
	// tau=1 normalize=false: 1.0000 1.6487 2.7183 7.3891
	// tau=1 normalize=true: 0.3136 0.5170 0.8524 2.3170
	// tau=0 normalize=false: 1.0000 1.0000 1.0000 1.0000
	// weight exp(τ·r) overflows float32 at samples 2, 3 (τ = 100, reward 1): use Tau <= 44.4 for rewards this large, or set NormalizeWeights
}

// NewTrainer and Step on the 2-D toy: ORW-CFM-W2 fine-tunes the shipped base
// model, a mixture of three Gaussians in the plane, towards the reward
// r(x) = x₁ (the first coordinate). Each Step is one iteration of the
// paper's Algorithm 1: refresh the policy snapshot every RefreshEvery steps,
// draw and score a batch from it, weight it by exp(τ·r), pair it with noise
// and take one Adam step on Eq. 10.
func ExampleNewTrainer() {
	backend, err := backends.Default()
	if err != nil {
		fmt.Println(err)
		return
	}
	base, err := tasks.ShippedGenerator("toy2d", "mlp")
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := tasks.ToyConfig()
	cfg.Tau, cfg.Alpha = 1, 1 // ORW-CFM-W2
	cfg.Batch, cfg.RefreshEvery = 64, 10
	tr, err := orw.NewTrainer(cfg, orw.Env{Backend: backend, Base: base, Reward: tasks.ToyLinear})
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 30 {
		rec, err := tr.Step()
		if err != nil {
			fmt.Println(err)
			return
		}
		if rec.Step%10 == 1 {
			fmt.Printf("step %d: mean reward of the batch %.1f\n", rec.Step, rec.RewardMean)
		}
	}
	fmt.Println("steps done:", tr.StepCount())
	// Output:
	// step 1: mean reward of the batch -0.2
	// step 11: mean reward of the batch 0.8
	// step 21: mean reward of the batch 1.7
	// steps done: 30
}
