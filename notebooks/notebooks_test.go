// Package notebooks holds the project's GoNB notebooks and the test that runs
// them.
//
// TestNotebooks executes every notebook of this directory in its quick size
// (ORW_QUICK=1) through the GoNB kernel with Jupyter's nbconvert, and fails
// on an error output, on anything written to standard error (a failing "!"
// shell line or an unknown "%" magic, which nbconvert itself does not treat
// as errors, show up there) and on a cell that produced fewer images than its
// metadata "orwcfm": {"min_images": N} asks for. It needs Jupyter (nbconvert)
// and GoNB; without them it fails with the command that installs them,
// except under go test -short, where it is skipped. TestNotebookStructure
// checks the notebooks' shape without running them, and TestStoredOutputs
// checks that every notebook carries the outputs of a clean run (the
// pictures a reader sees on GitHub).
//
// One notebook runs alone with the subtest's name:
//
//	go test -count=1 -v -run 'TestNotebooks/03_alpha_sweep' ./notebooks/
//
// With ORW_NOTEBOOK_WRITE=1 the test writes each notebook that ran without
// failures back with its executed outputs and a note in its first cell on
// the size and time of that run; that is how the stored outputs are made:
//
//	ORW_NOTEBOOK_WRITE=1 go test -count=1 -v -run TestNotebooks ./notebooks/
//
// Run directories and pictures go to a temporary directory that the test
// removes (ORW_NOTEBOOK_RUNS, ORW_NOTEBOOK_OUT), never into the checkout.
package notebooks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// notebook is the part of an .ipynb file the tests read.
type notebook struct {
	Cells    []cell `json:"cells"`
	Metadata struct {
		Kernelspec struct {
			Name string `json:"name"`
		} `json:"kernelspec"`
	} `json:"metadata"`
}

type cell struct {
	Type     string          `json:"cell_type"`
	Source   json.RawMessage `json:"source"`
	Metadata struct {
		Orwcfm struct {
			MinImages int `json:"min_images"`
		} `json:"orwcfm"`
	} `json:"metadata"`
	Outputs []output `json:"outputs"`
}

type output struct {
	Type   string                     `json:"output_type"`
	Name   string                     `json:"name"`
	Text   json.RawMessage            `json:"text"`
	Data   map[string]json.RawMessage `json:"data"`
	EName  string                     `json:"ename"`
	EValue string                     `json:"evalue"`
}

// text joins a notebook string field, which is a string or a list of strings.
func text(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var l []string
	if json.Unmarshal(raw, &l) == nil {
		return strings.Join(l, "")
	}
	return string(raw)
}

func (c cell) source() string { return text(c.Source) }

func readNotebook(t *testing.T, path string) *notebook {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var nb notebook
	if err := json.Unmarshal(b, &nb); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &nb
}

// notebookFiles lists the notebooks of this directory, sorted.
func notebookFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	if len(files) == 0 {
		t.Fatal("no notebooks in notebooks/")
	}
	return files
}

// setupLine is the first code cell's command: build against this checkout.
var setupLine = regexp.MustCompile(`(?m)^!\*go mod edit -require=github\.com/orwcfm/orwcfm@v0\.0\.0-00010101000000-000000000000 -replace=github\.com/orwcfm/orwcfm=\$\{GONB_DIR\}/\.\.$`)

// gonbDisplays matches code that sends output to the notebook through GoNB
// directly; package notebook's functions wait for GoNB themselves.
var gonbDisplays = regexp.MustCompile(`gonbui\.(Display|Update|SendData)|dom\.|widgets\.`)

