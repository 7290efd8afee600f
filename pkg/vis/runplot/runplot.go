// Package runplot draws the records of fine-tuning runs (package orw's run
// directories): reward and W2 curves over training, with mean ± one standard
// deviation over seeds, class make-up over time, reward and W2 against α,
// the reward–W2 Pareto plot, summary tables and a one-picture dashboard of a
// run.
//
// It turns orw's records into the plain values that package vis draws, so it
// holds no drawing code of its own beyond layout, and it never changes a
// run: it reads histories, or is handed records and samples.
package runplot // import "github.com/orwcfm/orwcfm/pkg/vis/runplot"

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
	"github.com/orwcfm/orwcfm/pkg/vis"
)

// History holds the records of one run.
//
// Histories that share a Name are seeds of one setting: the plots of this
// package draw them as one curve, the mean over the seeds, with a band of
// ± one standard deviation.
type History struct {
	// Name labels the run in legends and tables.
	Name string
	// Dir is the run directory ("" for histories built in memory).
	Dir string
	// Config is the run's configuration.
	Config orw.Config
	// Meta is what the run recorded about its task ("task", "model", ...).
	Meta map[string]string
	// ClassNames are the judge's class names (nil: class indices).
	ClassNames []string
	// Rewarded lists the classes that the task's reward favours (the even
	// digits of mnist-even), when it is known; Classes draws the other
	// classes in grey, so that their shrinking shows.
	Rewarded []int
	// Steps and Evals are the run's per-step and per-evaluation records.
	Steps []orw.StepRecord
	Evals []orw.EvalRecord
}

// Load reads the history of the run in dir, named name (the directory's
// base name when name is empty). It reads the files only, so it works while
// another process trains the run; a run that has not written any history
// yet has empty records.
func Load(dir, name string) (*History, error) {
	info, err := rundir.ReadRunInfo(dir)
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = filepath.Base(dir)
	}
	h := &History{Name: name, Dir: dir, Config: info.Config, Meta: info.Meta}
	h.Steps, h.Evals, err = rundir.ReadHistory(filepath.Join(dir, "history.jsonl"), -1)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("run %s: %w", dir, err)
	}
	return h, nil
}

// FromRun returns the history of an open run, named name.
func FromRun(run *rundir.Run, name string) (*History, error) {
	steps, evals, err := run.History()
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = filepath.Base(run.Dir)
	}
	return &History{
		Name: name, Dir: run.Dir, Config: run.Config(), Meta: run.Info.Meta,
		ClassNames: run.ClassNames(), Steps: steps, Evals: evals,
	}, nil
}

// Final returns the last evaluation of the run (false if it has none).
func (h *History) Final() (orw.EvalRecord, bool) {
	if len(h.Evals) == 0 {
		return orw.EvalRecord{}, false
	}
	return h.Evals[len(h.Evals)-1], true
}

// Metric is a quantity recorded at every evaluation of a run.
type Metric struct {
	// Label names the metric on axes and in tables.
	Label string
	// Value extracts it from an evaluation record.
	Value func(orw.EvalRecord) float64
	// Log asks for a logarithmic axis (used when some value is positive).
	Log bool
	// Range, when its two ends differ, fixes the value axis to
	// [Range[0], Range[1]], so that small differences are not blown up
	// into large-looking ones (the axis grows if a value falls outside).
	Range [2]float64
	// Refs are reference levels drawn across the plots of the metric.
	Refs []Ref
}

// Ref is a reference level of a metric: a dashed line at Value, labelled.
type Ref struct {
	Value float64
	Label string
}

