package experiment

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
	"github.com/orwcfm/orwcfm/pkg/vis"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

// Collection is what Collect found: the finished runs as a table, and the
// runs that have not reached their steps.
type Collection struct {
	// Table holds one row per finished run: sweeps' runs by sweep and
	// index, then other runs by directory.
	Table *Table
	// Unfinished are the runs of sweeps that have not reached the steps of
	// their SweepRecord (Steps holds the step count of their last
	// checkpoint), in the same order.
	Unfinished []Unfinished
}

// Unfinished is a run that has not reached its steps.
type Unfinished struct {
	Result
	// Target is the step count it is to be trained to.
	Target int64
}

// Collect finds the run directories under dirs (each a run directory or a
// directory that holds some, at any depth) and reads them without opening
// them, so that it works while other processes train them. A run counts up
// to its last checkpoint (what a resumed run keeps); its name is the trial
// name of its SweepRecord, or else its directory's name without the hash
// of its settings. A run of a sweep is finished when its checkpoint has
// reached the steps of its SweepRecord; other runs are taken as they are.
// A directory that holds no run is an error, and so is a damaged run.
func Collect(dirs ...string) (*Collection, error) {
	if len(dirs) == 0 {
		return nil, errors.New("experiment: Collect: no directories")
	}
	type found struct {
		res    Result
		rec    SweepRecord
		hasRec bool
	}
	var runs []found
	seen := map[string]bool{}
	for _, root := range dirs {
		n := 0
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() {
				return nil
			}
			if _, err := os.Stat(filepath.Join(path, "config.json")); err != nil {
				return nil
			}
			n++
			abs, _ := filepath.Abs(path)
			if seen[abs] {
				return filepath.SkipDir
			}
			seen[abs] = true
			res, err := readRun(path)
			if err != nil {
				return err
			}
			f := found{res: res}
			if rec, err := ReadSweepRecord(path); err == nil {
				f.rec, f.hasRec = rec, true
				f.res.Name = rec.Name
				if f.res.History != nil {
					f.res.History.Name = rec.Name
				}
			} else if !errors.Is(err, os.ErrNotExist) {
				return err
			}
			runs = append(runs, f)
			return filepath.SkipDir
		})
		if err != nil {
			return nil, fmt.Errorf("experiment: collecting %s: %w", root, err)
		}
		if n == 0 {
			return nil, fmt.Errorf("experiment: no runs under %s (a run directory holds config.json)", root)
		}
	}
	slices.SortStableFunc(runs, func(a, b found) int {
		switch {
		case a.hasRec && b.hasRec:
			return cmp.Or(cmp.Compare(a.rec.Sweep, b.rec.Sweep), cmp.Compare(a.rec.Index, b.rec.Index), cmp.Compare(a.res.RunDir, b.res.RunDir))
		case a.hasRec != b.hasRec:
			if a.hasRec {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.res.RunDir, b.res.RunDir)
	})
	c := &Collection{Table: &Table{}}
	for _, f := range runs {
		if f.hasRec && f.res.Steps < f.rec.Steps {
			c.Unfinished = append(c.Unfinished, Unfinished{Result: f.res, Target: f.rec.Steps})
			continue
		}
		c.Table.Rows = append(c.Table.Rows, f.res)
	}
	return c, nil
}

// readRun reads a run directory up to its last checkpoint.
func readRun(dir string) (Result, error) {
	info, err := rundir.ReadRunInfo(dir)
	if err != nil {
		return Result{}, err
	}
	base := filepath.Base(dir)
	if i := strings.LastIndexByte(base, '-'); i > 0 && len(base)-i-1 == 8 {
		base = base[:i]
	}
	r := Run{Trial: Trial{Name: base, Task: info.Meta["task"], Config: info.Config}, Dir: dir}
	res := r.blank()
	saved, err := rundir.ReadSaved(dir)
	if errors.Is(err, os.ErrNotExist) {
		// Created, never checkpointed: at step 0 with no history.
		res.Steps = 0
		res.History = &runplot.History{Name: base, Dir: dir, Config: info.Config, Meta: info.Meta}
		return res, nil
	}
	if err != nil {
		return res, err
	}
	h := &runplot.History{Name: base, Dir: dir, Config: info.Config, Meta: info.Meta, Steps: saved.Steps, Evals: saved.Evals}
	res.fill(h, saved.Step, info.Config.EvalSamples)
	return res, nil
}

