package tasks

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
)

// threeMinusFive is a researcher's own reward on the 2-D toy, r(x) = 3x₁ − 5x₂.
var threeMinusFive = &RewardDef{
	Name:       "three-minus-five",
	Definition: "3x₁ − 5x₂",
	Data:       []string{"toy2d"},
	New: func(*RewardEnv) (orw.Reward, error) {
		return orw.RewardFunc(func(im *orw.Images) ([]float64, error) {
			r := make([]float64, im.N)
			for i := range r {
				r[i] = 3*float64(im.Pix[2*i]) - 5*float64(im.Pix[2*i+1])
			}
			return r, nil
		}), nil
	},
}

// tinyToyConfig is the toy task's config made small enough for a test.
func tinyToyConfig() orw.Config {
	cfg := ToyConfig()
	cfg.Batch, cfg.RefreshEvery, cfg.EvalEvery, cfg.EvalSamples, cfg.CheckpointEvery = 16, 2, 100, 16, 100
	return cfg
}

// TestRunWithRegisteredRewardReopens: a run made with a reward that the
// program registered records it apart from the task's name
// (reward_override), reopens from its directory alone (OpenRun) where the
// reward is registered, and where it is not, the error names the
// registration call. (Another program is this one with the reward taken out
// of the registry, then registered again.)
func TestRunWithRegisteredRewardReopens(t *testing.T) {
	RegisterReward(threeMinusFive)
	t.Cleanup(func() { delete(rewardRegistry, threeMinusFive.Name) })
	be := testBackend(t)
	dir := filepath.Join(t.TempDir(), "own")
	cfg := tinyToyConfig()
	run, err := OpenOrCreateRunWith(be, dir, "toy2d", Options{Reward: "three-minus-five"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Step(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	run.Close()
	info, err := rundir.ReadRunInfo(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m := info.Meta; m["task"] != "toy2d" || m["reward_override"] != "three-minus-five" || m["reward"] != "" {
		t.Errorf("config.json meta %v: want the task toy2d and reward_override three-minus-five", m)
	}

	delete(rewardRegistry, threeMinusFive.Name)
	want := `reward "three-minus-five" of run ` + dir + ` is not registered in this program: call tasks.RegisterReward(&tasks.RewardDef{Name: "three-minus-five", …}) before opening the run, or open it from the program that registers it`
	if _, err := OpenRun(be, dir); err == nil || err.Error() != want {
		t.Errorf("OpenRun without the reward: %v\nwant %s", err, want)
	}
	if _, err := OpenOrCreateRunWith(be, dir, "toy2d", Options{Reward: "three-minus-five"}, cfg); err == nil || err.Error() != want {
		t.Errorf("OpenOrCreateRunWith without the reward: %v\nwant %s", err, want)
	}

	RegisterReward(threeMinusFive)
	s, err := ReadRunSettings(dir)
	if err != nil || s.Task != "toy2d" || s.Options.Reward != "three-minus-five" || len(s.Config.Diff(cfg)) != 0 {
		t.Fatalf("ReadRunSettings: %+v, %v", s, err)
	}
	run, err = OpenRun(be, dir)
	if err != nil {
		t.Fatalf("OpenRun with the reward registered again: %v", err)
	}
	defer run.Close()
	if run.StepCount() != 2 {
		t.Errorf("reopened at step %d, want 2", run.StepCount())
	}
	if err := run.Step(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
}

// TestRunSettingsOfOlderRuns: runs made before reward_override recorded a
// replaced reward as "reward"; they are read as before, and runs of a
// task that the program has not registered name Register.
func TestRunSettingsOfOlderRuns(t *testing.T) {
	write := func(meta map[string]string) string {
		dir := t.TempDir()
		b, err := json.Marshal(rundir.RunInfo{Format: rundir.Format, Config: tinyToyConfig(), Meta: meta})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	old := write(map[string]string{"task": "toy2d", "data": "toy2d", "model": "mlp", "reward": "toy-box"})
	s, err := ReadRunSettings(old)
	if err != nil || s.Task != "toy2d" || s.Options != (Options{Model: "mlp", Reward: "toy-box"}) {
		t.Errorf("settings of an older run: %+v, %v", s, err)
	}
	info, _ := rundir.ReadRunInfo(old)
	task := mustTask(t, "toy2d")
	if d := metaDiff(RunMetaOf(info), RunMetaWith(task, Options{Model: "mlp", Reward: "toy-box"})); len(d) != 0 {
		t.Errorf("an older run's metadata differs from its options': %v", d)
	}
	if d := metaDiff(RunMetaOf(info), RunMetaWith(task, Options{Model: "mlp", Reward: "toy-linear"})); len(d) != 1 ||
		d[0] != `reward_override "toy-box", the options give "toy-linear"` {
		t.Errorf("metaDiff with another reward: %q", d)
	}
	foreign := write(map[string]string{"task": "my-task", "data": "mnist", "model": "latent"})
	_, err = ReadRunSettings(foreign)
	if err == nil || !strings.Contains(err.Error(), `task "my-task" of run `+foreign+` is not registered in this program: call tasks.Register(&tasks.Task{Name: "my-task", …}) before opening the run`) {
		t.Errorf("a run of an unregistered task: %v", err)
	}
}