// The metrics of an evaluation (see orw.EvalRecord).
var (
	// Reward is the mean reward of the fixed evaluation batch.
	Reward = Metric{Label: "reward", Value: func(e orw.EvalRecord) float64 { return e.Reward }}
	// W2 is the velocity estimate E_t E‖v_ft − v_ref‖², the quantity the
	// W2 term of the loss penalises and the paper plots.
	W2 = Metric{Label: "W2 estimate", Value: func(e orw.EvalRecord) float64 { return e.W2Velocity }, Log: true}
	// EmpiricalW2 is the exact W2 distance between the fine-tuned and the
	// reference samples of the evaluation noise.
	EmpiricalW2 = Metric{Label: "empirical W2 to the reference", Value: func(e orw.EvalRecord) float64 { return e.EmpiricalW2 }}
	// ClassEntropy is the normalised entropy of the class histogram:
	// 1 when every class is equally common, 0 when one class has all. Its
	// axis is [0, 1], with a reference line at log 5 / log 10 ≈ 0.70, the
	// value of five of ten classes equally common (the five even digits).
	ClassEntropy = Metric{
		Label: "class entropy (normalised)",
		Value: func(e orw.EvalRecord) float64 { return e.ClassEntropy },
		Range: [2]float64{0, 1},
		Refs:  []Ref{{Value: math.Log(5) / math.Log(10), Label: "5 of 10 classes equally common (0.70)"}},
	}
	// Diversity is the mean pairwise distance between evaluation samples.
	Diversity = Metric{Label: "mean pairwise distance", Value: func(e orw.EvalRecord) float64 { return e.MeanPairwise }}
)

// The numbers of a task's independent evaluator (orw.EvaluatorRecord); NaN
// at an evaluation without them.
var (
	// EvaluatorReward is the task's reward recomputed with the evaluator's
	// classifier, and HackingGap the reward minus it: how much of the
	// reward's gain the classifier that it was optimised against alone sees.
	EvaluatorReward = Metric{Label: "evaluator's reward", Value: evaluatorValue(func(e *orw.EvaluatorRecord) *float64 { return e.Reward })}
	HackingGap      = Metric{Label: "hacking gap", Value: evaluatorValue(func(e *orw.EvaluatorRecord) *float64 { return e.HackingGap })}
	// Precision, Recall, Density and Coverage compare the samples with the
	// real test images in the evaluator's features (see package metrics).
	Precision = Metric{Label: "precision", Value: evaluatorField(func(e *orw.EvaluatorRecord) float64 { return e.Precision }), Range: [2]float64{0, 1}}
	Recall    = Metric{Label: "recall", Value: evaluatorField(func(e *orw.EvaluatorRecord) float64 { return e.Recall }), Range: [2]float64{0, 1}}
	Density   = Metric{Label: "density", Value: evaluatorField(func(e *orw.EvaluatorRecord) float64 { return e.Density })}
	Coverage  = Metric{Label: "coverage", Value: evaluatorField(func(e *orw.EvaluatorRecord) float64 { return e.Coverage }), Range: [2]float64{0, 1}}
	// Vendi is the Vendi score of the samples in the evaluator's features.
	Vendi = Metric{Label: "Vendi score", Value: evaluatorField(func(e *orw.EvaluatorRecord) float64 { return e.Vendi })}
)

// evaluatorValue reads an optional number of an evaluation's evaluator record.
func evaluatorValue(f func(*orw.EvaluatorRecord) *float64) func(orw.EvalRecord) float64 {
	return func(e orw.EvalRecord) float64 {
		if e.Evaluator == nil || f(e.Evaluator) == nil {
			return math.NaN()
		}
		return *f(e.Evaluator)
	}
}

// evaluatorField reads a number of an evaluation's evaluator record.
func evaluatorField(f func(*orw.EvaluatorRecord) float64) func(orw.EvalRecord) float64 {
	return func(e orw.EvalRecord) float64 {
		if e.Evaluator == nil {
			return math.NaN()
		}
		return f(e.Evaluator)
	}
}

// HasEvaluator reports whether an evaluation of h has an evaluator's record.
func (h *History) HasEvaluator() bool {
	for _, e := range h.Evals {
		if e.Evaluator != nil {
			return true
		}
	}
	return false
}

// hasEvaluatorReward reports whether an evaluation of h has an evaluator's reward.
func hasEvaluatorReward(h *History) bool {
	for _, e := range h.Evals {
		if e.Evaluator != nil && e.Evaluator.Reward != nil {
			return true
		}
	}
	return false
}

// CoverageCurves plots the evaluator's precision, recall, density and
// coverage of a run's samples over training, on an axis from 0 to at least
// 1 (density can exceed 1), with the legend inside the plot. It is an error
// if the run has no evaluator's records.
func CoverageCurves(h *History) (*plot.Plot, error) {
	if !h.HasEvaluator() {
		return nil, fmt.Errorf("runplot: CoverageCurves: run %q has no evaluator's records (its task has no evaluator)", h.Name)
	}
	var series []vis.Series
	for _, m := range []Metric{Precision, Recall, Density, Coverage} {
		series = append(series, evalSeries(m.Label, []*History{h}, m))
	}
	p, err := vis.CurvesInside("coverage of the real test images", "step", "fraction (density: ratio)", series...)
	if err != nil {
		return nil, err
	}
	decorate(p, Coverage)
	return p, nil
}

