package experiment

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

// Result is one row of a Table: a run's setting and where it ended. The
// metrics are those of the run's last evaluation (NaN when it has none).
type Result struct {
	// Name is the run's trial name (not a column).
	Name string `json:"-"`
	// Task, Method, Tau, Alpha, RefreshEvery, NormalizeWeights and Seed
	// are the run's task and the settings of its Config that experiments
	// vary.
	Task             string  `json:"task"`
	Method           string  `json:"method"`
	Tau              float64 `json:"tau"`
	Alpha            float64 `json:"alpha"`
	RefreshEvery     int     `json:"refresh_every"`
	Steps            int64   `json:"steps"`
	NormalizeWeights bool    `json:"normalize_weights"`
	Seed             uint64  `json:"seed"`
	// FinalReward is the mean reward of the evaluation batch.
	FinalReward float64 `json:"final_reward"`
	// ClassFractions are the fractions of the evaluation samples in each
	// class of the task's judge (nil without a judge), and ClassEntropy
	// their normalised entropy.
	ClassFractions []float64 `json:"class_fractions"`
	ClassEntropy   float64   `json:"class_entropy"`
	// W2Velocity is the estimate E‖v_ft − v_ref‖², EmpiricalW2 the W2
	// distance between fine-tuned and reference samples.
	W2Velocity  float64 `json:"w2_velocity"`
	EmpiricalW2 float64 `json:"empirical_w2"`
	// Frechet is the Fréchet distance of the evaluation samples to real data
	// in the judge's feature space (NaN when the task has none).
	Frechet float64 `json:"frechet"`
	// WallSeconds is the time the run's history records: its steps'
	// sampling and update times and its evaluations' times, summed over
	// every session that trained it (checkpoints and hooks not included).
	WallSeconds float64 `json:"wall_seconds"`
	// RunDir is the run directory.
	RunDir string `json:"run_dir"`

	// History is the run's history (not a column; nil in a table read back
	// from a file). Its ClassNames are nil for a run that was only read.
	History *runplot.History `json:"-"`
	// Skipped tells that the run had reached its steps before and was only
	// read (not a column).
	Skipped bool `json:"-"`
}

// Columns are the columns of a Table's CSV file, in order, and the keys of
// the objects of its JSON file.
var Columns = []string{
	"task", "method", "tau", "alpha", "refresh_every", "steps", "normalize_weights", "seed",
	"final_reward", "class_fractions", "class_entropy", "w2_velocity", "empirical_w2", "frechet", "wall_seconds", "run_dir",
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

// WriteCSV writes the table as CSV: a header of Columns, then one line per
// row. Numbers are written in the shortest form that reads back exactly,
// a missing one (NaN) as an empty field; class_fractions are separated by
// ';'.
func (t *Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns); err != nil {
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
			num(r.ClassEntropy), num(r.W2Velocity), num(r.EmpiricalW2), num(r.Frechet), num(r.WallSeconds), r.RunDir,
		}
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
// keys of Columns; a missing number (NaN or infinite) is null.
func (t *Table) WriteJSON(w io.Writer) error {
	rows := t.Rows
	if rows == nil {
		rows = []Result{}
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

// resultJSON is Result as JSON writes it: the metrics may be null.
type resultJSON struct {
	Task             string    `json:"task"`
	Method           string    `json:"method"`
	Tau              float64   `json:"tau"`
	Alpha            float64   `json:"alpha"`
	RefreshEvery     int       `json:"refresh_every"`
	Steps            int64     `json:"steps"`
	NormalizeWeights bool      `json:"normalize_weights"`
	Seed             uint64    `json:"seed"`
	FinalReward      jsonFloat `json:"final_reward"`
	ClassFractions   []float64 `json:"class_fractions"`
	ClassEntropy     jsonFloat `json:"class_entropy"`
	W2Velocity       jsonFloat `json:"w2_velocity"`
	EmpiricalW2      jsonFloat `json:"empirical_w2"`
	Frechet          jsonFloat `json:"frechet"`
	WallSeconds      float64   `json:"wall_seconds"`
	RunDir           string    `json:"run_dir"`
}

// MarshalJSON writes the row's columns (see WriteJSON).
func (r Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(resultJSON{
		Task: r.Task, Method: r.Method, Tau: r.Tau, Alpha: r.Alpha, RefreshEvery: r.RefreshEvery, Steps: r.Steps,
		NormalizeWeights: r.NormalizeWeights, Seed: r.Seed, FinalReward: jsonFloat(r.FinalReward), ClassFractions: r.ClassFractions,
		ClassEntropy: jsonFloat(r.ClassEntropy), W2Velocity: jsonFloat(r.W2Velocity), EmpiricalW2: jsonFloat(r.EmpiricalW2), Frechet: jsonFloat(r.Frechet),
		WallSeconds: r.WallSeconds, RunDir: r.RunDir,
	})
}

// UnmarshalJSON reads a row that MarshalJSON wrote.
func (r *Result) UnmarshalJSON(b []byte) error {
	var j resultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Result{
		Task: j.Task, Method: j.Method, Tau: j.Tau, Alpha: j.Alpha, RefreshEvery: j.RefreshEvery, Steps: j.Steps,
		NormalizeWeights: j.NormalizeWeights, Seed: j.Seed, FinalReward: float64(j.FinalReward), ClassFractions: j.ClassFractions,
		ClassEntropy: float64(j.ClassEntropy), W2Velocity: float64(j.W2Velocity), EmpiricalW2: float64(j.EmpiricalW2), Frechet: float64(j.Frechet),
		WallSeconds: j.WallSeconds, RunDir: j.RunDir,
	}
	return nil
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
