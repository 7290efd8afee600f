package notebooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// EnvWrite, set to 1, makes TestNotebooks write every notebook that ran
// without failures back with its executed outputs.
const EnvWrite = "ORW_NOTEBOOK_WRITE"

// notePrefix starts the paragraph of a notebook's first cell that says
// which size produced the stored outputs; writeBack replaces it.
const notePrefix = "*Stored outputs:"

// EnvFull, set to 1, makes TestNotebooks execute the notebooks at their full
// size: without ORW_QUICK, reading the paper's runs where `orw reproduce`
// keeps them in this checkout (runs/reproduce), so that the stored outputs
// can show what the full size shows. Train those runs first (`orw reproduce
// NAME`), or the notebook trains them itself.
const EnvFull = "ORW_NOTEBOOK_FULL"

// fullSize tells whether TestNotebooks runs the notebooks at the full size.
func fullSize() bool { return os.Getenv(EnvFull) == "1" }

// sizeNote is that paragraph: the size, the steps at which the executed
// notebook's progress bars ended (barEnds), and when and how long it ran.
func sizeNote(full bool, barEnds []int, elapsed time.Duration, day time.Time) string {
	size, how, other := "**quick size** (`ORW_QUICK=1`)", "", "Run the notebook without `ORW_QUICK` for the full size."
	if full {
		size = "**full size**"
		how = fmt.Sprintf(" %s=1", EnvFull)
		other = "`ORW_QUICK=1` runs it at the quick size."
	}
	bars := ""
	if len(barEnds) > 0 {
		bars = fmt.Sprintf(", its training bars ending at step %s", joinInts(barEnds))
	}
	return fmt.Sprintf("%s the outputs below come from the %s%s, executed by the notebook test "+
		"(`ORW_NOTEBOOK_WRITE=1%s go test -run TestNotebooks ./notebooks/`) on %s in %s on %d CPU cores (the time depends on the machine and its load). %s*",
		notePrefix, size, bars, how, day.UTC().Format("2006-01-02"), elapsed.Round(time.Second), runtime.NumCPU(), other)
}