// groups collects histories by name, in the order of first appearance.
func groups(hs []*History) (names []string, byName map[string][]*History) {
	byName = map[string][]*History{}
	for _, h := range hs {
		if h == nil {
			continue
		}
		if _, ok := byName[h.Name]; !ok {
			names = append(names, h.Name)
		}
		byName[h.Name] = append(byName[h.Name], h)
	}
	return names, byName
}

// evalSeries returns the metric of a group of seeds at the union of their
// evaluation steps, as mean ± sd (no band for a single seed).
func evalSeries(name string, runs []*History, m Metric) vis.Series {
	stepSet := map[int64]bool{}
	for _, h := range runs {
		for _, e := range h.Evals {
			stepSet[e.Step] = true
		}
	}
	steps := make([]int64, 0, len(stepSet))
	for s := range stepSet {
		steps = append(steps, s)
	}
	slices.Sort(steps)
	vals := make([][]float64, len(runs))
	for i, h := range runs {
		at := map[int64]float64{}
		for _, e := range h.Evals {
			at[e.Step] = m.Value(e)
		}
		vals[i] = make([]float64, len(steps))
		for j, s := range steps {
			v, ok := at[s]
			if !ok {
				v = math.NaN()
			}
			vals[i][j] = v
		}
	}
	x := make([]float64, len(steps))
	for j, s := range steps {
		x[j] = float64(s)
	}
	mean, lo, hi := vis.MeanBand(vals)
	s := vis.Series{Name: name, X: x, Y: mean}
	if len(runs) > 1 {
		s.Lo, s.Hi = lo, hi
	}
	return s
}

// curves draws series on a log axis when asked and possible, else linearly.
func curves(title, xlabel, ylabel string, logY bool, series ...vis.Series) (*plot.Plot, error) {
	if logY && anyPositive(series) {
		return vis.CurvesLogY(title, xlabel, ylabel, series...)
	}
	return vis.Curves(title, xlabel, ylabel, series...)
}

// decorate fixes the value axis of a plot of m to m.Range and draws m.Refs.
func decorate(p *plot.Plot, m Metric) {
	if m.Range[0] != m.Range[1] {
		p.Y.Min = math.Min(p.Y.Min, m.Range[0])
		p.Y.Max = math.Max(p.Y.Max, m.Range[1])
	}
	for _, r := range m.Refs {
		vis.Reference(p, r.Value, r.Label)
	}
}

// style is how a setting is drawn: its colour, and whether it is a variant
// of another setting drawn in the same colour.
type style struct {
	color   color.Color
	variant bool
}

// styles returns the style of each of the names, in order. A name that
// extends an earlier one by a space and more ("ORW-CFM + W2" after
// "ORW-CFM") is a variant of it: it gets that setting's colour, and is drawn
// dashed (curves) or lighter (bars). The other names get vis.Color(0),
// vis.Color(1), … in order, so that four methods with and without W2 use four
// colours, not eight.
func styles(names []string) []style {
	out := make([]style, len(names))
	next := 0
	for i, n := range names {
		base := -1
		for j := range i {
			if !out[j].variant && strings.HasPrefix(n, names[j]+" ") && (base < 0 || len(names[j]) > len(names[base])) {
				base = j
			}
		}
		if base >= 0 {
			out[i] = style{color: out[base].color, variant: true}
			continue
		}
		out[i] = style{color: vis.Color(next)}
		next++
	}
	return out
}

// lighter mixes c half-way with white: the bars of a variant.
func lighter(c color.Color) color.Color {
	r, g, b, _ := c.RGBA()
	mix := func(v uint32) uint8 { return uint8((v>>8 + 255) / 2) }
	return color.RGBA{R: mix(r), G: mix(g), B: mix(b), A: 0xff}
}

func anyPositive(series []vis.Series) bool {
	for _, s := range series {
		for _, v := range s.Y {
			if v > 0 {
				return true
			}
		}
	}
	return false
}

