package notebook

import (
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
	"github.com/orwcfm/orwcfm/pkg/orw/metrics"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/ode"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
	"github.com/orwcfm/orwcfm/pkg/orw/train"
	"github.com/orwcfm/orwcfm/pkg/tasks"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

// tinyRun creates a run of a tiny untrained latent generator of 8×8 images,
// rewarded by mean brightness, judged into two classes by it.
func tinyRun(t *testing.T) *rundir.Run {
	t.Helper()
	be, err := backends.Default()
	if err != nil {
		t.Fatal(err)
	}
	ae, err := nets.NewAutoencoder(nets.AutoencoderConfig{Shape: []int{8, 8, 1}, Latent: 4, Channels: []int{4}})
	if err != nil {
		t.Fatal(err)
	}
	flow, err := nets.New(nets.Config{Kind: "mlp", Shape: []int{4}, Width: 16, Depth: 2, TimeDim: 8})
	if err != nil {
		t.Fatal(err)
	}
	aeParams := nets.Init(append(ae.EncoderSpecs(), ae.DecoderSpecs()...), orw.NewRNG(1).Rand)
	g, err := orw.NewLatentGenerator(ae, aeParams, []float32{0, 0, 0, 0}, []float32{1, 1, 1, 1}, flow, nets.Init(flow.Specs(), orw.NewRNG(2).Rand), orw.DefaultConfig().Sampler)
	if err != nil {
		t.Fatal(err)
	}
	cfg := orw.DefaultConfig()
	cfg.Batch = 8
	cfg.EvalEvery = 4
	cfg.EvalSamples = 8
	cfg.W2Times = 2
	cfg.CheckpointEvery = 4
	cfg.Sampler = orw.SamplerConfig{Solver: ode.Euler, Steps: 2}
	env := orw.Env{Backend: be, Base: g, Reward: orw.MeanPixel, Judge: brightJudge{}}
	run, err := rundir.Create(filepath.Join(t.TempDir(), "tiny"), cfg, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run.Close() })
	return run
}

type brightJudge struct{}

func (brightJudge) ClassNames() []string { return []string{"dark", "bright"} }
func (brightJudge) Classify(im *orw.Images) ([]int, error) {
	r, _ := orw.MeanPixel(im)
	c := make([]int, len(r))
	for i, x := range r {
		if x > 0 {
			c[i] = 1
		}
	}
	return c, nil
}

func TestLiveNotebook(t *testing.T) {
	run := tinyRun(t)
	var outer []int64
	run.Loop().OnStep("outer", 1, train.PriorityDisplay, func(_ *train.Loop[orw.StepRecord], s orw.StepRecord) error {
		outer = append(outer, s.Step)
		return nil
	})
	before := run.Loop().Hooks()
	d, r := notebookDisplay()
	v := d.Live(run, 3)
	if len(run.Loop().Hooks()) != len(before)+4 {
		t.Errorf("the live view registered %v, want 4 hooks more than %v", run.Loop().Hooks(), before)
	}
	if err := v.Step(10); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if len(outer) != 10 {
		t.Errorf("the loop's other hook saw %d steps, want 10", len(outer))
	}
	if got := run.Loop().Hooks(); !slices.Equal(got, before) {
		t.Errorf("after Close the loop has the hooks %v, want %v", got, before)
	}
	var bar, dash []output
	for _, o := range r.outs {
		switch {
		case strings.HasPrefix(o.id, "orwcfm-progress-"):
			bar = append(bar, o)
		case strings.HasPrefix(o.id, "orwcfm-live-"):
			dash = append(dash, o)
		default:
			t.Errorf("output without a live id: %v", o.id)
		}
	}
	// Drawn at step 0, at steps 3, 6, 9 (every 3), at the evaluations of
	// steps 4 and 8, and at the end (step 10).
	if len(dash) != 7 {
		t.Errorf("%d dashboard outputs, want 7", len(dash))
	}
	for _, o := range dash[1:] {
		if o.id != dash[0].id {
			t.Fatal("dashboard outputs with different ids")
		}
	}
	img := decode(t, dash[len(dash)-1].data["image/png"])
	if img.Bounds().Dx() < 600 || img.Bounds().Dy() < 400 {
		t.Errorf("dashboard %v, want two rows of two panels", img.Bounds())
	}
	if alt := dash[len(dash)-1].data["text/plain"].(string); !strings.Contains(alt, "tiny at step 10") {
		t.Errorf("alt text %q", alt)
	}
	if len(bar) < 2 {
		t.Fatalf("%d progress outputs", len(bar))
	}
	last := bar[len(bar)-1].data["text/plain"].(string)
	if !regexp.MustCompile(`^tiny: 10/10 \(100%\) · eval reward -?[0-9.]+ · W2 [0-9.e-]+ · batch reward -?[0-9.]+ · `).MatchString(last) {
		t.Errorf("last progress %q", last)
	}
	// The view continues from where an earlier cell left the run.
	v = d.Live(run, 0)
	if err := v.Step(2); err != nil {
		t.Fatal(err)
	}
	v.Close()
	if len(v.hist.Steps) != 12 || run.StepCount() != 12 {
		t.Errorf("history has %d steps after the second view, run %d", len(v.hist.Steps), run.StepCount())
	}
	if err := v.Step(1); err == nil {
		t.Error("a closed view stepped")
	}
}

