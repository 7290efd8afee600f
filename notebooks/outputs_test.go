package notebooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
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

// sizeNote is that paragraph.
func sizeNote(elapsed time.Duration, day time.Time) string {
	return fmt.Sprintf("%s the outputs below come from the **quick size** (`ORW_QUICK=1`), executed by the notebook test "+
		"(`ORW_NOTEBOOK_WRITE=1 go test -run TestNotebooks ./notebooks/`) on %s in %s on %d CPU cores (the time depends on the machine and its load). "+
		"Run the notebook without `ORW_QUICK` for the full size.*", notePrefix, day.UTC().Format("2006-01-02"), elapsed.Round(time.Second), runtime.NumCPU())
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
// size note into the first cell, and replaces the temporary directory tmp
// in text outputs by "…" (it is where the test put the run directories).
func writeBack(src, executed string, elapsed time.Duration, tmp string) error {
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
			o["source"] = lines(withNote(text(mustRaw(o["source"])), sizeNote(elapsed, time.Now())))
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

// storedNote matches the size note of a first cell.
var storedNote = regexp.MustCompile(`\*Stored outputs: the outputs below come from the \*\*quick size\*\*`)

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
			if !storedNote.MatchString(nb.Cells[0].source()) {
				t.Error("the first cell does not say which size produced the stored outputs")
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
		if err := writeBack(src, executed, 65*time.Second, "/tmp/T123"); err != nil {
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
