package experiment

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/tasks"
)

// tinyGrid is a sweep file of the 2-D toy task whose runs take milliseconds.
const tinyGrid = `
name: tiny
task: toy2d
steps: 4
seeds: [1, 2]
alpha: [0, 0.5]
batch: 16
refresh_every: 2
eval-every: 2
eval-samples: 16
w2-times: 2
checkpoint-every: 2
Sampler.Steps: 4
`

func TestParseSweep(t *testing.T) {
	s, err := ParseSweep([]byte(tinyGrid))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "tiny" || s.Out != "" || s.OutDir() != DefaultSweepOut {
		t.Errorf("name %q out %q", s.Name, s.Out)
	}
	var keys []string
	for _, st := range s.Settings {
		keys = append(keys, st.Key)
	}
	// Canonical order: task, steps, then ConfigFields' order, the seed last.
	want := []string{"task", "steps", "alpha", "batch", "refresh-every", "sample-steps", "eval-every", "eval-samples", "w2-times", "checkpoint-every", "seed"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	if got := s.Lookup("seed"); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("seeds %v", got)
	}
	if got := s.Lookup("Alpha"); !slices.Equal(got, []string{"0", "0.5"}) {
		t.Errorf("alpha %v", got)
	}
	if s.Size() != 4 {
		t.Errorf("Size %d, want 4", s.Size())
	}
	// JSON reads the same; MarshalJSON writes a file that reads back the same.
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseSweep(js)
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	back.Out = ""
	if b1, _ := json.Marshal(back); string(b1) != string(js) {
		t.Errorf("round trip\n%s\n%s", js, b1)
	}
	if !strings.Contains(string(js), `"alpha":[0,0.5]`) || !strings.Contains(string(js), `"task":"toy2d"`) {
		t.Errorf("numbers quoted or names bare: %s", js)
	}
}

func TestParseSweepErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"name: x\ntaus: [1, 2]", `unknown sweep setting "taus"; did you mean "tau"? valid: name, out, task`},
		{"name: x\ntau: {a: 1}", "tau: want a value or a list"},
		{"name: x\ntau: []", "tau: an empty list"},
		{"name: x\ntau: [1, [2]]", "tau: want a value"},
		{"name: x\ntau: 1\nTau: 2", "name the same setting"},
		{"name: [x]", "name: want a string"},
		{"- 1\n- 2", "a sweep is an object of settings"},
		{"name: x\ntau: [1, 2", "not YAML or JSON"},
	} {
		_, err := ParseSweep([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.in, err, c.want)
		}
	}
}

func TestSweepPoints(t *testing.T) {
	s, err := ParseSweep([]byte(tinyGrid))
	if err != nil {
		t.Fatal(err)
	}
	s.Out = "/r"
	points, err := s.Points()
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 4 {
		t.Fatalf("%d points", len(points))
	}
	// The seed varies fastest; the name leaves out the seed.
	wantAlpha := []float64{0, 0, 0.5, 0.5}
	wantSeed := []uint64{1, 2, 1, 2}
	base := tasks.ToyConfig()
	for i, p := range points {
		c := p.Run.Config
		if p.Index != i || c.Alpha != wantAlpha[i] || c.Seed != wantSeed[i] {
			t.Errorf("point %d: index %d alpha %v seed %d", i, p.Index, c.Alpha, c.Seed)
		}
		if c.Batch != 16 || c.RefreshEvery != 2 || c.Sampler.Steps != 4 || c.Tau != base.Tau || c.Optim.LR != base.Optim.LR {
			t.Errorf("point %d: config %+v", i, c)
		}
		if p.Run.Task != "toy2d" || p.Run.Steps != 4 {
			t.Errorf("point %d: task %q steps %d", i, p.Run.Task, p.Run.Steps)
		}
		if want := "α=" + []string{"0", "0.5"}[i/2]; p.Run.Name != want {
			t.Errorf("point %d: name %q, want %q", i, p.Run.Name, want)
		}
		if want := TrialDir("/r", "tiny", p.Run.Trial); p.Run.Dir != want || filepath.Dir(p.Run.Dir) != "/r/tiny" {
			t.Errorf("point %d: dir %s, want %s", i, p.Run.Dir, want)
		}
		if want := []string{"alpha=0 seed=1", "alpha=0 seed=2", "alpha=0.5 seed=1", "alpha=0.5 seed=2"}[i]; p.Text() != want {
			t.Errorf("point %d: text %q, want %q", i, p.Text(), want)
		}
		one, err := s.Point(i)
		if err != nil || one.Run.Dir != p.Run.Dir {
			t.Errorf("Point(%d) = %s, %v", i, one.Run.Dir, err)
		}
	}
	if _, err := s.Point(4); err == nil || !strings.Contains(err.Error(), "outside the sweep's 4 points (0..3)") {
		t.Errorf("Point(4): %v", err)
	}
	// Flags replace a setting.
	if err := s.Set("tau", "1", "2", "3"); err != nil {
		t.Fatal(err)
	}
	if s.Size() != 12 {
		t.Errorf("Size after Set %d", s.Size())
	}
	points, err = s.Points()
	if err != nil {
		t.Fatal(err)
	}
	if p := points[11]; p.Run.Name != "τ=3 α=0.5" || p.Run.Config.Tau != 3 {
		t.Errorf("last point %q tau %v", p.Run.Name, p.Run.Config.Tau)
	}
}

func TestSweepPointErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"task: toy2d\ntau: 1", "has no name"},
		{"name: a/b\ntask: toy2d", "without slashes"},
		{"name: x\ntask: nosuch", `task: unknown task "nosuch"`},
		{"name: x\ntask: toy2d\ntau: [1, fast]", `tau: Tau: "fast" is not a number`},
		{"name: x\ntask: toy2d\nmethod: [orw, best]", "method"},
		{"name: x\ntask: toy2d\nsteps: -3", "steps: \"-3\" is not a step count"},
		{"name: x\ntask: toy2d\nbatch: [16, 0]", "point 1 (task=toy2d batch=0)"},
		{"name: x\ntask: toy2d\ntau: [1, 1]", `tau: the value "1" is listed twice`},
		{"name: x\ntask: toy2d\ntau: [\"1\", \"1.0\"]", "are the same run"},
	} {
		s, err := ParseSweep([]byte(c.in))
		if err == nil {
			_, err = s.Points()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.in, err, c.want)
		}
	}
}

func TestSplitList(t *testing.T) {
	if got := SplitList("tau", "1, 2,3"); !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Errorf("tau: %v", got)
	}
	if got := SplitList("reward", "jpeg=0.5,even=0.5"); !slices.Equal(got, []string{"jpeg=0.5,even=0.5"}) {
		t.Errorf("reward: %v", got)
	}
	if k, err := CanonicalKey("--refresh_every"); err != nil || k != "refresh-every" {
		t.Errorf("CanonicalKey = %q, %v", k, err)
	}
	if k, err := CanonicalKey("Optim.Beta1"); err != nil || k != "Optim.Beta1" {
		t.Errorf("CanonicalKey = %q, %v", k, err)
	}
}