// TestNotebookStructure checks every notebook without running it: the GoNB
// kernel, an opening explanation, the offline set-up cell first and one
// parameters cell after it (the only place that picks between the two
// sizes), a closing "what to try next", janpfeifer/must rather than
// hand-made helpers, and defer gonbui.Sync() in every cell that displays
// through GoNB directly.
func TestNotebookStructure(t *testing.T) {
	want := []string{"01_quickstart", "02_tau_sweep", "03_alpha_sweep", "04_compression_tradeoff", "05_theory_toy2d", "06_how_it_works", "07_baselines", "08_tradeoff"}
	var have []string
	for _, f := range notebookFiles(t) {
		have = append(have, strings.TrimSuffix(f, ".ipynb"))
	}
	for _, w := range want {
		if !slices.Contains(have, w) {
			t.Errorf("notebook %s.ipynb is missing", w)
		}
	}
	for _, f := range notebookFiles(t) {
		t.Run(strings.TrimSuffix(f, ".ipynb"), func(t *testing.T) {
			nb := readNotebook(t, f)
			if nb.Metadata.Kernelspec.Name != "gonb" {
				t.Errorf("kernel %q, want gonb", nb.Metadata.Kernelspec.Name)
			}
			if len(nb.Cells) < 3 {
				t.Fatalf("%d cells", len(nb.Cells))
			}
			first, last := nb.Cells[0], nb.Cells[len(nb.Cells)-1]
			if first.Type != "markdown" || !strings.HasPrefix(first.source(), "# ") {
				t.Error("the first cell is not a Markdown explanation with a title")
			}
			if last.Type != "markdown" || !strings.Contains(strings.ToLower(last.source()), "what to try next") {
				t.Error(`the last cell is not a Markdown "What to try next"`)
			}
			var code []cell
			for _, c := range nb.Cells {
				if c.Type == "code" {
					code = append(code, c)
				}
			}
			if len(code) == 0 || !setupLine.MatchString(code[0].source()) {
				t.Error("the first code cell does not set up the build against this checkout (!*go mod edit -require=… -replace=…=${GONB_DIR}/..)")
			}
			images := 0
			for i, c := range code {
				src := c.source()
				if gonbDisplays.MatchString(src) && !strings.Contains(src, "defer gonbui.Sync()") {
					t.Errorf("code cell %d displays through GoNB but has no defer gonbui.Sync()", i)
				}
				if i > 1 && strings.Contains(src, "notebook.Pick(") || i > 1 && strings.Contains(src, "notebook.Quick()") {
					t.Errorf("code cell %d picks a size: only the parameters cell (code cell 1) may", i)
				}
				if strings.Contains(src, "notebook.Must") || strings.Contains(src, "notebook.Check(") {
					t.Errorf("code cell %d uses notebook.Must/Check: use github.com/janpfeifer/must", i)
				}
				images += c.Metadata.Orwcfm.MinImages
			}
			if len(code) < 2 || strings.HasPrefix(strings.TrimSpace(code[1].source()), "%%") {
				t.Error("the second code cell is not a parameters cell (imports and declarations, no %%)")
			}
			if images == 0 {
				t.Error("no cell expects an image (metadata orwcfm.min_images)")
			}
		})
	}
}

// failures returns what went wrong in an executed notebook: error outputs,
// standard error, and cells with fewer images than they expect.
func failures(nb *notebook) []string {
	var bad []string
	for i, c := range nb.Cells {
		if c.Type != "code" {
			continue
		}
		where := fmt.Sprintf("cell %d (%s)", i, firstLine(c.source()))
		images := 0
		for _, o := range c.Outputs {
			switch o.Type {
			case "error":
				bad = append(bad, fmt.Sprintf("%s: error %s: %s", where, o.EName, trim(o.EValue)))
			case "stream":
				if o.Name == "stderr" {
					bad = append(bad, fmt.Sprintf("%s: standard error: %s", where, trim(text(o.Text))))
				}
			case "display_data", "execute_result":
				if raw, ok := o.Data["image/png"]; ok {
					var s string
					if json.Unmarshal(raw, &s) == nil {
						if b, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(s, "\n", "")); err == nil && bytes.HasPrefix(b, []byte("\x89PNG")) {
							images++
						}
					}
				}
			}
		}
		if images < c.Metadata.Orwcfm.MinImages {
			bad = append(bad, fmt.Sprintf("%s: %d images, want at least %d", where, images, c.Metadata.Orwcfm.MinImages))
		}
	}
	return bad
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && l != "%%" && !strings.HasPrefix(l, "defer ") {
			return trim(l)
		}
	}
	return ""
}

func trim(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

// installHint is how to install what the notebook test needs.
const installHint = "install Jupyter's nbconvert, GoNB and goimports with scripts/setup.sh --test (as root it installs the Debian packages; see README, section Set-up), or run go test -short to skip this test"

// lookTool finds a program on PATH or in $(go env GOPATH)/bin.
func lookTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", name)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p
			}
		}
	}
	return ""
}

