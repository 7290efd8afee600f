package paper

import (
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/plot"

	"github.com/orwcfm/orwcfm/pkg/experiment"
	"github.com/orwcfm/orwcfm/pkg/vis"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

// Tradeoff is the frontier experiment's answer: every family's points (each
// evaluation of each setting, over seeds), and the table of each family's
// best coverage and recall at a few evaluator rewards.
type Tradeoff struct {
	// Families are the methods with their knob, in the order of the settings.
	Families []TradeoffFamily `json:"families"`
	// Targets are the evaluator rewards of the table; Rows its rows, one per
	// target and family.
	Targets []float64     `json:"targets"`
	Rows    []TradeoffRow `json:"rows"`
	// Collapse judges the α = 0 run's collapse by the evaluator and by
	// coverage, at the base model and at the end.
	Collapse *CollapseJudged `json:"collapse,omitempty"`
}

// TradeoffFamily is one method with its knob: the points of all its settings.
type TradeoffFamily struct {
	Name   string          `json:"name"`
	Points []TradeoffPoint `json:"points"`
}

// TradeoffPoint is one evaluation step of one setting: the seeds' values (in
// the order of the seeds) of what the frontier reads.
type TradeoffPoint struct {
	Setting string `json:"setting"`
	Step    int64  `json:"step"`
	// EvalReward is the reward recomputed by the evaluator; OwnReward the
	// task's own; Coverage and Recall compare the samples with real test
	// images in the evaluator's features; W2 is the W2 estimate.
	EvalReward []float64 `json:"evaluator_reward"`
	OwnReward  []float64 `json:"own_reward"`
	Coverage   []float64 `json:"coverage"`
	Recall     []float64 `json:"recall"`
	W2         []float64 `json:"w2"`
}

// TradeoffRow is a family's frontier at one evaluator reward: interpolated
// linearly between the two frontier points around it (a mixture of those
// two models reaches it), as mean and standard deviation over seeds. Reached
// is false when no point of the family reaches the reward.
type TradeoffRow struct {
	Target  float64 `json:"target"`
	Family  string  `json:"family"`
	Reached bool    `json:"reached"`
	// Coverage and Recall are the best along the frontier of each; Gap (own
	// reward − evaluator reward, the hacking gap) and W2 are read at the
	// coverage frontier's place; Near names the frontier point nearest it.
	Coverage, CoverageSD float64
	Recall, RecallSD     float64
	Gap, W2              float64
	Near                 string
	// Seeds is the number of seeds behind the means.
	Seeds int
}

// CollapseJudged is the α = 0 run at the base model and at its end, by the
// reward's classifier, by the evaluator and by coverage (means over seeds).
type CollapseJudged struct {
	// Largest is the largest class's share of the samples by the reward's
	// classifier; EvaluatorLargest by the evaluator; EvaluatorEntropy the
	// normalised entropy of the evaluator's class shares.
	Base, End CollapseMeasures
}

// CollapseMeasures are the measures of CollapseJudged at one evaluation.
type CollapseMeasures struct {
	Step             int64   `json:"step"`
	Largest          float64 `json:"largest_class"`
	EvaluatorLargest float64 `json:"evaluator_largest_class"`
	EvaluatorEntropy float64 `json:"evaluator_class_entropy"`
	Coverage         float64 `json:"coverage"`
	Recall           float64 `json:"recall"`
	Vendi            float64 `json:"vendi"`
}

// tradeoffTargets are the evaluator rewards of the frontier's table.
var tradeoffTargets = []float64{0.90, 0.95, 0.98}

// tradeoffOf gathers the frontier's families from the runs' histories (named
// by their settings' labels).
func tradeoffOf(settings []Setting, hs []*runplot.History) *Tradeoff {
	byLabel := map[string][]*runplot.History{}
	for _, h := range hs {
		if h != nil {
			byLabel[h.Name] = append(byLabel[h.Name], h)
		}
	}
	t := &Tradeoff{Targets: tradeoffTargets}
	index := map[string]int{}
	for _, st := range settings {
		i, ok := index[st.Family]
		if !ok {
			i = len(t.Families)
			index[st.Family] = i
			t.Families = append(t.Families, TradeoffFamily{Name: st.Family})
		}
		t.Families[i].Points = append(t.Families[i].Points, settingPoints(st.Label, byLabel[st.Label])...)
	}
	for _, target := range t.Targets {
		for _, f := range t.Families {
			t.Rows = append(t.Rows, f.at(target))
		}
	}
	t.Collapse = collapseJudged(byLabel["α = 0"])
	return t
}

// settingPoints are a setting's evaluations at the steps that every seed's
// run has evaluated with the evaluator.
func settingPoints(label string, hs []*runplot.History) []TradeoffPoint {
	at := map[int64]*TradeoffPoint{}
	count := map[int64]int{}
	for _, h := range hs {
		for _, ev := range h.Evals {
			e := ev.Evaluator
			if e == nil || e.Reward == nil {
				continue
			}
			p := at[ev.Step]
			if p == nil {
				p = &TradeoffPoint{Setting: label, Step: ev.Step}
				at[ev.Step] = p
			}
			count[ev.Step]++
			p.EvalReward = append(p.EvalReward, *e.Reward)
			p.OwnReward = append(p.OwnReward, ev.Reward)
			p.Coverage = append(p.Coverage, e.Coverage)
			p.Recall = append(p.Recall, e.Recall)
			p.W2 = append(p.W2, ev.W2Velocity)
		}
	}
	var out []TradeoffPoint
	for s, p := range at {
		if count[s] == len(hs) {
			out = append(out, *p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Step < out[j].Step })
	return out
}

// frontier is the family's upper envelope of y against the evaluator's
// reward: its Pareto-optimal points (no other point has both a higher
// reward and a higher y), in the order of increasing reward.
func (f TradeoffFamily) frontier(y func(TradeoffPoint) []float64) []TradeoffPoint {
	return f.frontierOf(evalRewardOf, y)
}

// frontierOf is the family's Pareto frontier of y against x (both means
// over seeds), in the order of increasing x.
func (f TradeoffFamily) frontierOf(x, y func(TradeoffPoint) []float64) []TradeoffPoint {
	var xs, ys []float64
	for _, p := range f.Points {
		xs, ys = append(xs, mean(x(p))), append(ys, mean(y(p)))
	}
	idx := vis.ParetoFront(xs, ys, true, true)
	sort.Slice(idx, func(a, b int) bool { return xs[idx[a]] < xs[idx[b]] })
	out := make([]TradeoffPoint, len(idx))
	for i, k := range idx {
		out[i] = f.Points[k]
	}
	return out
}

// along interpolates a frontier at evaluator reward r: the two points around
// r and the weight of the second (a below the frontier's first point: that
// point alone). ok is false when no point reaches r.
func along(front []TradeoffPoint, r float64) (a, b TradeoffPoint, w float64, ok bool) {
	if len(front) == 0 || mean(front[len(front)-1].EvalReward) < r {
		return a, b, 0, false
	}
	for i, p := range front {
		x := mean(p.EvalReward)
		if x < r {
			continue
		}
		if i == 0 {
			return p, p, 0, true
		}
		q := front[i-1]
		xq := mean(q.EvalReward)
		return q, p, (r - xq) / (x - xq), true
	}
	return a, b, 0, false
}

// mix interpolates a metric of two points, seed by seed, with weight w on b:
// the mean and the standard deviation over seeds.
func mix(a, b TradeoffPoint, w float64, f func(TradeoffPoint) []float64) (m, sd float64) {
	va, vb := f(a), f(b)
	n := min(len(va), len(vb))
	v := make([]float64, n)
	for i := range v {
		v[i] = (1-w)*va[i] + w*vb[i]
	}
	return mean(v), std(v)
}

func evalRewardOf(p TradeoffPoint) []float64 { return p.EvalReward }
func coverageOf(p TradeoffPoint) []float64   { return p.Coverage }
func recallOf(p TradeoffPoint) []float64     { return p.Recall }
func ownRewardOf(p TradeoffPoint) []float64 {
	return p.OwnReward
}
func w2Of(p TradeoffPoint) []float64 { return p.W2 }
func gapOf(p TradeoffPoint) []float64 {
	g := make([]float64, min(len(p.OwnReward), len(p.EvalReward)))
	for i := range g {
		g[i] = p.OwnReward[i] - p.EvalReward[i]
	}
	return g
}

// at is the family's row of the table at evaluator reward r.
func (f TradeoffFamily) at(r float64) TradeoffRow {
	row := TradeoffRow{Target: r, Family: f.Name}
	a, b, w, ok := along(f.frontier(coverageOf), r)
	if !ok {
		return row
	}
	row.Reached, row.Seeds = true, min(len(a.Coverage), len(b.Coverage))
	row.Coverage, row.CoverageSD = mix(a, b, w, coverageOf)
	row.Gap, _ = mix(a, b, w, gapOf)
	row.W2, _ = mix(a, b, w, w2Of)
	near := a
	if w > 0.5 {
		near = b
	}
	row.Near = fmt.Sprintf("%s, step %d", near.Setting, near.Step)
	if a, b, w, ok := along(f.frontier(recallOf), r); ok {
		row.Recall, row.RecallSD = mix(a, b, w, recallOf)
	}
	return row
}

// nearest is the family's point whose mean evaluator reward is nearest r.
func (f TradeoffFamily) nearest(r float64) (TradeoffPoint, bool) {
	best, d := TradeoffPoint{}, math.Inf(1)
	for _, p := range f.Points {
		if e := math.Abs(mean(p.EvalReward) - r); e < d {
			best, d = p, e
		}
	}
	return best, !math.IsInf(d, 1)
}

// collapseJudged measures the α = 0 runs at their first and last evaluation
// (nil without runs).
func collapseJudged(hs []*runplot.History) *CollapseJudged {
	if len(hs) == 0 {
		return nil
	}
	measure := func(pick func(h *runplot.History) int) CollapseMeasures {
		var m CollapseMeasures
		var largest, elargest, eentropy, cov, rec, vendi []float64
		for _, h := range hs {
			i := pick(h)
			if i < 0 {
				continue
			}
			ev := h.Evals[i]
			m.Step = ev.Step
			largest = append(largest, shareOfLargest(ev.ClassCounts))
			if e := ev.Evaluator; e != nil {
				elargest = append(elargest, shareOfLargest(e.ClassCounts))
				eentropy = append(eentropy, normalisedEntropy(e.ClassCounts))
				cov, rec, vendi = append(cov, e.Coverage), append(rec, e.Recall), append(vendi, e.Vendi)
			}
		}
		m.Largest, m.EvaluatorLargest, m.EvaluatorEntropy = mean(largest), mean(elargest), mean(eentropy)
		m.Coverage, m.Recall, m.Vendi = mean(cov), mean(rec), mean(vendi)
		return m
	}
	first := func(h *runplot.History) int { return min(0, len(h.Evals)-1) }
	last := func(h *runplot.History) int { return len(h.Evals) - 1 }
	return &CollapseJudged{Base: measure(first), End: measure(last)}
}

// shareOfLargest is the largest count's share of the counts (NaN for none).
func shareOfLargest(counts []int) float64 {
	total, top := 0, 0
	for _, c := range counts {
		total += c
		top = max(top, c)
	}
	if total == 0 {
		return math.NaN()
	}
	return float64(top) / float64(total)
}

// normalisedEntropy is the entropy of the counts' shares over log(#classes).
func normalisedEntropy(counts []int) float64 {
	total := 0
	for _, c := range counts {
		total += c
	}
	if total == 0 || len(counts) < 2 {
		return math.NaN()
	}
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / float64(total)
			h -= p * math.Log(p)
		}
	}
	return h / math.Log(float64(len(counts)))
}