// Curves plots a metric over training for each setting: one curve per name,
// the mean over the histories of that name with a band of ± one standard
// deviation when there are several seeds. A setting whose name extends
// another's ("ORW-CFM + W2") is drawn dashed in that setting's colour. The
// value axis follows the metric's Range and Refs.
func Curves(m Metric, hs ...*History) (*plot.Plot, error) {
	names, byName := groups(hs)
	sty := styles(names)
	var series []vis.Series
	for i, n := range names {
		s := evalSeries(n, byName[n], m)
		s.Color, s.Dashed = sty[i].color, sty[i].variant
		if len(s.X) > 0 {
			series = append(series, s)
		}
	}
	if len(series) == 0 {
		return nil, fmt.Errorf("runplot: Curves: no evaluations to plot (%d histories)", len(hs))
	}
	p, err := curves(m.Label, "step", m.Label, m.Log, series...)
	if err == nil {
		decorate(p, m)
	}
	return p, err
}

// Smooth is the trailing window, in steps, over which Training averages the
// noisy per-batch values.
const Smooth = 25

// Training plots one run's reward (metric Reward) or W2 (metric W2) as
// recorded at every step on the training batch, smoothed over Smooth steps
// ("batch"), together with the evaluations on the fixed evaluation batch
// ("eval"). Other metrics exist only at evaluations
// and are plotted as by Curves.
func Training(m Metric, h *History) (*plot.Plot, error) {
	return TrainingWith(m, h, TrainingLabels{})
}

// TrainingLabels names the parts of a Training plot; an empty field keeps
// Training's name.
type TrainingLabels struct {
	// Title and YLabel title the plot and its y axis.
	Title, YLabel string
	// Batch and Eval name the curves of the training batches and of the
	// evaluations in the legend, Evaluator that of the evaluator's reward
	// (drawn on a run's reward plot when it has one).
	Batch, Eval, Evaluator string
}

// TrainingWith is Training with other labels (orw finetune's reward.png
// and w2.png spell them out in full).
func TrainingWith(m Metric, h *History, l TrainingLabels) (*plot.Plot, error) {
	var batch func(orw.StepRecord) float64
	var title string
	switch m.Label {
	case Reward.Label:
		batch, title = func(s orw.StepRecord) float64 { return s.RewardMean }, "reward"
	case W2.Label:
		batch, title = func(s orw.StepRecord) float64 { return s.W2 }, "W2 divergence E|v_ft − v_ref|²"
	default:
		p, err := Curves(m, h)
		if err == nil {
			relabel(p, l)
		}
		return p, err
	}
	ylabel := m.Label
	or := func(s *string, v string) {
		if v != "" {
			*s = v
		}
	}
	or(&title, l.Title)
	or(&ylabel, l.YLabel)
	batchName, evalName, evaluatorName := "batch", "eval", "evaluator's classifier"
	or(&batchName, l.Batch)
	or(&evalName, l.Eval)
	or(&evaluatorName, l.Evaluator)
	var series []vis.Series
	if len(h.Steps) > 0 {
		x := make([]float64, len(h.Steps))
		y := make([]float64, len(h.Steps))
		for i, s := range h.Steps {
			x[i], y[i] = float64(s.Step), batch(s)
		}
		series = append(series, vis.Series{Name: batchName, X: x, Y: MovingAverage(y, Smooth)})
	}
	if len(h.Evals) > 0 {
		s := evalSeries(evalName, []*History{h}, m)
		series = append(series, s)
	}
	if len(series) == 0 {
		return nil, errors.New("runplot: Training: the run has no records yet")
	}
	if m.Label == Reward.Label && hasEvaluatorReward(h) {
		// The same samples' reward by the evaluator's classifier, and the
		// latest hacking gap in the title.
		series = append(series, evalSeries(evaluatorName, []*History{h}, EvaluatorReward))
		for i := len(h.Evals) - 1; i >= 0; i-- {
			if g := HackingGap.Value(h.Evals[i]); !math.IsNaN(g) {
				title = fmt.Sprintf("%s (hacking gap %.3g at step %d)", title, g, h.Evals[i].Step)
				break
			}
		}
		return vis.CurvesInside(title, "step", ylabel, series...)
	}
	return curves(title, "step", ylabel, m.Log, series...)
}