// readInputs reads what the notebooks build from: this directory, the
// packages and the module files. Reading them makes them inputs of the
// test, so that go test does not reuse a cached pass after any of them
// changed (the kernel reads them in other processes, which go test cannot
// see). It returns a digest for the log.
func readInputs(t *testing.T) string {
	t.Helper()
	h := sha256.New()
	add := func(path string) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		h.Write([]byte(path))
		h.Write(b)
	}
	for _, f := range []string{"../go.mod", "../go.sum", "../scripts/kernel.sh", "../scripts/env.sh"} {
		add(f)
	}
	for _, root := range []string{".", "../pkg"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
				return filepath.SkipDir
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".ipynb") || strings.HasSuffix(path, ".ckpt")) {
				add(path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// TestNotebooks executes every notebook in its quick size through GoNB.
func TestNotebooks(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped under -short: executes every notebook through Jupyter and GoNB (several minutes)")
	}
	digest := readInputs(t)
	var missing []string
	tools := map[string]string{}
	for _, name := range []string{"jupyter", "jupyter-nbconvert", "gonb", "goimports"} {
		if tools[name] = lookTool(name); tools[name] == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("the notebook test needs %s, not found on PATH or in $(go env GOPATH)/bin: %s", strings.Join(missing, ", "), installHint)
	}
	tmp := t.TempDir()
	// A kernel of our own, registered by the script users run, in a
	// Jupyter data directory of our own.
	jdata := filepath.Join(tmp, "jupyter")
	path := strings.Join([]string{filepath.Dir(tools["gonb"]), filepath.Dir(tools["goimports"]), os.Getenv("PATH")}, string(os.PathListSeparator))
	size := []string{"ORW_QUICK=1", "ORW_REPRODUCE_RUNS=" + filepath.Join(tmp, "reproduce")}
	if fullSize() {
		// The paper's runs stay where orw reproduce keeps them in this checkout.
		size = []string{"ORW_QUICK="}
	}
	env := append(append(os.Environ(), size...),
		"JUPYTER_DATA_DIR="+jdata,
		"PATH="+path,
		// nbconvert runs no browser, so the sliders (GoNB widgets) would wait
		// for one forever: notebook.Slider draws its picture at the start,
		// the minimum and the maximum instead, and says so in the output.
		"ORW_NO_WIDGETS=1",
		"ORW_NOTEBOOK_RUNS="+filepath.Join(tmp, "runs"),
		"ORW_NOTEBOOK_OUT="+filepath.Join(tmp, "out"),
	)
	kernel := exec.Command("bash", "../scripts/kernel.sh")
	kernel.Env = env
	if out, err := kernel.CombinedOutput(); err != nil {
		t.Fatalf("scripts/kernel.sh failed: %v\n%s", err, out)
	}
	var spec struct {
		Argv []string          `json:"argv"`
		Env  map[string]string `json:"env"`
	}
	b, err := os.ReadFile(filepath.Join(jdata, "kernels", "gonb", "kernel.json"))
	if err == nil {
		err = json.Unmarshal(b, &spec)
	}
	if err != nil {
		t.Fatalf("kernel.json: %v", err)
	}
	for _, k := range []string{"GOTOOLCHAIN", "GOEXPERIMENT", "PATH"} {
		if spec.Env[k] == "" {
			t.Errorf("kernel.json has no %s in its env", k)
		}
	}
	if !strings.Contains(spec.Env["GOEXPERIMENT"], "simd") {
		t.Errorf("kernel.json GOEXPERIMENT=%q, want simd", spec.Env["GOEXPERIMENT"])
	}
	t.Logf("inputs %s, kernel %s", digest, spec.Argv[0])

	outDir := filepath.Join(tmp, "executed")
	total := time.Now()
	for _, f := range notebookFiles(t) {
		name := strings.TrimSuffix(f, ".ipynb")
		t.Run(name, func(t *testing.T) {
			if dl, ok := t.Deadline(); ok && time.Until(dl) < 4*time.Minute {
				t.Fatalf("only %s left before the test deadline: run the notebook test with -timeout 30m (make test does)", time.Until(dl).Round(time.Second))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
			defer cancel()
			start := time.Now()
			cmd := exec.CommandContext(ctx, tools["jupyter"], "nbconvert", "--to", "notebook", "--execute",
				"--ExecutePreprocessor.timeout=600", "--output-dir="+outDir, f)
			cmd.Env = env
			log, err := cmd.CombinedOutput()
			elapsed := time.Since(start).Round(time.Second)
			executed := filepath.Join(outDir, f)
			keep := func() {
				if _, err := os.Stat(executed); err == nil {
					dst := filepath.Join(t.ArtifactDir(), f)
					if b, err := os.ReadFile(executed); err == nil && os.WriteFile(dst, b, 0o644) == nil {
						t.Logf("executed notebook kept in %s (see go test -artifacts)", dst)
					}
				}
			}
			if err != nil {
				keep()
				t.Fatalf("nbconvert failed after %s: %v\n%s", elapsed, err, tail(string(log), 40))
			}
			nb := readNotebook(t, executed)
			if bad := failures(nb); len(bad) > 0 {
				keep()
				t.Errorf("%s ran in %s with failures:\n  %s", f, elapsed, strings.Join(bad, "\n  "))
				return
			}
			t.Logf("%s: %s%s", f, elapsed, slowCells(executed))
			if os.Getenv(EnvWrite) == "1" {
				if err := writeBack(f, executed, fullSize(), elapsed, tmp); err != nil {
					t.Fatalf("writing the outputs back into %s: %v", f, err)
				}
				t.Logf("wrote the executed outputs back into %s", f)
			}
		})
	}
	t.Logf("all notebooks: %s", time.Since(total).Round(time.Second))
}

// tail returns the last n lines of s, without the kernel's own log lines.
func tail(s string, n int) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if len(l) > 5 && (l[0] == 'I' || l[0] == 'W') && l[1] >= '0' && l[1] <= '9' {
			continue // klog info and warning lines of GoNB
		}
		keep = append(keep, l)
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	return strings.Join(keep, "\n")
}

// TestFailures checks that the scan of executed notebooks catches what
// nbconvert lets pass: a failing "!" line and an unknown "%" magic print to
// standard error (as GoNB 0.11.5 does), and a cell without its images.
func TestFailures(t *testing.T) {
	png := base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\nrest"))
	nbJSON := `{"cells": [
	 {"cell_type": "markdown", "source": "# t", "metadata": {}},
	 {"cell_type": "code", "source": ["!false"], "metadata": {}, "outputs": [{"output_type": "stream", "name": "stderr", "text": ["exit status 1\n"]}]},
	 {"cell_type": "code", "source": "%nosuchmagic", "metadata": {}, "outputs": [{"output_type": "stream", "name": "stderr", "text": "\"%nosuchmagic\" unknown or not implemented yet."}]},
	 {"cell_type": "code", "source": "%%\npanic(1)", "metadata": {}, "outputs": [{"output_type": "error", "ename": "ERROR", "evalue": "exit status 2", "traceback": []}]},
	 {"cell_type": "code", "source": "%%\nshow()", "metadata": {"orwcfm": {"min_images": 2}}, "outputs": [
	   {"output_type": "display_data", "data": {"image/png": "` + png + `", "text/plain": "x"}, "metadata": {}},
	   {"output_type": "display_data", "data": {"text/html": "<b>no image</b>"}, "metadata": {}}]},
	 {"cell_type": "code", "source": "%%\nok()", "metadata": {"orwcfm": {"min_images": 1}}, "outputs": [
	   {"output_type": "stream", "name": "stdout", "text": "fine\n"},
	   {"output_type": "display_data", "data": {"image/png": "` + png + `"}, "metadata": {}}]}
	]}`
	var nb notebook
	if err := json.Unmarshal([]byte(nbJSON), &nb); err != nil {
		t.Fatal(err)
	}
	got := failures(&nb)
	want := []string{
		"cell 1 (!false): standard error: exit status 1",
		`cell 2 (%nosuchmagic): standard error: "%nosuchmagic" unknown or not implemented yet.`,
		"cell 3 (panic(1)): error ERROR: exit status 2",
		"cell 4 (show()): 1 images, want at least 2",
	}
	if !slices.Equal(got, want) {
		t.Errorf("failures:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