// tradeoffPanels draws the frontier experiment's panels into dir: the
// families' frontiers (Frontiers) and the sample grids at each family's
// point nearest evaluator reward 0.95 (from the runs' frames).
func tradeoffPanels(res *Results, settings []Setting, runs []experiment.Run, dir string) error {
	t := res.Tradeoff
	if t == nil || len(t.Families) == 0 {
		return fmt.Errorf("no frontier in the results")
	}
	plots, err := t.Frontiers()
	if err != nil {
		return err
	}
	for i, name := range FrontierPanels {
		if err := vis.SavePlot(plots[i], filepath.Join(dir, name+".png"), panelW, panelH*1.3); err != nil {
			return err
		}
	}
	return tradeoffGrids(t, settings, runs, filepath.Join(dir, "tradeoff-samples.png"))
}

// FrontierPanels name the plots of Tradeoff.Frontiers, in its order (the
// frontier experiment's panels NAME.png).
var FrontierPanels = []string{"tradeoff-coverage-all", "tradeoff-coverage", "tradeoff-recall", "tradeoff-own-reward"}

// zoomReward is where the frontiers' close-ups start on the reward axis:
// the rewards of the table and a little below.
const zoomReward = 0.85

// Frontiers draws every family's frontier, each line joining a family's
// Pareto points with the seeds' standard deviation as its band: evaluator
// reward against coverage over the whole range, then close-ups of rewards
// from 0.85 up of evaluator reward against coverage, evaluator reward
// against recall, and the task's own reward against coverage (FrontierPanels
// names them).
func (t *Tradeoff) Frontiers() ([]*plot.Plot, error) {
	eval := evalRewardOf
	var out []*plot.Plot
	for i, panel := range []struct {
		title, xlabel, ylabel string
		x, y                  func(TradeoffPoint) []float64
	}{
		{"every method's frontier: reward against coverage", "reward by the evaluator", "coverage of the real even digits", eval, coverageOf},
		{"the frontiers at high reward: coverage", "reward by the evaluator", "coverage of the real even digits", eval, coverageOf},
		{"the frontiers at high reward: recall", "reward by the evaluator", "recall of the real even digits", eval, recallOf},
		{"the same by the task's own reward", "reward by the task's classifier (the one optimised)", "coverage of the real even digits", ownRewardOf, coverageOf},
	} {
		xmin := zoomReward
		if i == 0 {
			xmin = math.Inf(-1)
		}
		p, err := frontiersPlot(t, panel.title, panel.xlabel, panel.ylabel, panel.x, panel.y, xmin)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Table is the frontier's table at evaluator reward target, as text: a row
// per family with its coverage and recall (mean ± std over seeds), the
// hacking gap and the W2 estimate there and its nearest frontier point, or
// "never" when the family does not reach the target.
func (t *Tradeoff) Table(target float64) (header []string, rows [][]string) {
	header = []string{"family", "coverage", "recall", "hacking gap", "W2 estimate", "nearest point"}
	for _, row := range t.Rows {
		if row.Target != target {
			continue
		}
		if !row.Reached {
			rows = append(rows, []string{row.Family, "never", "", "", "", ""})
			continue
		}
		rows = append(rows, []string{row.Family, meanSD(row.Coverage, row.CoverageSD, row.Seeds), meanSD(row.Recall, row.RecallSD, row.Seeds),
			fmt.Sprintf("%+.3f", row.Gap), fmt.Sprintf("%.3g", row.W2), row.Near})
	}
	return header, rows
}

// frontiersPlot draws each family's frontier (y against x over its Pareto
// points in x and y, with the seeds' spread of y as a band); with xmin
// finite, the x axis starts at xmin and the y axis spans the lines at the
// table's rewards (Targets) and above (a line's fall below that, its
// collapse, is in the full view).
func frontiersPlot(t *Tradeoff, title, xlabel, ylabel string, x, y func(TradeoffPoint) []float64, xmin float64) (*plot.Plot, error) {
	var series []vis.Series
	ylo, yhi := math.Inf(1), math.Inf(-1)
	for i, f := range t.Families {
		s := vis.Series{Name: f.Name, Color: vis.Color(i), Dashed: i >= 8}
		for _, p := range f.frontierOf(x, y) {
			px, m, sd := mean(x(p)), mean(y(p)), std(y(p))
			if math.IsNaN(sd) {
				sd = 0
			}
			s.X, s.Y = append(s.X, px), append(s.Y, m)
			s.Lo, s.Hi = append(s.Lo, m-sd), append(s.Hi, m+sd)
			if px >= xmin {
				yhi = math.Max(yhi, m+sd)
			}
		}
		for _, r := range t.Targets { // the close-up shows every line at the table's rewards
			if v, ok := interpolate(s.X, s.Lo, r); ok {
				ylo = math.Min(ylo, v)
			}
		}
		series = append(series, s)
	}
	p, err := vis.CurvesInside(title, xlabel, ylabel, series...)
	if err != nil || math.IsInf(xmin, -1) || math.IsInf(ylo, 1) {
		return p, err
	}
	pad := 0.08 * (yhi - ylo)
	p.X.Min, p.X.Max = xmin, 1
	p.Y.Min, p.Y.Max = ylo-pad, yhi+pad
	return p, nil
}

// meanSD formats a mean over n seeds with its standard deviation (none for one seed).
func meanSD(m, sd float64, n int) string {
	if n <= 1 {
		return fmt.Sprintf("%.3f", m)
	}
	return fmt.Sprintf("%.3f ± %.2g", m, sd)
}

// interpolate is the piecewise-linear function through (xs, ys), xs
// increasing, at x (false outside xs' range).
func interpolate(xs, ys []float64, x float64) (float64, bool) {
	for i := 1; i < len(xs); i++ {
		if xs[i-1] <= x && x <= xs[i] {
			if xs[i] == xs[i-1] {
				return ys[i], true
			}
			w := (x - xs[i-1]) / (xs[i] - xs[i-1])
			return (1-w)*ys[i-1] + w*ys[i], true
		}
	}
	return 0, false
}

// tradeoffGrids puts together the frames of each family's point nearest
// evaluator reward 0.95 (its first setting's seed 1 run), a titled row each.
func tradeoffGrids(t *Tradeoff, settings []Setting, runs []experiment.Run, path string) error {
	var rows []image.Image
	for _, f := range t.Families {
		p, ok := f.nearest(0.95)
		if !ok {
			continue
		}
		dir := ""
		for _, st := range settings {
			if st.Label == p.Setting {
				dir = seed1Dir(st, runs)
			}
		}
		im, err := readPNG(filepath.Join(dir, FramesDir, fmt.Sprintf("step-%06d.png", p.Step)))
		if err != nil {
			return fmt.Errorf("%s: %w (the frames are written by runs that orw reproduce trains)", f.Name, err)
		}
		title := fmt.Sprintf("%s: %s, step %d, evaluator reward %.3f, coverage %.3f", f.Name, p.Setting, p.Step, mean(p.EvalReward), mean(p.Coverage))
		rows = append(rows, vis.Titled(im, title))
	}
	if len(rows) == 0 {
		return nil
	}
	return vis.SavePNG(path, vis.Grid(rows, 1, vis.GridOptions{Scale: 1, Pad: 4}))
}

// readPNG reads a PNG file.
func readPNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return png.Decode(f)
}

// checkCollapseCoverage: the α = 0 runs end with at most half the base
// model's coverage, by the evaluator (the collapse measured as the real
// images the samples no longer reach, not as one class's share).
func checkCollapseCoverage(r *Results) (string, bool) {
	if r.Tradeoff == nil || r.Tradeoff.Collapse == nil {
		return "no α = 0 runs", false
	}
	c := r.Tradeoff.Collapse
	v := fmt.Sprintf("coverage %.3f → %.3f, recall %.3f → %.3f, Vendi %.2f → %.2f; largest digit by the evaluator %.0f%% → %.0f%% (by the reward's classifier %.0f%% → %.0f%%)",
		c.Base.Coverage, c.End.Coverage, c.Base.Recall, c.End.Recall, c.Base.Vendi, c.End.Vendi,
		100*c.Base.EvaluatorLargest, 100*c.End.EvaluatorLargest, 100*c.Base.Largest, 100*c.End.Largest)
	return v, c.End.Coverage <= 0.5*c.Base.Coverage
}

// checkW2BeatsEarly: the setting's final point has more coverage than the
// α = 0 runs stopped early at its evaluator reward (along their frontier).
func checkW2BeatsEarly(label string) func(*Results) (string, bool) {
	return func(r *Results) (string, bool) {
		t := r.Tradeoff
		if t == nil {
			return "no frontier", false
		}
		var early *TradeoffFamily
		var last *TradeoffPoint
		for i := range t.Families {
			f := &t.Families[i]
			if f.Name == famEarly {
				early = f
			}
			for j := range f.Points {
				if f.Points[j].Setting == label && (last == nil || f.Points[j].Step > last.Step) {
					last = &f.Points[j]
				}
			}
		}
		if early == nil || last == nil {
			return "no runs of " + label + " or of α = 0", false
		}
		rw, cov := mean(last.EvalReward), mean(last.Coverage)
		a, b, w, ok := along(early.frontier(coverageOf), rw)
		if !ok {
			return fmt.Sprintf("%s: evaluator reward %.3f, coverage %.3f; α = 0 never reaches that reward", label, rw, cov), true
		}
		ec, esd := mix(a, b, w, coverageOf)
		n := len(last.Coverage)
		return fmt.Sprintf("%s: evaluator reward %.3f, coverage %s; α = 0 stopped early there: %s", label, rw, meanSD(cov, std(last.Coverage), n), meanSD(ec, esd, n)), cov > ec
	}
}

// Summary says which family keeps the most coverage at target, and how each
// other family compares with stopping α = 0 early there.
func (t *Tradeoff) Summary(target float64) string {
	var early, best *TradeoffRow
	for i := range t.Rows {
		row := &t.Rows[i]
		if row.Target != target || !row.Reached {
			continue
		}
		if row.Family == famEarly {
			early = row
		}
		if best == nil || row.Coverage > best.Coverage {
			best = row
		}
	}
	if best == nil {
		return "No family reaches this reward."
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Most coverage: %s (%.3f).", best.Family, best.Coverage)
	if early != nil {
		fmt.Fprintf(&b, " Against stopping α = 0 early (%.3f):", early.Coverage)
		for _, row := range t.Rows {
			if row.Target == target && row.Reached && row.Family != famEarly {
				fmt.Fprintf(&b, " %s %+.3f;", row.Family, row.Coverage-early.Coverage)
			}
		}
	}
	return strings.TrimSuffix(b.String(), ";") + "."
}

// reportTradeoff writes the frontier's table: each family's best coverage
// and recall at each target evaluator reward, and who leads there.
func reportTradeoff(p printer, t *Tradeoff) {
	p("Each family's frontier at an evaluator reward: the best coverage and recall along it (interpolated between its two\n")
	p("frontier points around that reward, seed by seed: a mixture of those two models reaches it; mean ± std over seeds\n")
	p("when there are several),\n")
	p("the hacking gap (the task's reward minus the evaluator's) and the W2 estimate there, and the frontier point nearest it.\n")
	p("\"never\": no evaluation of the family reaches that evaluator reward.\n\n")
	for _, target := range t.Targets {
		header, rows := t.Table(target)
		p("**At evaluator reward %.2f.**\n\n| %s |\n|%s\n", target, strings.Join(header, " | "), strings.Repeat("---|", len(header)))
		for _, r := range rows {
			p("| %s |\n", strings.Join(r, " | "))
		}
		p("\n%s\n\n", t.Summary(target))
	}
	if c := t.Collapse; c != nil {
		p("**The α = 0 collapse, judged by the evaluator and by coverage** (means over seeds, the base model at step %d against the end at step %d):\n\n", c.Base.Step, c.End.Step)
		p("| | largest digit (reward's classifier) | largest digit (evaluator) | evaluator's class entropy | coverage | recall | Vendi |\n|---|---|---|---|---|---|---|\n")
		for _, m := range []struct {
			name string
			m    CollapseMeasures
		}{{"base model", c.Base}, {"α = 0 at the end", c.End}} {
			p("| %s | %.0f%% | %.0f%% | %.3f | %.3f | %.3f | %.2f |\n", m.name, 100*m.m.Largest, 100*m.m.EvaluatorLargest, m.m.EvaluatorEntropy, m.m.Coverage, m.m.Recall, m.m.Vendi)
		}
		p("\n")
	}
}