func TestLiveText(t *testing.T) {
	run := tinyRun(t)
	d, buf := textDisplay(t)
	v := d.Live(run, 2)
	if err := v.StepTo(5); err != nil {
		t.Fatal(err)
	}
	v.Close()
	out := buf.String()
	if !strings.HasPrefix(out, "tiny: 0/5 (0%)\n") || !strings.Contains(out, "tiny: 5/5 (100%) · eval reward") {
		t.Errorf("text output:\n%s", out)
	}
	files, _ := filepath.Glob(filepath.Join(d.Dir, "*tiny-step-5.png"))
	if len(files) != 1 || !strings.Contains(out, files[0]) {
		t.Errorf("dashboard files %v; output:\n%s", files, out)
	}
}

// TestTrials trains two tiny trials of the shipped MNIST task, in two
// sessions as two notebook cells would, and reads them back.
func TestTrials(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on the shipped MNIST model")
	}
	t.Setenv(EnvRuns, t.TempDir())
	t.Setenv(EnvQuick, "1")
	cfg := orw.DefaultConfig()
	cfg.Batch = 8
	cfg.EvalEvery = 2
	cfg.EvalSamples = 16
	cfg.W2Times = 2
	cfg.CheckpointEvery = 2
	cfg.Sampler = orw.SamplerConfig{Solver: ode.Euler, Steps: 4}
	cfg.Coupling = "ot"
	a, b := cfg, cfg
	b.Alpha = 0
	trials := []Trial{{Name: "α = 1", Config: a}, {Name: "α = 0", Config: b, Options: tasks.Options{Model: "latent"}}}
	if _, err := LoadTrials("test", trials...); err == nil || !strings.Contains(err.Error(), "run the cell that trains it") {
		t.Errorf("LoadTrials before training: %v", err)
	}

	d, r := notebookDisplay()
	hs, err := d.RunTrials("test", 2, trials...)
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 2 || len(hs[1].Steps) != 2 || hs[1].Name != "α = 0" || len(hs[0].ClassNames) != 10 {
		t.Fatalf("histories %+v", hs)
	}
	// mnist-even rewards the even digits: the class plots grey the others.
	for _, h := range hs {
		if !slices.Equal(h.Rewarded, []int{0, 2, 4, 6, 8}) {
			t.Errorf("%s: rewarded classes %v, want the even digits", h.Name, h.Rewarded)
		}
	}
	cmp := r.outs[0]
	if !strings.HasPrefix(cmp.id, "orwcfm-trials-") || cmp.data["text/html"] == nil {
		t.Errorf("first output %v, want the placeholder of the curves", cmp)
	}
	var curves int
	for _, o := range r.outs {
		if o.id == cmp.id && o.data["image/png"] != nil {
			curves++
		}
	}
	if curves < 3 {
		t.Errorf("curves drawn %d times", curves)
	}

	// A second session continues to 4 steps; text mode writes the curves.
	td, buf := textDisplay(t)
	hs, err = td.RunTrials("test", 4, trials...)
	if err != nil {
		t.Fatal(err)
	}
	if len(hs[0].Steps) != 4 || !strings.Contains(buf.String(), "α = 0: 4/4 (100%)") || !strings.Contains(buf.String(), "test-trials.png") {
		t.Errorf("second session: %d steps; output:\n%s", len(hs[0].Steps), buf.String())
	}
	t.Logf("second session:\n%s", buf.String())
	// A third session with the same steps only reads the finished trials.
	td3, buf3 := textDisplay(t)
	again, err := td3.RunTrials("test", 4, trials...)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 2 || len(again[1].Steps) != 4 || len(again[0].ClassNames) != 10 || strings.Count(buf3.String(), "4/4 (100%) · eval reward") != 2 || strings.Count(buf3.String(), "(trained earlier)") != 2 {
		t.Errorf("third session: %d histories; output:\n%s", len(again), buf3.String())
	}
	t.Logf("third session:\n%s", buf3.String())
	loaded, err := LoadTrials("test", trials...)
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 2 || len(loaded[1].Steps) != 4 || len(loaded[1].Evals) != 3 || loaded[0].ClassNames[3] != "3" {
		t.Errorf("loaded %d histories, %d steps, %d evals", len(loaded), len(loaded[1].Steps), len(loaded[1].Evals))
	}
	if _, err := runplot.Pareto(loaded...); err != nil {
		t.Error(err)
	}
	row, err := TrialSamples("test", 4, trials...)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Show(row, Cols(2)); err != nil {
		t.Fatal(err)
	}
	sets, err := TrialRewardSamples("test", 6, trials...)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sets {
		if len(s.Rewards) != 6 || s.Images.N != 6 || s.Mean() < 0 || s.Mean() > 1 {
			t.Errorf("%s: %d rewards for %d samples, mean %v", s.Name, len(s.Rewards), s.Images.N, s.Mean())
		}
		grid, err := s.Grid(4, 2, "%.2f")
		if err != nil {
			t.Fatal(err)
		}
		plain, err := runplot.SampleGrid(s.Images, 4, 2, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if grid.Bounds().Dy() <= plain.Bounds().Dy() {
			t.Errorf("%s: captioned, titled grid %v is not taller than the plain one %v", s.Name, grid.Bounds(), plain.Bounds())
		}
	}
	if _, err := TrialSamples("other", 4, trials...); err == nil {
		t.Error("TrialSamples of untrained trials gave no error")
	}
	dirs, _ := os.ReadDir(filepath.Join(os.Getenv(EnvRuns), "quick", "test"))
	if len(dirs) != 2 {
		t.Errorf("%d run directories", len(dirs))
	}
}

