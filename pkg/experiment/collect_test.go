package experiment

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

// runTinySweep executes the tiny sweep (plus extra settings) under root and
// returns it with the grid's table.
func runTinySweep(t *testing.T, root string, extra map[string][]string) (*Sweep, *Table) {
	t.Helper()
	s, err := ParseSweep([]byte(tinyGrid))
	if err != nil {
		t.Fatal(err)
	}
	s.Out = root
	for k, v := range extra {
		if err := s.Set(k, v...); err != nil {
			t.Fatal(err)
		}
	}
	points, err := s.Points()
	if err != nil {
		t.Fatal(err)
	}
	table, err := s.Grid(points, 2, Options{FinalEval: true}).Execute(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s, table
}

func TestCollect(t *testing.T) {
	root := t.TempDir()
	s, table := runTinySweep(t, root, map[string][]string{"tau": {"0.5", "2"}})
	if len(table.Rows) != 8 {
		t.Fatalf("%d rows", len(table.Rows))
	}
	c, err := Collect(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Unfinished) != 0 || len(c.Table.Rows) != 8 {
		t.Fatalf("%d rows, %d unfinished", len(c.Table.Rows), len(c.Unfinished))
	}
	// Collect reads what the grid returned, in the grid's order.
	var a, b bytes.Buffer
	if err := table.WriteCSV(&a); err != nil {
		t.Fatal(err)
	}
	if err := c.Table.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("collected table differs from the grid's:\n%s\n%s", a.String(), b.String())
	}
	for i, r := range c.Table.Rows {
		if r.Name != table.Rows[i].Name || r.History == nil || len(r.History.Evals) != 3 {
			t.Errorf("row %d: name %q (want %q), history %v", i, r.Name, table.Rows[i].Name, r.History)
		}
		rec, err := ReadSweepRecord(r.RunDir)
		if err != nil || rec.Index != i || rec.Points != 8 || rec.Steps != 4 || rec.Settings["tau"] == "" {
			t.Errorf("row %d: sweep record %+v, %v", i, rec, err)
		}
	}

	// A run whose record asks for more steps than it has is unfinished.
	dir := c.Table.Rows[5].RunDir
	rec, _ := ReadSweepRecord(dir)
	rec.Steps = 10
	if err := writeSweepRecord(dir, rec); err != nil {
		t.Fatal(err)
	}
	c, err = Collect(s.Dir(), dir) // a directory given twice counts once
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Table.Rows) != 7 || len(c.Unfinished) != 1 || c.Unfinished[0].RunDir != dir || c.Unfinished[0].Steps != 4 || c.Unfinished[0].Target != 10 {
		t.Errorf("after raising a target: %d rows, unfinished %+v", len(c.Table.Rows), c.Unfinished)
	}

	// The table and the plots.
	out := t.TempDir()
	files, skipped, err := WriteCollected(c.Table, out)
	if err != nil || len(skipped) != 0 || len(files) != len(CollectFiles) {
		t.Fatalf("WriteCollected: %v, skipped %v, files %v", err, skipped, files)
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	f, _ := os.Open(filepath.Join(out, "table.json"))
	back, err := ReadJSON(f)
	f.Close()
	if err != nil || len(back.Rows) != 7 || back.Rows[0].FinalReward != c.Table.Rows[0].FinalReward {
		t.Errorf("table.json: %v", err)
	}

	if _, err := Collect(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no runs under") {
		t.Errorf("an empty directory: %v", err)
	}
}

// The α plots draw one curve per setting of the other axes, the mean over
// the seeds at each α; the names say what differs between the curves.
func TestAlphaPlotGroups(t *testing.T) {
	root := t.TempDir()
	_, table := runTinySweep(t, root, map[string][]string{"tau": {"0.5", "2"}})
	groups, names := settingGroups(table.Rows, func(c *orw.Config) { c.Alpha, c.Seed = 0, 0 })
	if len(groups) != 2 || names[0] != "τ=0.5" || names[1] != "τ=2" {
		t.Fatalf("groups %d, names %q", len(groups), names)
	}
	for _, g := range groups {
		if len(g) != 4 {
			t.Errorf("group of %d rows", len(g))
		}
	}
	p, err := AlphaPlot(table, runplot.Reward)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Title.Text, "mean ± sd over seeds") {
		t.Errorf("title %q", p.Title.Text)
	}
	// Without α > 0 there is no α axis.
	one := &Table{}
	for _, r := range table.Rows {
		if r.Alpha == 0 {
			one.Rows = append(one.Rows, r)
		}
	}
	if _, err := AlphaPlot(one, runplot.Reward); err == nil {
		t.Error("an α plot without α > 0")
	}
	if _, skipped, err := WriteCollected(one, t.TempDir()); err != nil || len(skipped) != 2 {
		t.Errorf("WriteCollected without α > 0: skipped %v, %v", skipped, err)
	}
	m, sd := meanSD([]float64{1, 3})
	if m != 2 || math.Abs(sd-math.Sqrt2) > 1e-15 {
		t.Errorf("meanSD = %v, %v", m, sd)
	}
}