// relabel sets a plot's title and y label from l where l gives them.
func relabel(p *plot.Plot, l TrainingLabels) {
	if l.Title != "" {
		p.Title.Text = l.Title
	}
	if l.YLabel != "" {
		p.Y.Label.Text = l.YLabel
	}
}

// MovingAverage smooths x over a trailing window of w values (fewer at the
// start). NaN values are skipped.
func MovingAverage(x []float64, w int) []float64 {
	w = max(w, 1)
	out := make([]float64, len(x))
	var sum float64
	var n int
	for i, v := range x {
		if !math.IsNaN(v) {
			sum += v
			n++
		}
		if i >= w && !math.IsNaN(x[i-w]) {
			sum -= x[i-w]
			n--
		}
		if n > 0 {
			out[i] = sum / float64(n)
		} else {
			out[i] = math.NaN()
		}
	}
	return out
}

// classNames returns the names of k classes from the first history that
// has them, or the class indices.
func classNames(k int, hs ...*History) []string {
	for _, h := range hs {
		if h != nil && len(h.ClassNames) == k {
			return h.ClassNames
		}
	}
	names := make([]string, k)
	for i := range names {
		names[i] = strconv.Itoa(i)
	}
	return names
}

// Classes plots which classes a run's evaluation samples fall into over
// training (a stacked area chart; a histogram when there is only one
// evaluation). When the history says which classes the reward favours
// (History.Rewarded), the others are drawn in grey. It is an error if the
// run has no judge, so no class counts.
func Classes(h *History) (*plot.Plot, error) {
	var steps []float64
	var rows [][]float64
	for _, e := range h.Evals {
		if len(e.ClassCounts) == 0 {
			continue
		}
		row := make([]float64, len(e.ClassCounts))
		for k, c := range e.ClassCounts {
			row[k] = float64(c)
		}
		steps, rows = append(steps, float64(e.Step)), append(rows, row)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("runplot: Classes: run %q has no class counts (its task has no judge)", h.Name)
	}
	names := classNames(len(rows[0]), h)
	muted := unrewarded(len(rows[0]), h.Rewarded)
	if len(rows) == 1 {
		p, err := vis.ClassHistogram(fractions(rows[0]), names, muted...)
		if err == nil {
			p.Y.Label.Text = "fraction"
			p.Title.Text = fmt.Sprintf("classes at step %d", int64(steps[0]))
		}
		return p, err
	}
	p, err := vis.ClassStack(steps, rows, names, muted...)
	if err == nil {
		p.Title.Text = "classes of the samples"
		if len(muted) > 0 {
			p.Title.Text = "classes (grey: not rewarded)"
		}
	}
	return p, err
}

// unrewarded returns the classes 0…k-1 that are not in rewarded (none when
// rewarded is empty: then nothing is known about the reward).
func unrewarded(k int, rewarded []int) []int {
	if len(rewarded) == 0 {
		return nil
	}
	var out []int
	for c := range k {
		if !slices.Contains(rewarded, c) {
			out = append(out, c)
		}
	}
	return out
}

// fractions normalises counts to sum to one (all zeros stay zeros).
func fractions(counts []float64) []float64 {
	var s float64
	for _, c := range counts {
		s += c
	}
	out := make([]float64, len(counts))
	for i, c := range counts {
		if s > 0 {
			out[i] = c / s
		}
	}
	return out
}

// FinalClasses compares the class make-up of the settings at their last
// evaluation: one group of bars per class, one bar per setting (the mean
// fraction over its seeds). Collapse onto one class shows as one tall bar.
func FinalClasses(hs ...*History) (*plot.Plot, error) {
	names, byName := groups(hs)
	var bars []vis.Bars
	k := 0
	for _, n := range names {
		var sum []float64
		var seeds float64
		for _, h := range byName[n] {
			e, ok := h.Final()
			if !ok || len(e.ClassCounts) == 0 {
				continue
			}
			f := fractions(intsToFloats(e.ClassCounts))
			if sum == nil {
				sum = make([]float64, len(f))
			}
			if len(f) != len(sum) {
				return nil, fmt.Errorf("runplot: FinalClasses: %q has %d classes, others %d", n, len(f), len(sum))
			}
			for i := range f {
				sum[i] += f[i]
			}
			seeds++
		}
		if sum == nil {
			continue
		}
		if k != 0 && len(sum) != k {
			return nil, fmt.Errorf("runplot: FinalClasses: %q has %d classes, others %d", n, len(sum), k)
		}
		k = len(sum)
		for i := range sum {
			sum[i] /= seeds
		}
		bars = append(bars, vis.Bars{Name: n, Values: sum})
	}
	barStyles(bars)
	if len(bars) == 0 {
		return nil, errors.New("runplot: FinalClasses: no run has class counts")
	}
	return vis.BarChart("classes at the last evaluation", "fraction of samples", classNames(k, hs...), bars...)
}