// joinInts writes 30, 60 and 90 (with thousands separated by commas).
func joinInts(v []int) string {
	var parts []string
	for _, x := range v {
		s := strconv.Itoa(x)
		if x >= 1000 {
			s = s[:len(s)-3] + "," + s[len(s)-3:]
		}
		parts = append(parts, s)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// barRE matches the text of a training progress bar: "name: 40/40 (100%)".
var barRE = regexp.MustCompile(`(\d+)/(\d+) \((\d+)%\)`)

// barEnds returns the sorted distinct totals of the progress bars among a
// notebook's outputs, and the bars that did not reach their total.
func barEnds(cells []cell) (ends []int, unfinished []string) {
	seen := map[int]bool{}
	for _, c := range cells {
		for _, o := range c.Outputs {
			t := text(o.Data["text/plain"])
			if t == "" {
				t = text(o.Text)
			}
			for _, m := range barRE.FindAllStringSubmatch(t, -1) {
				done, _ := strconv.Atoi(m[1])
				total, _ := strconv.Atoi(m[2])
				if done != total {
					unfinished = append(unfinished, firstLine(t))
				}
				if !seen[total] {
					seen[total] = true
					ends = append(ends, total)
				}
			}
		}
	}
	sort.Ints(ends)
	return ends, unfinished
}

// withNote returns a Markdown source with its stored-outputs paragraph (a
// paragraph that starts with notePrefix) replaced by note, or note appended
// as the last paragraph when there is none.
func withNote(src, note string) string {
	paras := strings.Split(strings.TrimRight(src, "\n"), "\n\n")
	kept := paras[:0]
	for _, p := range paras {
		if !strings.HasPrefix(strings.TrimSpace(p), notePrefix) {
			kept = append(kept, p)
		}
	}
	return strings.Join(append(kept, note), "\n\n")
}

// lines splits a notebook string into the list form nbformat writes: every
// line with its newline, the last without.
func lines(s string) []string {
	parts := strings.SplitAfter(s, "\n")
	if parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// writeBack replaces the outputs and execution counts of the notebook file
// src with those of the executed copy, keeps everything else of src (its
// sources and metadata; nbclient's timing metadata is dropped), writes the
// size note into the first cell (the full or the quick size, with the steps
// at which its progress bars ended), and replaces the temporary directory tmp
// in text outputs by "…" (it is where the test put the run directories).
func writeBack(src, executed string, full bool, elapsed time.Duration, tmp string) error {
	var orig, done map[string]any
	for _, x := range []struct {
		path string
		v    *map[string]any
	}{{src, &orig}, {executed, &done}} {
		b, err := os.ReadFile(x.path)
		if err != nil {
			return err
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(x.v); err != nil {
			return fmt.Errorf("%s: %w", x.path, err)
		}
	}
	oc, _ := orig["cells"].([]any)
	dc, _ := done["cells"].([]any)
	var first map[string]any
	if len(oc) != len(dc) || len(oc) == 0 {
		return fmt.Errorf("%s has %d cells, the executed copy %d", src, len(oc), len(dc))
	}
	for i := range oc {
		o, _ := oc[i].(map[string]any)
		d, _ := dc[i].(map[string]any)
		if o == nil || d == nil || o["cell_type"] != d["cell_type"] {
			return fmt.Errorf("cell %d differs in kind between %s and the executed copy", i, src)
		}
		if i == 0 && o["cell_type"] == "markdown" {
			first = o
		}
		if o["cell_type"] != "code" {
			continue
		}
		o["execution_count"] = d["execution_count"]
		outs, _ := d["outputs"].([]any)
		if outs == nil {
			outs = []any{}
		}
		o["outputs"] = scrub(outs, tmp)
	}
	var parsed struct {
		Cells []cell `json:"cells"`
	}
	if b, err := os.ReadFile(executed); err != nil || json.Unmarshal(b, &parsed) != nil {
		return fmt.Errorf("%s: cannot read its cells", executed)
	}
	ends, _ := barEnds(parsed.Cells)
	if first != nil {
		first["source"] = lines(withNote(text(mustRaw(first["source"])), sizeNote(full, ends, elapsed, time.Now())))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(orig); err != nil {
		return err
	}
	tmpFile := src + ".tmp"
	if err := os.WriteFile(tmpFile, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmpFile, src)
}

// mustRaw turns a decoded JSON value back into raw JSON for text.
func mustRaw(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// scrub replaces the temporary directory in every string of v by "…".
func scrub(v any, tmp string) []any {
	var walk func(any) any
	walk = func(x any) any {
		switch y := x.(type) {
		case string:
			if tmp != "" {
				return strings.ReplaceAll(y, tmp, "…")
			}
			return y
		case []any:
			for i := range y {
				y[i] = walk(y[i])
			}
			return y
		case map[string]any:
			for k := range y {
				y[k] = walk(y[k])
			}
			return y
		}
		return x
	}
	return walk(v).([]any)
}

// slowCells returns, for the log, the three slowest cells of an executed
// notebook from nbclient's timing metadata ("" without it).
func slowCells(executed string) string {
	b, err := os.ReadFile(executed)
	if err != nil {
		return ""
	}
	var nb struct {
		Cells []struct {
			Type     string          `json:"cell_type"`
			Source   json.RawMessage `json:"source"`
			Metadata struct {
				Execution map[string]string `json:"execution"`
			} `json:"metadata"`
		} `json:"cells"`
	}
	if json.Unmarshal(b, &nb) != nil {
		return ""
	}
	type timing struct {
		cell int
		d    time.Duration
		what string
	}
	var ts []timing
	for i, c := range nb.Cells {
		start, err1 := time.Parse(time.RFC3339Nano, c.Metadata.Execution["iopub.execute_input"])
		end, err2 := time.Parse(time.RFC3339Nano, c.Metadata.Execution["shell.execute_reply"])
		if c.Type == "code" && err1 == nil && err2 == nil {
			ts = append(ts, timing{i, end.Sub(start), firstLine(text(c.Source))})
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].d > ts[j].d })
	var parts []string
	for _, x := range ts[:min(3, len(ts))] {
		parts = append(parts, fmt.Sprintf("cell %d %s (%s)", x.cell, x.d.Round(100*time.Millisecond), x.what))
	}
	if len(parts) == 0 {
		return ""
	}
	return "; slowest: " + strings.Join(parts, ", ")
}

// storedNote matches the size note of a first cell: the size and, when the
// notebook trains, the steps at which its bars ended.
var storedNote = regexp.MustCompile(`\*Stored outputs: the outputs below come from the \*\*(quick|full) size\*\*[^,]*(?:, its training bars ending at step ([0-9, and]+))?, executed`)

// full lists the notebooks whose stored outputs are of the full size, with
// the steps of their runs there (the runs of `orw reproduce`, see
// docs/results.md); the others store the quick size's.
var full = map[string]int{"02_tau_sweep": 2000, "03_alpha_sweep": 2000, "04_compression_tradeoff": 1000, "07_baselines": 2000, "08_tradeoff": 400}

// sizeProblems checks that the stored outputs of notebook name are of the
// size its first cell states: the note names the size and the steps at which
// the training bars ended, the stored bars end there and all finished, and the
// notebooks listed in full store their full size.
func sizeProblems(name string, cells []cell) []string {
	if len(cells) == 0 {
		return []string{"no cells"}
	}
	m := storedNote.FindStringSubmatch(cells[0].source())
	if m == nil {
		return []string{"the first cell does not say which size produced the stored outputs"}
	}
	var bad []string
	ends, unfinished := barEnds(cells)
	if stated, found := m[2], joinInts(ends); len(ends) > 0 && stated != found {
		bad = append(bad, fmt.Sprintf("the first cell says the training bars ended at step %q, the stored bars end at %q", stated, found))
	}
	if len(unfinished) > 0 {
		bad = append(bad, fmt.Sprintf("stored progress bars that did not finish: %q", unfinished))
	}
	want := full[name]
	if m[1] == "full" && want == 0 {
		bad = append(bad, fmt.Sprintf("stored outputs of the full size, but %s is not among the notebooks stored at it", name))
	}
	if want > 0 && (m[1] != "full" || len(ends) == 0 || ends[len(ends)-1] != want) {
		bad = append(bad, fmt.Sprintf("the stored outputs should be the full size's, whose runs train %d steps; the note says %s size, bars ending at %q", want, m[1], m[2]))
	}
	return bad
}

// TestSizeProblems checks the size check on made-up notebooks.
func TestSizeProblems(t *testing.T) {
	mk := func(note string, bars ...string) []cell {
		cs := []cell{{Type: "markdown", Source: mustRaw("# T\n\n" + note)}}
		for _, b := range bars {
			cs = append(cs, cell{Type: "code", Outputs: []output{{Type: "display_data", Data: map[string]json.RawMessage{"text/plain": mustRaw(b)}}}})
		}
		return cs
	}
	fullNote := sizeNote(true, []int{2000}, time.Minute, time.Now())
	quickNote := sizeNote(false, []int{40}, time.Minute, time.Now())
	for _, c := range []struct {
		name  string
		cells []cell
		want  string // a problem containing this, or "" for none
	}{
		{"03_alpha_sweep", mk(fullNote, "α=0: 2000/2000 (100%) · eval reward 0.999"), ""},
		{"01_quickstart", mk(quickNote, "run: 40/40 (100%)"), ""},
		{"03_alpha_sweep", mk(quickNote, "α=0: 40/40 (100%)"), "should be the full size's"},
		{"03_alpha_sweep", mk(fullNote, "α=0: 40/40 (100%)"), `bars end at "40"`},
		{"03_alpha_sweep", mk(fullNote, "α=0: 1200/2000 (60%)"), "did not finish"},
		{"01_quickstart", mk(fullNote, "run: 2000/2000 (100%)"), "not among the notebooks stored at it"},
		{"01_quickstart", mk("no note", "run: 40/40 (100%)"), "does not say which size"},
	} {
		got := strings.Join(sizeProblems(c.name, c.cells), "; ")
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s with bars %v: problems %q, want one containing %q", c.name, len(c.cells)-1, got, c.want)
		}
	}
}

// TestStoredOutputs checks the outputs stored in the notebook files: every
// code cell was executed, none failed (error output, standard error) and
// each has the images its metadata expects, so that a reader sees the
// pictures without running anything; and the first cell says which size
// produced them. Make them with ORW_NOTEBOOK_WRITE=1 (see the package doc).
func TestStoredOutputs(t *testing.T) {
	for _, f := range notebookFiles(t) {
		t.Run(strings.TrimSuffix(f, ".ipynb"), func(t *testing.T) {
			var raw struct {
				Cells []struct {
					Type  string `json:"cell_type"`
					Count *int   `json:"execution_count"`
				} `json:"cells"`
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &raw); err != nil {
				t.Fatal(err)
			}
			nb := readNotebook(t, f)
			for i, c := range raw.Cells {
				if c.Type == "code" && c.Count == nil {
					t.Errorf("cell %d (%s) has not been executed: store the outputs with %s=1 go test -run 'TestNotebooks/%s' ./notebooks/",
						i, firstLine(nb.Cells[i].source()), EnvWrite, strings.TrimSuffix(f, ".ipynb"))
				}
			}
			if bad := failures(nb); len(bad) > 0 {
				t.Errorf("stored outputs with failures:\n  %s", strings.Join(bad, "\n  "))
			}
			for _, p := range sizeProblems(strings.TrimSuffix(f, ".ipynb"), nb.Cells) {
				t.Error(p)
			}
		})
	}
}

// TestWriteBack checks that writing outputs back keeps the sources, takes
// outputs and execution counts from the executed copy, scrubs the
// temporary directory and replaces the size note rather than adding one.
func TestWriteBack(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "nb.ipynb")
	executed := filepath.Join(dir, "executed.ipynb")
	orig := `{"cells": [
	 {"cell_type": "markdown", "id": "a", "metadata": {}, "source": ["# Title\n", "\n", "Text <b>&</b>.\n", "\n", "*Stored outputs: old note.*"]},
	 {"cell_type": "code", "id": "b", "execution_count": null, "metadata": {"orwcfm": {"min_images": 1}}, "outputs": [], "source": ["%%\n", "fmt.Println(dir)"]}
	], "metadata": {"kernelspec": {"name": "gonb"}}, "nbformat": 4, "nbformat_minor": 5}`
	run := `{"cells": [
	 {"cell_type": "markdown", "id": "a", "metadata": {}, "source": "# Changed by nbconvert"},
	 {"cell_type": "code", "id": "b", "execution_count": 3, "metadata": {"execution": {"iopub.execute_input": "2026-11-29T14:00:00.000Z", "shell.execute_reply": "2026-11-29T14:00:02.500Z"}},
	  "outputs": [{"output_type": "stream", "name": "stdout", "text": ["/tmp/T123/runs/quick/x\n"]}], "source": "other"}
	], "metadata": {"kernelspec": {"name": "gonb"}, "language_info": {"name": "go"}}, "nbformat": 4, "nbformat_minor": 5}`
	if err := os.WriteFile(src, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(executed, []byte(run), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := slowCells(executed); !strings.Contains(got, "cell 1 2.5s") {
		t.Errorf("slowCells = %q, want cell 1 at 2.5s", got)
	}
	for range 2 { // twice: the note is replaced, not repeated
		if err := writeBack(src, executed, false, 65*time.Second, "/tmp/T123"); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	nb := readNotebook(t, src)
	first := nb.Cells[0].source()
	if !strings.HasPrefix(first, "# Title\n\nText <b>&</b>.\n\n*Stored outputs: the outputs below") || strings.Count(first, notePrefix) != 1 {
		t.Errorf("first cell:\n%s", first)
	}
	if !storedNote.MatchString(first) || !strings.Contains(first, "in 1m5s") {
		t.Errorf("size note missing or without the time:\n%s", first)
	}
	c := nb.Cells[1]
	if c.source() != "%%\nfmt.Println(dir)" || c.Metadata.Orwcfm.MinImages != 1 {
		t.Errorf("code cell source or metadata changed: %q %+v", c.source(), c.Metadata)
	}
	if len(c.Outputs) != 1 || text(c.Outputs[0].Text) != "…/runs/quick/x\n" {
		t.Errorf("outputs %+v", c.Outputs)
	}
	if bytes.Contains(b, []byte("execute_input")) || bytes.Contains(b, []byte("language_info")) || bytes.Contains(b, []byte(`\u003c`)) {
		t.Errorf("written notebook carries nbclient metadata or escaped HTML:\n%s", b)
	}
	if !bytes.Contains(b, []byte(`"execution_count": 3`)) {
		t.Errorf("execution count not taken over:\n%s", b)
	}
}

// noteTime matches the execution time in a first cell's size note ("in 1m8s
// on 2 CPU cores").
var noteTime = regexp.MustCompile(` in ((?:\d+h)?(?:\d+m)?\d+s) on \d+ CPU cores`)

// durationWords writes a duration as the README's table does: "50 s",
// "1 min 8 s", "2 min", "1 h 3 min".
func durationWords(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	var parts []string
	if h > 0 {
		parts = append(parts, fmt.Sprintf("%d h", h))
	}
	if m > 0 {
		parts = append(parts, fmt.Sprintf("%d min", m))
	}
	if s > 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%d s", s))
	}
	return strings.Join(parts, " ")
}

// readmeSizes reads the table of README.md that lists the notebooks in
// course order: for each notebook, what its quick-size and full-size
// columns say.
func readmeSizes(readme string) (map[string][2]string, error) {
	rows := map[string][2]string{}
	name, quick, full := -1, -1, -1
	for _, line := range strings.Split(readme, "\n") {
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if name < 0 {
			for i, c := range cells {
				switch {
				case c == "notebook":
					name = i
				case strings.HasPrefix(c, "quick size"):
					quick = i
				case strings.HasPrefix(c, "full size"):
					full = i
				}
			}
			continue
		}
		if len(cells) <= max(name, quick, full) {
			return nil, fmt.Errorf("a row of %d cells: %s", len(cells), line)
		}
		rows[strings.Trim(cells[name], "`")] = [2]string{cells[quick], cells[full]}
	}
	if name < 0 || quick < 0 || full < 0 {
		return nil, fmt.Errorf("no table with the columns notebook, quick size and full size")
	}
	return rows, nil
}

// otherTimes matches durations in a notebook's first cell ("about a
// minute", "4 minutes", "10 seconds"), which belong in README.md's table.
var otherTimes = regexp.MustCompile(`(?i)\b(\d+|a few|several) (s|sec|seconds?|min|minutes?|h|hours?)\b|\b(an?|one) (minute|hour)s?\b`)

// TestNotebookTimes checks that README.md's table is the one place for the
// notebooks' times: it has a row for every notebook and none for a missing
// one; for the size whose outputs a notebook stores, it quotes the time its
// first cell records for them; and the first cells quote no other times.
func TestNotebookTimes(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := readmeSizes(string(b))
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	files := notebookFiles(t)
	for name := range rows {
		if !slices.Contains(files, name+".ipynb") {
			t.Errorf("README.md's table lists %s, which is not in notebooks/", name)
		}
	}
	for _, f := range files {
		name := strings.TrimSuffix(f, ".ipynb")
		first := readNotebook(t, f).Cells[0].source()
		size, took := storedNote.FindStringSubmatch(first), noteTime.FindStringSubmatch(first)
		if size == nil || took == nil {
			t.Errorf("%s: the first cell does not say which size its stored outputs are of and how long they took", f)
			continue
		}
		d, err := time.ParseDuration(took[1])
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		row, ok := rows[name]
		if !ok {
			t.Errorf("README.md's table has no row for %s: add one, with %s in its %s-size column (the time of its stored outputs)", name, durationWords(d), size[1])
			continue
		}
		cell := row[0]
		if size[1] == "full" {
			cell = row[1]
		}
		if want := durationWords(d); !regexp.MustCompile(`(^|[^0-9])` + regexp.QuoteMeta(want) + `\b`).MatchString(cell) {
			t.Errorf("README.md's table says %q for the %s size of %s, whose stored outputs took %s (its first cell): write %s", cell, size[1], name, took[1], want)
		}
		header := withNote(first, "")
		if m := otherTimes.FindAllString(header, -1); len(m) > 0 {
			t.Errorf("the first cell of %s quotes %q: times go into README.md's table, which the cell links to", f, m)
		}
	}
}

// TestDurationWords checks the README's way of writing times.
func TestDurationWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		50 * time.Second: "50 s", 68 * time.Second: "1 min 8 s", 2 * time.Minute: "2 min",
		time.Hour + 3*time.Minute: "1 h 3 min", 1400 * time.Millisecond: "1 s", 0: "0 s",
	} {
		if got := durationWords(d); got != want {
			t.Errorf("durationWords(%s) = %q, want %q", d, got, want)
		}
	}
}
