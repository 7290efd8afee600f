package orw_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/internal/orwtest"
	"github.com/orwcfm/orwcfm/pkg/orw/metrics"
	"github.com/orwcfm/orwcfm/pkg/orw/ot"
)

// TestEvalEmpiricalW2 checks the evaluation's W2 distance (squared distances
// from one matrix product on the backend) against ot.EmpiricalW2 (pairwise
// differences on the host), and that it names a non-finite pixel.
func TestEvalEmpiricalW2(t *testing.T) {
	tr, err := orw.NewTrainer(orwtest.TinyConfig(), orwtest.TinyEnv(t, orw.MeanPixel))
	if err != nil {
		t.Fatal(err)
	}
	rng := orw.NewRNG(5)
	const n, h = 40, 6
	img := func(shift float64) *orw.Images {
		im := &orw.Images{N: n, H: h, W: h, C: 1, Pix: orw.SampleNoise(rng.Rand, n*h*h)}
		for i := range im.Pix {
			im.Pix[i] = float32(math.Tanh(float64(im.Pix[i]) + shift))
		}
		return im
	}
	a, b := img(0), img(0.7)
	rows := func(im *orw.Images) [][]float64 {
		out := make([][]float64, n)
		for i := range out {
			for _, x := range im.At(i) {
				out[i] = append(out[i], float64(x))
			}
		}
		return out
	}
	want, err := ot.EmpiricalW2(rows(a), rows(b))
	if err != nil {
		t.Fatal(err)
	}
	got, err := tr.EmpiricalW2(a, b, n)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-want) > 1e-9*want || want < 0.5 {
		t.Fatalf("W2 = %.12g, ot.EmpiricalW2 = %.12g", got, want)
	}
	if same, err := tr.EmpiricalW2(a, a, n); err != nil || same > 1e-6 {
		t.Fatalf("W2 of a set to itself = %g, %v; want 0", same, err)
	}
	b.Pix[7] = float32(math.NaN())
	if _, err := tr.EmpiricalW2(a, b, n); err == nil {
		t.Fatal("a NaN pixel gave no error")
	}
}

// assessingJudge is orwtest.ParityJudge with an independent evaluator whose
// reward is a fixed value and whose other numbers are recognisable constants.
type assessingJudge struct {
	orwtest.ParityJudge
	reward *float64
	calls  int
}

func (j *assessingJudge) Assess(im *orw.Images) (*orw.EvaluatorRecord, error) {
	j.calls++
	wrong := 123.0 // Evaluate replaces whatever gap the evaluator reports
	return &orw.EvaluatorRecord{
		Reward: j.reward, HackingGap: &wrong, ClassCounts: []int{im.N, 0},
		Precision: 0.25, Recall: 0.5, Density: 0.75, Coverage: 1, Vendi: 2, Neighbours: 5,
		Image: metrics.ImageStatsOf(im.Pix, im.N, im.H, im.W, im.C),
	}, nil
}

// TestEvalEvaluator checks that a judge with an Assess method fills
// EvalRecord.Evaluator, with the hacking gap computed by Evaluate as the
// reward minus the evaluator's reward (none without an evaluator's reward), and
// that a judge without one leaves the record as it was, byte for byte.
func TestEvalEvaluator(t *testing.T) {
	evaluate := func(j orw.Judge) orw.EvalRecord {
		env := orwtest.TinyEnv(t, orw.MeanPixel)
		env.Judge = j
		tr, err := orw.NewTrainer(orwtest.TinyConfig(), env)
		if err != nil {
			t.Fatal(err)
		}
		rec, _, err := tr.Evaluate()
		if err != nil {
			t.Fatal(err)
		}
		rec.EvalMS = 0
		return rec
	}
	plain := evaluate(orwtest.ParityJudge{})
	if plain.Evaluator != nil {
		t.Fatalf("a judge without Assess gave an evaluator record %+v", plain.Evaluator)
	}
	js, err := json.Marshal(plain)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), "evaluator") {
		t.Fatalf("the record of a run without an evaluator mentions one: %s", js)
	}

	r := -0.125
	j := &assessingJudge{reward: &r}
	rec := evaluate(j)
	ev := rec.Evaluator
	if j.calls != 1 || ev == nil {
		t.Fatalf("Assess called %d times, evaluator record %v", j.calls, ev)
	}
	if ev.HackingGap == nil || *ev.HackingGap != rec.Reward-r {
		t.Fatalf("hacking gap %v, want reward %g − evaluator's reward %g", ev.HackingGap, rec.Reward, r)
	}
	if ev.Precision != 0.25 || ev.Coverage != 1 || ev.Neighbours != 5 || ev.Image.Brightness <= 0 {
		t.Fatalf("evaluator record not passed on: %+v", ev)
	}
	// Everything else is what the judge without an evaluator gave.
	rec.Evaluator = nil
	if got, _ := json.Marshal(rec); string(got) != string(js) {
		t.Fatalf("the evaluator changed the rest of the record:\n%s\n%s", got, js)
	}

	noReward := evaluate(&assessingJudge{})
	if noReward.Evaluator == nil || noReward.Evaluator.Reward != nil || noReward.Evaluator.HackingGap != nil {
		t.Fatalf("an evaluator without a reward: %+v, want no reward and no hacking gap", noReward.Evaluator)
	}
}