// barStyles colours bars by their names as Curves colours curves: a
// variant in a lighter shade of its setting's colour.
func barStyles(bars []vis.Bars) {
	names := make([]string, len(bars))
	for i, b := range bars {
		names[i] = b.Name
	}
	for i, st := range styles(names) {
		bars[i].Color = st.color
		if st.variant {
			bars[i].Color = lighter(st.color)
		}
	}
}

func intsToFloats(x []int) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// final is the state of one setting at its last evaluation: a metric's mean
// and standard deviation over the seeds, and the means of the standard
// metrics. alpha is taken from the config of the setting's first history.
type final struct {
	name          string
	alpha         float64
	mean, sd      float64
	seeds, evals  int
	lastStep      int64
	reward, w2    float64
	entropy, emp  float64
	hasClassCount bool
}

// finals returns the final state of every setting that has an evaluation,
// in the order of first appearance.
func finals(hs []*History, m Metric) []final {
	names, byName := groups(hs)
	var out []final
	for _, n := range names {
		f := final{name: n, alpha: byName[n][0].Config.Alpha, seeds: len(byName[n])}
		var v, r, w, en, em []float64
		for _, h := range byName[n] {
			e, ok := h.Final()
			if !ok {
				continue
			}
			f.evals++
			f.lastStep = max(f.lastStep, e.Step)
			v = append(v, m.Value(e))
			r = append(r, e.Reward)
			w = append(w, e.W2Velocity)
			en = append(en, e.ClassEntropy)
			em = append(em, e.EmpiricalW2)
			f.hasClassCount = f.hasClassCount || len(e.ClassCounts) > 0
		}
		if f.evals == 0 {
			continue
		}
		f.mean, f.sd = meanSD(v)
		f.reward, _ = meanSD(r)
		f.w2, _ = meanSD(w)
		f.entropy, _ = meanSD(en)
		f.emp, _ = meanSD(em)
		out = append(out, f)
	}
	return out
}

// meanSD returns the mean and the sample standard deviation of x (0 for a
// single value, NaN for none).
func meanSD(x []float64) (mean, sd float64) {
	if len(x) == 0 {
		return math.NaN(), math.NaN()
	}
	var s float64
	for _, v := range x {
		s += v
	}
	mean = s / float64(len(x))
	if len(x) > 1 {
		var ss float64
		for _, v := range x {
			ss += (v - mean) * (v - mean)
		}
		sd = math.Sqrt(ss / float64(len(x)-1))
	}
	return mean, sd
}

// AlphaSweep plots a metric at the last evaluation against the settings' α
// (Config.Alpha), as the paper's compression figure does: one point per
// setting, the mean over its seeds with a band of ± one standard deviation
// when there are several. The α axis is logarithmic with α = 0 drawn one
// decade below the smallest positive α (see vis.AlphaSweep).
func AlphaSweep(m Metric, hs ...*History) (*plot.Plot, error) {
	fs := finals(hs, m)
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].alpha < fs[j].alpha })
	if len(fs) == 0 {
		return nil, errors.New("runplot: AlphaSweep: no run has an evaluation")
	}
	s := vis.Series{Name: "", Color: vis.Color(0)}
	band := false
	for _, f := range fs {
		band = band || f.evals > 1
	}
	for _, f := range fs {
		s.X = append(s.X, f.alpha)
		s.Y = append(s.Y, f.mean)
		if band {
			s.Lo = append(s.Lo, f.mean-f.sd)
			s.Hi = append(s.Hi, f.mean+f.sd)
		}
	}
	logY := m.Log && anyPositive([]vis.Series{s})
	p, err := vis.AlphaSweep(m.Label+" at the end vs α", m.Label, logY, s)
	if err != nil {
		return nil, fmt.Errorf("runplot: %w", err)
	}
	decorate(p, m)
	return p, nil
}

