package notebook

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/plot"

	"github.com/orwcfm/orwcfm/pkg/experiment"
	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/train"
	"github.com/orwcfm/orwcfm/pkg/vis"
)

func TestQuick(t *testing.T) {
	for v, want := range map[string]bool{"": false, "0": false, "false": false, "No": false, "1": true, "yes": true, "quick": true} {
		t.Setenv(EnvQuick, v)
		if Quick() != want || Pick(1, 2) != map[bool]int{true: 1, false: 2}[want] {
			t.Errorf("ORW_QUICK=%q: Quick() = %v, want %v", v, Quick(), want)
		}
		if got := Mode(); got != map[bool]string{true: "quick", false: "full"}[want] {
			t.Errorf("ORW_QUICK=%q: Mode() = %q", v, got)
		}
	}
}

func TestRepoRootAndDirs(t *testing.T) {
	root := RepoRoot()
	if root == "" {
		t.Fatal("RepoRoot found no checkout from the package directory")
	}
	if _, err := os.Stat(filepath.Join(root, "pkg", "notebook")); err != nil {
		t.Errorf("RepoRoot %s does not hold this package: %v", root, err)
	}
	t.Setenv(EnvRuns, "")
	t.Setenv(EnvOut, "")
	t.Setenv(EnvQuick, "1")
	if got, want := RunsDir(), filepath.Join(root, "runs", "notebooks", "quick"); got != want {
		t.Errorf("RunsDir %s, want %s", got, want)
	}
	if got, want := OutDir(), filepath.Join(root, "out", "notebook"); got != want {
		t.Errorf("OutDir %s, want %s", got, want)
	}
	t.Setenv(EnvRuns, "/r")
	t.Setenv(EnvOut, "/o")
	t.Setenv(EnvQuick, "")
	if RunsDir() != "/r/full" || OutDir() != "/o" {
		t.Errorf("overrides: %s %s", RunsDir(), OutDir())
	}

	// Outside a checkout there is no root, and runs go under the working directory.
	t.Chdir(t.TempDir())
	if r := RepoRoot(); r != "" {
		t.Errorf("RepoRoot in a temporary directory: %s", r)
	}
	t.Setenv(EnvRuns, "")
	if got := RunsDir(); got != filepath.Join("runs", "notebooks", "full") {
		t.Errorf("RunsDir outside a checkout: %s", got)
	}
	// A go.mod of another module is not ours.
	if err := os.WriteFile("go.mod", []byte("module example.com/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := RepoRoot(); r != "" {
		t.Errorf("RepoRoot took another module: %s", r)
	}
}

func TestRunDir(t *testing.T) {
	t.Setenv(EnvRuns, "/runs")
	t.Setenv(EnvQuick, "")
	cfg := orw.DefaultConfig()
	a := RunDir("02_tau_sweep/τ = 0", cfg)
	if !regexp.MustCompile(`^/runs/full/02_tau_sweep/tau-0-[0-9a-f]{8}$`).MatchString(a) {
		t.Errorf("RunDir = %s", a)
	}
	if b := RunDir("02_tau_sweep/τ = 0", cfg); b != a {
		t.Errorf("RunDir not stable: %s, %s", a, b)
	}
	cfg2 := cfg
	cfg2.Tau = 1
	if RunDir("02_tau_sweep/τ = 0", cfg2) == a || RunDir("02_tau_sweep/τ = 0", cfg, "other-task") == a {
		t.Error("RunDir ignores the config or the extras")
	}
	// The naming itself is package experiment's (see its tests).
	if want := experiment.RunDir("/runs/full", "02_tau_sweep/τ = 0", cfg); a != want {
		t.Errorf("RunDir = %s, experiment.RunDir = %s", a, want)
	}
	tr := Trial{Name: "τ = 0", Config: cfg}
	if got, want := TrialDir("02_tau_sweep", tr), experiment.TrialDir("/runs/full", "02_tau_sweep", tr); got != want {
		t.Errorf("TrialDir = %s, experiment.TrialDir = %s", got, want)
	}
}

func TestFresh(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	other := filepath.Join(dir, "other")
	for _, d := range []string{run, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(run, "config.json"), filepath.Join(run, "history.jsonl"), filepath.Join(other, "precious.txt")} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := Fresh(run); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(run); !os.IsNotExist(err) {
		t.Error("run not removed")
	}
	if err := Fresh(other); err == nil || !strings.Contains(err.Error(), "not a run directory") {
		t.Errorf("Fresh of a non-run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, "precious.txt")); err != nil {
		t.Error("non-run removed")
	}
	if err := Fresh(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("Fresh of a missing directory: %v", err)
	}
}

func TestSized(t *testing.T) {
	cfg := orw.DefaultConfig()
	cfg.RefreshEvery, cfg.PoolSize, cfg.Batch = 100, 4096, 128
	t.Setenv(EnvQuick, "")
	if got := Sized(cfg, 2000); got.Diff(cfg) != nil {
		t.Errorf("full size changed the config: %v", got.Diff(cfg))
	}
	t.Setenv(EnvQuick, "1")
	got := Sized(cfg, 40)
	if got.Batch != QuickBatch || got.EvalSamples != QuickEvalSamples || got.EvalEvery != 10 || got.CheckpointEvery != 10 ||
		got.RefreshEvery != 10 || got.PoolSize != QuickPool {
		t.Errorf("quick size of 40 steps: %+v", got)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("quick config invalid: %v", err)
	}
	cfg.RefreshEvery = 5 // already more frequent than a quarter of the run: kept
	if got := Sized(cfg, 2); got.RefreshEvery != 1 || got.EvalEvery != 1 {
		t.Errorf("2 steps: refresh every %d, evaluate every %d, want 1 and 1", got.RefreshEvery, got.EvalEvery)
	}
	if got := Sized(cfg, 400); got.RefreshEvery != 5 {
		t.Errorf("refresh every %d, want the config's 5", got.RefreshEvery)
	}
}

// TestSliderWithoutBrowser checks the slider's path without a browser (the
// notebook test's, with EnvNoWidgets): it draws the picture at Min, Value
// and Max, shows the one at Value with a note that says why there is no
// slider, and rejects bad ranges.
func TestSliderWithoutBrowser(t *testing.T) {
	t.Setenv(EnvNoWidgets, "1")
	d, r := notebookDisplay()
	var drawn []float64
	s := Slider{Label: "β = τN", Min: 0, Max: 64, Step: 0.5, Value: 4, W: 3, H: 2, Draw: func(v float64) (any, error) {
		drawn = append(drawn, v)
		return vis.Curves(fmt.Sprintf("β = %g", v), "x", "y", vis.Series{X: []float64{0, 1}, Y: []float64{0, v}})
	}}
	if err := d.showSlider(s); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(drawn, []float64{0, 4, 64}) {
		t.Errorf("drawn at %v, want 0, 4, 64", drawn)
	}
	if len(r.outs) != 2 {
		t.Fatalf("%d outputs, want a note and a picture", len(r.outs))
	}
	note, _ := r.outs[0].data["text/markdown"].(string)
	if !strings.Contains(note, EnvNoWidgets) || !strings.Contains(note, "β = τN = 4") {
		t.Errorf("note %q does not say why there is no slider and where the picture is drawn", note)
	}
	if img := decode(t, r.outs[1].data["image/png"]); img.Bounds().Dx() != 3*96 {
		t.Errorf("picture %v wide, want 3 inches at 96 dpi", img.Bounds())
	}

	// The slider's values are multiples of Step from Min, without rounding noise.
	s3 := Slider{Min: 0, Max: 1, Step: 0.1}
	if v := s3.at(3); v != 0.3 {
		t.Errorf("position 3 is %v, want 0.3", v)
	}

	for _, bad := range []Slider{
		{Label: "a", Min: 1, Max: 1, Step: 1, Draw: s.Draw},
		{Label: "b", Min: 0, Max: 1, Step: 0, Draw: s.Draw},
		{Label: "c", Min: 0, Max: 1, Step: 0.5, Value: 2, Draw: s.Draw},
		{Label: "d", Min: 0, Max: 1, Step: 1e-6, Draw: s.Draw},
		{Label: "e", Min: 0, Max: 1, Step: 0.5},
	} {
		if err := d.showSlider(bad); err == nil {
			t.Errorf("slider %q: no error for %+v", bad.Label, bad)
		}
	}
	fail := Slider{Label: "f", Min: 0, Max: 1, Step: 0.5, Draw: func(v float64) (any, error) {
		if v == 1 {
			return nil, os.ErrInvalid
		}
		return testPlot(t), nil
	}}
	if err := d.showSlider(fail); err == nil || !strings.Contains(err.Error(), `"f" at 1`) {
		t.Errorf("a failing Draw at the end of the range: %v", err)
	}
}

// output is one thing a notebook Display published.
type output struct {
	data map[string]any
	id   string
}

// recorder is a notebook front-end for tests.
type recorder struct {
	mu   sync.Mutex
	outs []output
}

func (r *recorder) publish(data map[string]any, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outs = append(r.outs, output{data, id})
}

func notebookDisplay() (*Display, *recorder) {
	r := &recorder{}
	return &Display{Notebook: true, Publish: r.publish, Text: failWriter{}}, r
}

// failWriter fails a test that writes text in notebook mode: it panics.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { panic("text written by a notebook display") }

func textDisplay(t *testing.T) (*Display, *bytes.Buffer) {
	var buf bytes.Buffer
	return &Display{Text: &buf, Dir: t.TempDir(), Publish: func(map[string]any, string) {
		t.Error("a text display published a notebook output")
	}}, &buf
}

func testPlot(t *testing.T) *plot.Plot {
	p, err := vis.Curves("c", "x", "y", vis.Series{X: []float64{0, 1}, Y: []float64{0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func decode(t *testing.T, b any) image.Image {
	t.Helper()
	data, ok := b.([]byte)
	if !ok {
		t.Fatalf("image/png content is a %T, want []byte", b)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func batch(n, h, w, c int) *orw.Images {
	im := &orw.Images{N: n, H: h, W: w, C: c, Pix: make([]float32, n*h*w*c)}
	for i := range im.Pix {
		im.Pix[i] = float32(i%7)/3 - 1
	}
	return im
}

func TestShowNotebook(t *testing.T) {
	d, r := notebookDisplay()
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(d.Show(testPlot(t), Name("curve"), Size(3, 2)))
	check(d.Show(Markdown("# Title $x^2$")))
	check(d.Show("plain *markdown*"))
	check(d.Show(HTML("<b>bold</b> &amp; more")))
	check(d.Show(Table{Header: []string{"run", "reward"}, Rows: [][]string{{"<α=0>", "0.9"}}}))
	check(d.Show(batch(10, 4, 4, 1), Cols(5), Scale(1)))
	check(d.Show(Row(Titled("τ = 0", batch(4, 4, 4, 1)), testPlot(t))))
	check(d.Show(Animation{Frames: []any{batch(4, 4, 4, 1), batch(4, 4, 4, 1)}, Delay: time.Second}))
	if len(r.outs) != 8 {
		t.Fatalf("%d outputs, want 8", len(r.outs))
	}
	for i, o := range r.outs {
		if o.id != "" {
			t.Errorf("output %d has display id %q", i, o.id)
		}
	}
	img := decode(t, r.outs[0].data["image/png"])
	if img.Bounds().Size() != image.Pt(288, 192) {
		t.Errorf("plot size %v, want 288×192", img.Bounds().Size())
	}
	if alt := r.outs[0].data["text/plain"]; alt != "curve (288×192)" {
		t.Errorf("alt text %q", alt)
	}
	if r.outs[1].data["text/markdown"] != "# Title $x^2$" || r.outs[2].data["text/markdown"] != "plain *markdown*" {
		t.Errorf("markdown outputs %v %v", r.outs[1].data, r.outs[2].data)
	}
	if r.outs[3].data["text/html"] != "<b>bold</b> &amp; more" || r.outs[3].data["text/plain"] != "bold & more" {
		t.Errorf("html output %v", r.outs[3].data)
	}
	html := r.outs[4].data["text/html"].(string)
	if !strings.Contains(html, "<th>reward</th>") || !strings.Contains(html, "<td>&lt;α=0&gt;</td>") {
		t.Errorf("table html %s", html)
	}
	// 5 columns of 4-pixel tiles with 1 pixel of padding.
	if got := decode(t, r.outs[5].data["image/png"]).Bounds().Size(); got != image.Pt(5*4+6, 2*4+3) {
		t.Errorf("grid size %v", got)
	}
	// A row: a titled grid and a 4×3 inch plot (384×288 px), 6 px apart.
	if got := decode(t, r.outs[6].data["image/png"]).Bounds().Size(); got.X != 2*384+3*6 || got.Y != 288+2*6 {
		t.Errorf("row size %v", got)
	}
	anim := r.outs[7].data["image/png"].([]byte)
	if n := apngFrames(t, anim); n != 2 {
		t.Errorf("animation has %d frames", n)
	}
}

// apngFrames counts the frames of an animated PNG.
func apngFrames(t *testing.T, b []byte) int {
	t.Helper()
	b = b[8:]
	for len(b) >= 12 {
		n := binary.BigEndian.Uint32(b)
		if string(b[4:8]) == "acTL" {
			return int(binary.BigEndian.Uint32(b[8:]))
		}
		b = b[12+n:]
	}
	t.Fatal("no acTL chunk: not an animated PNG")
	return 0
}

func TestShowText(t *testing.T) {
	d, buf := textDisplay(t)
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(d.Show(testPlot(t), Name("reward curve")))
	check(d.Show(Markdown("**note**\n")))
	check(d.Show(Table{Header: []string{"run", "reward"}, Rows: [][]string{{"a", "0.9"}, {"long name", "1"}}}))
	check(d.Show(HTML("<p>x &lt; y</p>")))
	check(d.Show(batch(3, 1, 1, 2)))
	check(d.Show(Animation{Frames: []any{testPlot(t), testPlot(t), testPlot(t)}, Delay: time.Second}, Name("anim")))
	var b bytes.Buffer
	img := image.NewGray(image.Rect(0, 0, 3, 2))
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	check(d.Show(b.Bytes()))
	want := []string{
		`[reward curve (576×384) → DIR/001-reward-curve.png]`,
		`**note**`,
		`run        reward`,
		`a          0.9`,
		`long name  1`,
		`x < y`,
		`[figure (442×384) → DIR/002-figure.png]`,
		`[anim (576×384, 3 frames) → DIR/003-anim.png]`,
		`[figure (3×2) → DIR/004-figure.png]`,
	}
	got := strings.Split(strings.TrimSpace(strings.ReplaceAll(buf.String(), d.Dir, "DIR")), "\n")
	if !slices.Equal(got, want) {
		t.Errorf("text output\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	files, _ := os.ReadDir(d.Dir)
	if len(files) != 4 {
		t.Errorf("%d files written, want 4", len(files))
	}
	f, err := os.ReadFile(filepath.Join(d.Dir, "003-anim.png"))
	if err != nil {
		t.Fatal(err)
	}
	if n := apngFrames(t, f); n != 3 {
		t.Errorf("animation file has %d frames", n)
	}

	for name, x := range map[string]any{
		"nil":        nil,
		"not png":    []byte("GIF89a"),
		"type":       42,
		"no frames":  Animation{},
		"empty":      []image.Image{},
		"empty row":  Row(),
		"bad batch":  &orw.Images{N: 2, H: 1, W: 1, C: 1},
		"bad frame":  Animation{Frames: []any{3}},
		"bad in row": Row(testPlot(t), "text"),
	} {
		if err := d.Show(x); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// clock is a fake clock that advances by step at every reading.
type clock struct {
	t    time.Time
	step time.Duration
}

func (c *clock) now() time.Time {
	c.t = c.t.Add(c.step)
	return c.t
}

func TestProgressNotebook(t *testing.T) {
	d, r := notebookDisplay()
	c := &clock{t: time.Unix(0, 0), step: 50 * time.Millisecond}
	d.Now = c.now
	p := d.NewProgress("train <x>", 100, 200)
	for s := int64(101); s <= 200; s++ {
		p.Set(s, "reward 0.5")
	}
	p.Done("done")
	p.Set(300, "ignored")
	q := d.NewProgress("other", 0, 10)
	if p.ID() == q.ID() || !strings.HasPrefix(p.ID(), "orwcfm-progress-") {
		t.Errorf("ids %q and %q", p.ID(), q.ID())
	}
	var ps []output
	for _, o := range r.outs {
		if o.id == p.ID() {
			ps = append(ps, o)
		}
	}
	// One output at the start, then at most one every 200 ms (every fourth
	// of the 100 updates at 50 ms), and the final one.
	if len(ps) < 20 || len(ps) > 30 {
		t.Errorf("%d updates of the bar, want about 27", len(ps))
	}
	first := ps[0].data["text/html"].(string)
	last := ps[len(ps)-1].data["text/html"].(string)
	if !strings.Contains(first, `<progress value="0" max="100"`) || !strings.Contains(first, "train &lt;x&gt;: 100/200 (50%)") {
		t.Errorf("first bar %s", first)
	}
	if !strings.Contains(last, `<progress value="100" max="100"`) || !strings.Contains(last, "200/200 (100%) · done") {
		t.Errorf("last bar %s", last)
	}
	if txt := ps[len(ps)-1].data["text/plain"].(string); !regexp.MustCompile(`^train <x>: 200/200 \(100%\) · done · 1.+/s · \d`).MatchString(txt) {
		t.Errorf("last bar text %q", txt)
	}
	mid := ps[len(ps)/2].data["text/plain"].(string)
	if !strings.Contains(mid, "reward 0.5") || !strings.Contains(mid, "left") {
		t.Errorf("bar while running %q", mid)
	}
}

func TestProgressText(t *testing.T) {
	d, buf := textDisplay(t)
	c := &clock{t: time.Unix(0, 0), step: time.Second}
	d.Now = c.now
	p := d.NewProgress("run", 0, 100)
	for s := int64(1); s <= 100; s++ {
		p.Set(s, "")
	}
	p.Done("")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	// The start, one line every 10 s (of 100 s), and the end.
	if len(lines) < 10 || len(lines) > 13 {
		t.Errorf("%d lines:\n%s", len(lines), buf.String())
	}
	if lines[0] != "run: 0/100 (0%)" || !strings.HasPrefix(lines[len(lines)-1], "run: 100/100 (100%) · 0.98/s · 1m") {
		t.Errorf("first and last lines %q, %q", lines[0], lines[len(lines)-1])
	}
}

// counter is a training loop's stepper that counts.
type counter struct{ n int64 }

func (c *counter) Step() (int64, error) { c.n++; return c.n, nil }
func (c *counter) StepCount() int64     { return c.n }

// TestProgressLoop attaches a bar to a training loop as its display.
func TestProgressLoop(t *testing.T) {
	d, buf := textDisplay(t)
	c := &clock{t: time.Unix(0, 0), step: time.Second}
	d.Now = c.now
	p := d.NewProgress("loop", 2, 12)
	l := train.New[int64](&counter{n: 2}, 12)
	train.AttachProgress(l, p, 1, func(n int64) string { return fmt.Sprintf("record %d", n) })
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if last := lines[len(lines)-1]; lines[0] != "loop: 2/12 (16%)" || !strings.HasPrefix(last, "loop: 12/12 (100%) · record 12 · ") {
		t.Errorf("bar of a loop:\n%s", buf.String())
	}
	n := len(lines)
	p.Done("record 12") // the same status: nothing more to show
	p.Set(20, "ignored")
	p.Done("interrupted")
	lines = strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != n+1 || !strings.HasPrefix(lines[n], "loop: 12/12 (100%) · interrupted") {
		t.Errorf("after Done:\n%s", buf.String())
	}
}

// TestProgressTimeLeftAfterTheFirstStep checks that a bar estimates the time
// left from the speed after the first unit of work (a slow first step that
// compiles does not inflate it), and that a loop's own estimate wins.
func TestProgressTimeLeftAfterTheFirstStep(t *testing.T) {
	d, r := notebookDisplay()
	now := time.Unix(0, 0)
	d.Now = func() time.Time { return now }
	last := func() string { return r.outs[len(r.outs)-1].data["text/plain"].(string) }
	p := d.NewProgress("run", 0, 100)
	now = now.Add(30 * time.Second) // the first step compiles
	p.Set(1, "")
	if strings.Contains(last(), "left") {
		t.Errorf("after the first step %q: no estimate yet", last())
	}
	for s := int64(2); s <= 10; s++ {
		now = now.Add(time.Second)
		p.Set(s, "")
	}
	// 9 steps in 9 s since the first: 90 steps left take 90 s (the mean
	// speed since the start, 10 steps in 39 s, would say 5m51s).
	if !strings.HasSuffix(last(), " · 1m30s left") {
		t.Errorf("after 10 steps %q, want 1m30s left", last())
	}

	q := d.NewProgress("loop", 0, 100)
	q.Update(train.Progress{Step: 1, Total: 100, Remaining: -1})
	if strings.Contains(last(), "left") {
		t.Errorf("loop without an estimate %q", last())
	}
	now = now.Add(time.Second)
	q.Update(train.Progress{Step: 2, Total: 100, Remaining: 42 * time.Second})
	if !strings.HasSuffix(last(), " · 42s left") {
		t.Errorf("loop's estimate 42 s: %q", last())
	}
}