// CollectFiles are the files that WriteCollected writes.
var CollectFiles = []string{"table.csv", "table.json", "reward_vs_alpha.png", "w2_vs_alpha.png", "pareto.png"}

// WriteCollected writes the table of t to dir as table.csv and table.json,
// and its trade-off plots, for the rows that have an evaluation: the final
// reward and W2 estimate against α (reward_vs_alpha.png, w2_vs_alpha.png;
// one curve per setting of everything but α and the seed, mean ± one
// standard deviation over seeds), and reward against W2 with the Pareto
// front (pareto.png, one point per trial name, the mean over its seeds).
// It returns the files written and, for each plot it could not draw (no α
// above 0, no evaluation), why.
func WriteCollected(t *Table, dir string) (files, skipped []string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	for _, name := range CollectFiles[:2] {
		p := filepath.Join(dir, name)
		if err := t.WriteFile(p); err != nil {
			return files, skipped, err
		}
		files = append(files, p)
	}
	plots := []struct {
		name string
		make func() (*plot.Plot, error)
	}{
		{CollectFiles[2], func() (*plot.Plot, error) { return AlphaPlot(t, runplot.Reward) }},
		{CollectFiles[3], func() (*plot.Plot, error) { return AlphaPlot(t, runplot.W2) }},
		{CollectFiles[4], func() (*plot.Plot, error) { return ParetoPlot(t) }},
	}
	for _, pl := range plots {
		p, perr := pl.make()
		if perr != nil {
			skipped = append(skipped, pl.name+": "+perr.Error())
			continue
		}
		path := filepath.Join(dir, pl.name)
		if err := vis.SavePlot(p, path, 6*vg.Inch, 4*vg.Inch); err != nil {
			return files, skipped, err
		}
		files = append(files, path)
	}
	return files, skipped, nil
}

// metricOf reads a metric of a row (the final evaluation's values).
func metricOf(r Result, m runplot.Metric) float64 {
	switch m.Label {
	case runplot.Reward.Label:
		return r.FinalReward
	case runplot.W2.Label:
		return r.W2Velocity
	case runplot.EmpiricalW2.Label:
		return r.EmpiricalW2
	case runplot.ClassEntropy.Label:
		return r.ClassEntropy
	}
	if r.History != nil {
		if e, ok := r.History.Final(); ok {
			return m.Value(e)
		}
	}
	return math.NaN()
}