// Pareto plots the settings' reward against their W2 estimate at the last
// evaluation (means over seeds), labelled with their names, with the Pareto
// front of the trade-off marked (see vis.TradeOff).
func Pareto(hs ...*History) (*plot.Plot, error) {
	fs := finals(hs, Reward)
	if len(fs) == 0 {
		return nil, errors.New("runplot: Pareto: no run has an evaluation")
	}
	var w2, r []float64
	var names []string
	for _, f := range fs {
		w2, r, names = append(w2, f.w2), append(r, f.reward), append(names, f.name)
	}
	logW2 := false
	for _, v := range w2 {
		logW2 = logW2 || v > 0
	}
	p, err := vis.TradeOff("reward vs W2 at the end", w2, r, names, logW2)
	if err != nil {
		return nil, fmt.Errorf("runplot: %w", err)
	}
	p.X.Label.Text = W2.Label
	return p, nil
}

// Summary tabulates the settings at their last evaluation: steps, reward,
// W2 estimate, empirical W2, class entropy (when the task has classes) and
// the number of seeds, one row per name, as text ready for a table.
func Summary(hs ...*History) (header []string, rows [][]string) {
	fs := finals(hs, Reward)
	classes := false
	seeds := false
	for _, f := range fs {
		classes = classes || f.hasClassCount
		seeds = seeds || f.seeds > 1
	}
	header = []string{"run", "steps", "reward", "W2 estimate", "empirical W2"}
	if classes {
		header = append(header, "class entropy")
	}
	if seeds {
		header = append(header, "seeds")
	}
	for _, f := range fs {
		row := []string{f.name, strconv.FormatInt(f.lastStep, 10), fmt3(f.reward), fmtG(f.w2), fmt3(f.emp)}
		if classes {
			row = append(row, fmt3(f.entropy))
		}
		if seeds {
			row = append(row, strconv.Itoa(f.seeds))
		}
		rows = append(rows, row)
	}
	return header, rows
}

func fmt3(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
func fmtG(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

// FinalBars draws a metric at the last evaluation of every setting (the mean
// over its seeds) as a bar chart. split sorts a setting, by its name, into a
// category (a group of bars, labelled below) and a member (a bar of the
// group, named in the legend), for example a method and "without W2" / "with
// W2"; with a nil split every setting is a category of its own. Categories
// and members keep the order of first appearance; a member that a category
// lacks leaves a gap.
func FinalBars(m Metric, split func(name string) (category, member string), hs ...*History) (*plot.Plot, error) {
	cats, bars, err := finalBars(m, split, hs)
	if err != nil {
		return nil, err
	}
	p, err := vis.BarChart(m.Label+" at the end", m.Label, cats, bars...)
	if err != nil {
		return nil, fmt.Errorf("runplot: %w", err)
	}
	decorate(p, m)
	return p, nil
}

// finalBars returns FinalBars' categories and bars.
func finalBars(m Metric, split func(name string) (category, member string), hs []*History) ([]string, []vis.Bars, error) {
	fs := finals(hs, m)
	if len(fs) == 0 {
		return nil, nil, errors.New("runplot: FinalBars: no run has an evaluation")
	}
	if split == nil {
		split = func(name string) (string, string) { return name, "" }
	}
	var cats, mems []string
	value := map[[2]string]float64{}
	for _, f := range fs {
		c, mem := split(f.name)
		if !slices.Contains(cats, c) {
			cats = append(cats, c)
		}
		if !slices.Contains(mems, mem) {
			mems = append(mems, mem)
		}
		value[[2]string{c, mem}] = f.mean
	}
	bars := make([]vis.Bars, len(mems))
	defer barStyles(bars)
	for i, mem := range mems {
		bars[i] = vis.Bars{Name: mem, Values: make([]float64, len(cats))}
		for k, c := range cats {
			v, ok := value[[2]string{c, mem}]
			if !ok {
				v = math.NaN()
			}
			bars[i].Values[k] = v
		}
	}
	return cats, bars, nil
}