func TestSnapshots(t *testing.T) {
	run := tinyRun(t)
	d, _ := textDisplay(t)
	v := d.Live(run, 0)
	if _, err := Snapshots(run.Dir); err == nil {
		t.Error("no error without snapshots")
	}
	for range 2 {
		if err := v.Step(3); err != nil {
			t.Fatal(err)
		}
	}
	v.Close()
	frames, err := Snapshots(run.Dir)
	if err != nil {
		t.Fatal(err)
	}
	// Steps 0, 3 and 6: the end of one StepTo is the start of the next.
	if len(frames) != 3 || frames[2].(titled).title != "step 6" {
		t.Fatalf("%d frames: %v", len(frames), frames)
	}
	if err := d.Show(Animation{Frames: frames}); err != nil {
		t.Fatal(err)
	}
}

// assessingJudge is brightJudge with an independent evaluator: its reward is
// the mean pixel less 0.1, its coverage numbers those of the samples'
// pixels against a fixed set of grey images.
type assessingJudge struct{ brightJudge }

func (assessingJudge) Assess(im *orw.Images) (*orw.EvaluatorRecord, error) {
	r, _ := orw.MeanPixel(im)
	mean := 0.0
	for _, x := range r {
		mean += x / float64(len(r))
	}
	mean -= 0.1
	rows := func(shift float32) [][]float64 {
		out := make([][]float64, im.N)
		for i := range out {
			for j, v := range im.At(i) {
				out[i] = append(out[i], float64(v+shift*float32(j%3)))
			}
		}
		return out
	}
	fake, real := rows(0), rows(0.05)
	ev := &orw.EvaluatorRecord{Reward: &mean, Neighbours: 3, Image: metrics.ImageStatsOf(im.Pix, im.N, im.H, im.W, im.C)}
	var err error
	if ev.Precision, ev.Recall, err = metrics.PrecisionRecall(real, fake, 3); err != nil {
		return nil, err
	}
	if ev.Density, ev.Coverage, err = metrics.DensityCoverage(real, fake, 3); err != nil {
		return nil, err
	}
	if ev.Vendi, err = metrics.Vendi(fake); err != nil {
		return nil, err
	}
	return ev, nil
}

// A run whose judge has an evaluator: the live view's status line shows the
// hacking gap and the coverage, and its dashboard the coverage panel (a
// third row of panels).
func TestLiveEvaluator(t *testing.T) {
	run := tinyRun(t)
	env := run.Trainer().Env()
	env.Judge = assessingJudge{}
	run2, err := rundir.Create(filepath.Join(t.TempDir(), "tiny-ev"), run.Config(), env, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run2.Close() })
	d, buf := textDisplay(t)
	v := d.Live(run2, 2)
	if err := v.StepTo(5); err != nil {
		t.Fatal(err)
	}
	v.Close()
	out := buf.String()
	if !regexp.MustCompile(`eval reward -?[0-9.]+ · W2 [0-9.e-]+ · hacking gap 0\.100 · coverage [0-9.]+`).MatchString(out) {
		t.Errorf("text output:\n%s", out)
	}
	files, _ := filepath.Glob(filepath.Join(d.Dir, "*tiny-ev-step-5.png"))
	if len(files) != 1 {
		t.Fatalf("dashboard files %v", files)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Height != 3*240+4*4 {
		t.Errorf("dashboard %dx%d, %v: want three rows of panels", cfg.Width, cfg.Height, err)
	}
	if dir := os.Getenv("ORW_KEEP_DASHBOARD"); dir != "" {
		b, _ := os.ReadFile(files[0])
		os.WriteFile(filepath.Join(dir, "live-evaluator.png"), b, 0o644)
	}
}
