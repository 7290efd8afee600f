package experiment

import (
	"math"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

// Outcome is where a run ended: the metrics of its last evaluation, its
// first evaluation's reward and its wall time. It is the one record of a
// run's end: a Table's rows (Result), the results files of orw reproduce
// and orw finetune --json embed it, so a new metric is a new field here and
// reaches the last two, with its JSON key, by itself. A Table's columns are
// a fixed choice (orw collect's files keep their columns): to make a metric
// one, add it to Columns, resultJSON and Table.WriteCSV. The evaluator's
// numbers are the columns EvaluatorColumns, in tables where a run has them.
//
// Its JSON form is the keys below in this order; embedded in another
// struct, they take its place among that struct's keys. A metric that was
// not measured is NaN (a run without evaluations has every metric NaN and
// cannot be written as JSON), except Frechet, which is 0 when the task has
// no judge to measure it, as in orw.EvalRecord.
type Outcome struct {
	// FinalReward is the mean reward of the last evaluation's samples and
	// InitialReward that of the first (the base model's, for a run that
	// evaluates before it trains).
	FinalReward   float64 `json:"final_reward"`
	InitialReward float64 `json:"initial_reward"`
	// ClassFractions are the fractions of the evaluation samples in each
	// class of the task's judge (nil without a judge); ClassNames name those
	// classes when they are known (nil otherwise); ClassEntropy is the
	// fractions' normalised entropy.
	ClassFractions []float64 `json:"class_fractions,omitempty"`
	ClassNames     []string  `json:"class_names,omitempty"`
	ClassEntropy   float64   `json:"class_entropy"`
	// MeanPairwise is the mean distance between evaluation samples.
	MeanPairwise float64 `json:"mean_pairwise"`
	// W2Velocity is the estimate E‖v_ft − v_ref‖², EmpiricalW2 the W2
	// distance between fine-tuned and reference samples.
	W2Velocity  float64 `json:"w2_velocity"`
	EmpiricalW2 float64 `json:"empirical_w2"`
	// Frechet is the Fréchet distance of the evaluation samples to real data
	// in the judge's feature space (0 when the task has none).
	Frechet float64 `json:"frechet,omitempty"`
	// Evaluator is what the last evaluation's independent evaluator said:
	// its reward and the hacking gap, precision, recall, density, coverage,
	// the Vendi score and the image statistics (nil when the task has none).
	Evaluator *orw.EvaluatorRecord `json:"evaluator,omitempty"`
	// EvalSamples is the number of samples of an evaluation.
	EvalSamples int `json:"eval_samples"`
	// WallSeconds is the run's wall time. OutcomeOf takes the time its
	// history records: its steps' sampling and update times and its
	// evaluations' times, summed over every session that trained it
	// (checkpoints and hooks not included).
	WallSeconds float64 `json:"wall_seconds"`
}

// unmeasured is the outcome of a run that has not been evaluated: every
// metric NaN (Frechet 0, not measured).
func unmeasured(evalSamples int) Outcome {
	nan := math.NaN()
	return Outcome{FinalReward: nan, InitialReward: nan, ClassEntropy: nan, MeanPairwise: nan,
		W2Velocity: nan, EmpiricalW2: nan, EvalSamples: evalSamples}
}

// OutcomeOf is where the run of history h ended, for evaluations of
// evalSamples samples: the metrics of its last evaluation, the reward of its
// first, and the wall time the history records (see Outcome.WallSeconds).
// Without an evaluation its metrics are NaN.
func OutcomeOf(h *runplot.History, evalSamples int) Outcome {
	o := unmeasured(evalSamples)
	var ms float64
	for _, s := range h.Steps {
		ms += s.SampleMS + s.TrainMS
	}
	for _, e := range h.Evals {
		ms += e.EvalMS
	}
	o.WallSeconds = ms / 1000
	e, ok := h.Final()
	if !ok {
		return o
	}
	o.InitialReward = h.Evals[0].Reward
	o.FinalReward, o.ClassEntropy, o.MeanPairwise = e.Reward, e.ClassEntropy, e.MeanPairwise
	o.W2Velocity, o.EmpiricalW2, o.Frechet = e.W2Velocity, e.EmpiricalW2, e.Frechet
	o.Evaluator = e.Evaluator
	for _, c := range e.ClassCounts {
		o.ClassFractions = append(o.ClassFractions, float64(c)/float64(evalSamples))
	}
	return o
}