// AlphaPlot draws a metric of the table's rows at their last evaluation
// against α: one curve per setting of everything but α and the seed
// (named by what differs between the curves: "τ=1", "method=raft"), each
// point the mean over the seeds with a band of ± one standard deviation
// when there are several. Rows without an evaluation are left out.
func AlphaPlot(t *Table, m runplot.Metric) (*plot.Plot, error) {
	rows := evaluated(t, m)
	if len(rows) == 0 {
		return nil, errors.New("no run has an evaluation")
	}
	if !slices.ContainsFunc(rows, func(r Result) bool { return r.Alpha > 0 }) {
		return nil, errors.New("every run has α = 0: nothing to plot against α")
	}
	groups, names := settingGroups(rows, func(c *orw.Config) { c.Alpha, c.Seed = 0, 0 })
	var series []vis.Series
	band := false
	for gi, g := range groups {
		byAlpha := map[float64][]float64{}
		var alphas []float64
		for _, r := range g {
			if _, ok := byAlpha[r.Alpha]; !ok {
				alphas = append(alphas, r.Alpha)
			}
			byAlpha[r.Alpha] = append(byAlpha[r.Alpha], metricOf(r, m))
		}
		slices.Sort(alphas)
		s := vis.Series{Name: names[gi]}
		for _, a := range alphas {
			mean, sd := meanSD(byAlpha[a])
			s.X, s.Y = append(s.X, a), append(s.Y, mean)
			s.Lo, s.Hi = append(s.Lo, mean-sd), append(s.Hi, mean+sd)
			band = band || len(byAlpha[a]) > 1
		}
		series = append(series, s)
	}
	if !band {
		for i := range series {
			series[i].Lo, series[i].Hi = nil, nil
		}
	}
	logY := false
	if m.Log {
		for _, s := range series {
			for _, y := range s.Y {
				logY = logY || y > 0
			}
		}
	}
	title := m.Label + " at the end vs α"
	if band {
		title += " (mean ± sd over seeds)"
	}
	p, err := vis.AlphaSweep(title, m.Label, logY, series...)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// ParetoPlot draws the final reward against the final W2 estimate, one
// point per trial name (the mean over its seeds), labelled with the name,
// with the Pareto front of the trade-off marked.
func ParetoPlot(t *Table) (*plot.Plot, error) {
	rows := evaluated(t, runplot.Reward)
	if len(rows) == 0 {
		return nil, errors.New("no run has an evaluation")
	}
	var names []string
	byName := map[string][]Result{}
	for _, r := range rows {
		if _, ok := byName[r.Name]; !ok {
			names = append(names, r.Name)
		}
		byName[r.Name] = append(byName[r.Name], r)
	}
	var w2, reward []float64
	logW2 := false
	for _, n := range names {
		var ws, rs []float64
		for _, r := range byName[n] {
			ws, rs = append(ws, r.W2Velocity), append(rs, r.FinalReward)
		}
		mw, _ := meanSD(ws)
		mr, _ := meanSD(rs)
		w2, reward = append(w2, mw), append(reward, mr)
		logW2 = logW2 || mw > 0
	}
	p, err := vis.TradeOff("reward vs W2 at the end", w2, reward, names, logW2)
	if err != nil {
		return nil, err
	}
	p.X.Label.Text = runplot.W2.Label
	return p, nil
}

// evaluated returns the rows whose metric is known.
func evaluated(t *Table, m runplot.Metric) []Result {
	var out []Result
	for _, r := range t.Rows {
		if v := metricOf(r, m); !math.IsNaN(v) && !math.IsInf(v, 0) {
			out = append(out, r)
		}
	}
	return out
}

// settingGroups groups rows by their task, options and Config with the
// fields that strip clears, in the order of first appearance, and names
// each group by the Config fields and task settings in which the groups
// differ ("" when there is one group).
func settingGroups(rows []Result, strip func(*orw.Config)) ([][]Result, []string) {
	type key struct {
		cfg  orw.Config
		meta string
	}
	var keys []key
	var groups [][]Result
	for _, r := range rows {
		c := resultConfig(r)
		strip(&c)
		var meta string
		if r.History != nil {
			b, _ := json.Marshal(r.History.Meta)
			meta = string(b)
		} else {
			meta = r.Task
		}
		k := key{c, meta}
		i := slices.IndexFunc(keys, func(x key) bool {
			a, _ := json.Marshal(x.cfg)
			b, _ := json.Marshal(k.cfg)
			return string(a) == string(b) && x.meta == k.meta
		})
		if i < 0 {
			keys = append(keys, k)
			groups = append(groups, nil)
			i = len(keys) - 1
		}
		groups[i] = append(groups[i], r)
	}
	names := make([]string, len(groups))
	if len(groups) < 2 {
		return groups, names
	}
	var differ []string
	for _, f := range ConfigFields {
		first, _ := FieldValue(keys[0].cfg, f.Path)
		for _, k := range keys[1:] {
			if v, _ := FieldValue(k.cfg, f.Path); v != first {
				differ = append(differ, f.Path)
				break
			}
		}
	}
	metaDiffers := false
	for _, k := range keys[1:] {
		metaDiffers = metaDiffers || k.meta != keys[0].meta
	}
	for i, k := range keys {
		var parts []string
		if metaDiffers {
			parts = append(parts, groups[i][0].Task)
		}
		for _, path := range differ {
			v, _ := FieldValue(k.cfg, path)
			name := FlagOf(path)
			if name == "" {
				name = path
			}
			parts = append(parts, axisName(name)+"="+v)
		}
		names[i] = strings.Join(parts, " ")
	}
	return groups, names
}

// resultConfig is the Config of a row: its history's, or the columns'.
func resultConfig(r Result) orw.Config {
	if r.History != nil {
		return r.History.Config
	}
	c := orw.Config{Tau: r.Tau, Alpha: r.Alpha, RefreshEvery: r.RefreshEvery, NormalizeWeights: r.NormalizeWeights, Seed: r.Seed}
	c.Method = orw.Method(r.Method)
	return c
}

// meanSD is the mean and sample standard deviation (0 for one value).
func meanSD(x []float64) (mean, sd float64) {
	if len(x) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	if len(x) > 1 {
		for _, v := range x {
			sd += (v - mean) * (v - mean)
		}
		sd = math.Sqrt(sd / float64(len(x)-1))
	}
	return mean, sd
}
