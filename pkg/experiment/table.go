package experiment

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

// RunSetting is what a Table says of a run's setting: its task, the
// settings of its Config that experiments vary, and its steps. Its JSON keys
// are the first columns of a Table.
type RunSetting struct {
	Task             string  `json:"task"`
	Method           string  `json:"method"`
	Tau              float64 `json:"tau"`
	Alpha            float64 `json:"alpha"`
	RefreshEvery     int     `json:"refresh_every"`
	Steps            int64   `json:"steps"`
	NormalizeWeights bool    `json:"normalize_weights"`
}

// Result is one row of a Table: a run's setting, its seed and where it
// ended. The Outcome is that of the run's last evaluation (its metrics NaN
// when it has none); the columns are those of Columns (the Outcome's other
// fields are not columns).
type Result struct {
	// Name is the run's trial name (not a column).
	Name string
	RunSetting
	Seed uint64
	Outcome
	// RunDir is the run directory.
	RunDir string

	// History is the run's history (not a column; nil in a table read back
	// from a file). Its ClassNames are nil for a run that was only read.
	History *runplot.History
	// Skipped tells that the run had reached its steps before and was only
	// read (not a column).
	Skipped bool
}

// Columns are the columns of a Table's CSV file, in order, and the keys of
// the objects of its JSON file; a table with an evaluator's numbers has
// EvaluatorColumns too.
var Columns = []string{
	"task", "method", "tau", "alpha", "refresh_every", "steps", "normalize_weights", "seed",
	"final_reward", "class_fractions", "class_entropy", "w2_velocity", "empirical_w2", "frechet", "wall_seconds", "run_dir",
}

// EvaluatorColumns are the columns of the numbers of a task's independent
// evaluator (orw.EvaluatorRecord of the last evaluation): its reward, the
// hacking gap, precision, recall, density, coverage and the Vendi score. A
// table has them, right after frechet, when one of its rows has an
// evaluator, and is empty (null in JSON) in the rows without one; a table
// where no row has one has the columns it had before evaluators existed.
var EvaluatorColumns = []string{"evaluator_reward", "hacking_gap", "precision", "recall", "density", "coverage", "vendi"}

// columns returns the table's columns: Columns, with EvaluatorColumns after
// frechet when a row has an evaluator.
func (t *Table) columns() []string {
	if !t.hasEvaluator() {
		return Columns
	}
	i := slices.Index(Columns, "frechet") + 1
	return append(append(append([]string{}, Columns[:i]...), EvaluatorColumns...), Columns[i:]...)
}

// hasEvaluator tells whether a row has an evaluator's numbers.
func (t *Table) hasEvaluator() bool {
	for _, r := range t.Rows {
		if r.Evaluator != nil {
			return true
		}
	}
	return false
}

// evaluatorValues are the values of EvaluatorColumns of an outcome (NaN: missing).
func evaluatorValues(o Outcome) []float64 {
	v := make([]float64, len(EvaluatorColumns))
	for i := range v {
		v[i] = math.NaN()
	}
	e := o.Evaluator
	if e == nil {
		return v
	}
	if e.Reward != nil {
		v[0] = *e.Reward
	}
	if e.HackingGap != nil {
		v[1] = *e.HackingGap
	}
	v[2], v[3], v[4], v[5], v[6] = e.Precision, e.Recall, e.Density, e.Coverage, e.Vendi
	return v
}

// Table holds the results of runs, one row per run.
type Table struct {
	Rows []Result
}

// Histories returns the histories of the rows that have one.
func (t *Table) Histories() []*runplot.History {
	var hs []*runplot.History
	for _, r := range t.Rows {
		if r.History != nil {
			hs = append(hs, r.History)
		}
	}
	return hs
}

