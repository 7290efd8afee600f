package tasks

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
)

// TestGraphRewardsMatch: the classifier rewards computed inside a graph (what
// the trainer's sampling graph uses) equal their host versions, for the even
// digits, a prompt and the two-sided prompt, on images the shipped generator
// draws; and Probs answers a second call on the same pixels from memory.
func TestGraphRewardsMatch(t *testing.T) {
	be := testBackend(t)
	g, err := ShippedGenerator("mnist", "latent")
	if err != nil {
		t.Fatal(err)
	}
	clf, err := ShippedClassifier("mnist")
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	_, imgs, err := g.Sample(be, g.Sampler, nil, orw.SampleNoise(orw.NewRNG(9).Rand, n*g.SampleSize()), n, nil)
	if err != nil {
		t.Fatal(err)
	}
	csr := ClassSetReward{Backend: be, Classifier: clf, Classes: EvenDigits}
	for name, r := range map[string]orw.GraphReward{
		"even":      csr,
		"prompt":    PromptReward{ClassSetReward: ClassSetReward{Backend: be, Classifier: clf, Classes: []int{3}}},
		"two-sided": PromptReward{ClassSetReward: ClassSetReward{Backend: be, Classifier: clf, Classes: []int{3}}, TwoSided: true},
	} {
		want, err := r.Reward(imgs)
		if err != nil {
			t.Fatal(err)
		}
		np := len(r.RewardParams())
		exec := MustNewExec(be, func(in []*Node) *Node { return r.RewardGraph(in[:np], in[np]) })
		args := []any{}
		for _, p := range r.RewardParams() {
			args = append(args, p)
		}
		got := nets.Float32s(exec.MustCall(append(args, tensors.FromFlatDataAndDimensions(imgs.Pix, n, 28, 28, 1))...)[0])
		spread := 0.0
		for i := range want {
			if math.Abs(float64(got[i])-want[i]) > 1e-5 {
				t.Fatalf("%s: graph reward %g, host reward %g (image %d)", name, got[i], want[i], i)
			}
			spread = max(spread, math.Abs(want[i]-want[0]))
		}
		if spread < 0.1 {
			t.Fatalf("%s: rewards %v barely differ; the test needs varied images", name, want)
		}
	}
	// The memory of Probs: same pixels, same answer; other pixels, a new one.
	p1, _ := clf.Probs(be, imgs)
	p2, _ := clf.Probs(be, imgs)
	if math.Float64bits(p1[5][3]) != math.Float64bits(p2[5][3]) {
		t.Fatal("Probs gave two answers for the same images")
	}
	other := imgs.Slice(0, n)
	other.Pix = append([]float32(nil), imgs.Pix...)
	other.Pix[5*784+400] = -other.Pix[5*784+400] + 0.5
	p3, _ := clf.Probs(be, other)
	if p3[5][3] == p1[5][3] && p3[5][8] == p1[5][8] {
		t.Fatal("Probs answered a changed image from memory")
	}
}