// WriteCSV writes the table as CSV: a header of Columns (with
// EvaluatorColumns when a row has an evaluator), then one line per row. Numbers are written in the shortest form that reads back exactly,
// a missing one (NaN) as an empty field; class_fractions are separated by
// ';'.
func (t *Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	withEval := t.hasEvaluator()
	if err := cw.Write(t.columns()); err != nil {
		return err
	}
	for _, r := range t.Rows {
		fr := make([]string, len(r.ClassFractions))
		for i, f := range r.ClassFractions {
			fr[i] = num(f)
		}
		rec := []string{
			r.Task, r.Method, num(r.Tau), num(r.Alpha), strconv.Itoa(r.RefreshEvery), strconv.FormatInt(r.Steps, 10),
			strconv.FormatBool(r.NormalizeWeights), strconv.FormatUint(r.Seed, 10), num(r.FinalReward), strings.Join(fr, ";"),
			num(r.ClassEntropy), num(r.W2Velocity), num(r.EmpiricalW2), num(frechetColumn(r.Frechet)),
		}
		if withEval {
			for _, v := range evaluatorValues(r.Outcome) {
				rec = append(rec, num(v))
			}
		}
		rec = append(rec, num(r.WallSeconds), r.RunDir)
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// num writes a float in the shortest form that reads back exactly ("" for NaN).
func num(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// WriteJSON writes the table as an indented JSON array of objects with the
// keys of its columns (see WriteCSV); a missing number (NaN or infinite) is
// null.
func (t *Table) WriteJSON(w io.Writer) error {
	withEval := t.hasEvaluator()
	rows := make([]resultJSON, len(t.Rows))
	for i, r := range t.Rows {
		rows[i] = r.json(withEval)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

// jsonFloat is a float64 that JSON writes as null when it is not finite
// and reads back from null as NaN.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = jsonFloat(math.NaN())
		return nil
	}
	return json.Unmarshal(b, (*float64)(f))
}

// frechetColumn is the frechet column of an Outcome's Frechet: NaN (missing)
// when it was not measured.
func frechetColumn(f float64) float64 {
	if f == 0 {
		return math.NaN()
	}
	return f
}

// resultJSON is Result as JSON writes it: the metrics may be null.
type resultJSON struct {
	RunSetting
	Seed           uint64    `json:"seed"`
	FinalReward    jsonFloat `json:"final_reward"`
	ClassFractions []float64 `json:"class_fractions"`
	ClassEntropy   jsonFloat `json:"class_entropy"`
	W2Velocity     jsonFloat `json:"w2_velocity"`
	EmpiricalW2    jsonFloat `json:"empirical_w2"`
	Frechet        jsonFloat `json:"frechet"`
	*evaluatorJSON
	WallSeconds float64 `json:"wall_seconds"`
	RunDir      string  `json:"run_dir"`
}

// evaluatorJSON are the EvaluatorColumns of a row (absent from a table
// without an evaluator).
type evaluatorJSON struct {
	Reward     jsonFloat `json:"evaluator_reward"`
	HackingGap jsonFloat `json:"hacking_gap"`
	Precision  jsonFloat `json:"precision"`
	Recall     jsonFloat `json:"recall"`
	Density    jsonFloat `json:"density"`
	Coverage   jsonFloat `json:"coverage"`
	Vendi      jsonFloat `json:"vendi"`
}

// json is the row as JSON writes it, with the evaluator's columns when withEval.
func (r Result) json(withEval bool) resultJSON {
	j := resultJSON{
		RunSetting: r.RunSetting, Seed: r.Seed, FinalReward: jsonFloat(r.FinalReward), ClassFractions: r.ClassFractions,
		ClassEntropy: jsonFloat(r.ClassEntropy), W2Velocity: jsonFloat(r.W2Velocity), EmpiricalW2: jsonFloat(r.EmpiricalW2),
		Frechet: jsonFloat(frechetColumn(r.Frechet)), WallSeconds: r.WallSeconds, RunDir: r.RunDir,
	}
	if withEval {
		v := evaluatorValues(r.Outcome)
		j.evaluatorJSON = &evaluatorJSON{jsonFloat(v[0]), jsonFloat(v[1]), jsonFloat(v[2]), jsonFloat(v[3]), jsonFloat(v[4]), jsonFloat(v[5]), jsonFloat(v[6])}
	}
	return j
}

// MarshalJSON writes the row's columns (see WriteJSON), the evaluator's
// when the row has one.
func (r Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(r.json(r.Evaluator != nil))
}

// UnmarshalJSON reads a row that MarshalJSON wrote. The Outcome's fields
// that are not columns are NaN, its Frechet 0 when the column is null; its
// Evaluator holds the evaluator's columns when one of them is not null (its
// other fields zero).
func (r *Result) UnmarshalJSON(b []byte) error {
	// The evaluator's columns are read into a struct of their own (JSON
	// cannot allocate resultJSON's embedded pointer to an unexported
	// type); absent, they stay NaN.
	nan := jsonFloat(math.NaN())
	var in struct {
		resultJSON
		evaluatorJSON
	}
	in.evaluatorJSON = evaluatorJSON{nan, nan, nan, nan, nan, nan, nan}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	j := in.resultJSON
	o := unmeasured(0)
	o.FinalReward, o.ClassFractions, o.ClassEntropy = float64(j.FinalReward), j.ClassFractions, float64(j.ClassEntropy)
	o.W2Velocity, o.EmpiricalW2, o.WallSeconds = float64(j.W2Velocity), float64(j.EmpiricalW2), j.WallSeconds
	if f := float64(j.Frechet); !math.IsNaN(f) {
		o.Frechet = f
	}
	o.Evaluator = in.evaluatorJSON.record()
	*r = Result{RunSetting: j.RunSetting, Seed: j.Seed, Outcome: o, RunDir: j.RunDir}
	return nil
}

// record is the evaluator record of the columns, nil when all are null.
func (e *evaluatorJSON) record() *orw.EvaluatorRecord {
	vals := []jsonFloat{e.Reward, e.HackingGap, e.Precision, e.Recall, e.Density, e.Coverage, e.Vendi}
	if !slices.ContainsFunc(vals, func(v jsonFloat) bool { return !math.IsNaN(float64(v)) }) {
		return nil
	}
	ptr := func(v jsonFloat) *float64 {
		if math.IsNaN(float64(v)) {
			return nil
		}
		f := float64(v)
		return &f
	}
	zero := func(v jsonFloat) float64 { // a null in a row that has an evaluator
		if math.IsNaN(float64(v)) {
			return 0
		}
		return float64(v)
	}
	return &orw.EvaluatorRecord{Reward: ptr(e.Reward), HackingGap: ptr(e.HackingGap), Precision: zero(e.Precision),
		Recall: zero(e.Recall), Density: zero(e.Density), Coverage: zero(e.Coverage), Vendi: zero(e.Vendi)}
}

// ReadJSON reads a table that WriteJSON wrote.
func ReadJSON(rd io.Reader) (*Table, error) {
	var rows []Result
	if err := json.NewDecoder(rd).Decode(&rows); err != nil {
		return nil, fmt.Errorf("experiment: reading a table: %w", err)
	}
	return &Table{Rows: rows}, nil
}

// WriteFile writes the table to path, as CSV when its name ends in .csv
// and as JSON when it ends in .json, creating its directory if needed.
func (t *Table) WriteFile(path string) error {
	var write func(io.Writer) error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		write = t.WriteCSV
	case ".json":
		write = t.WriteJSON
	default:
		return fmt.Errorf("experiment: cannot write a table to %s: use a .csv or .json file name", path)
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
