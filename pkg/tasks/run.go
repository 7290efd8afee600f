package tasks

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
)

// RunGenerator returns the fine-tuned generator of a run directory: its base model
// with the weights of the run's last checkpoint.
func RunGenerator(dir string) (*orw.Generator, error) {
	info, err := rundir.ReadRunInfo(dir)
	if err != nil {
		return nil, err
	}
	data, model := info.Meta["data"], info.Meta["model"]
	if data == "" {
		return nil, fmt.Errorf("run %s does not record its data set (config.json meta.data)", dir)
	}
	base, err := ShippedGenerator(data, model)
	if err != nil {
		return nil, fmt.Errorf("run %s: base model: %w", dir, err)
	}
	params, _, err := rundir.LatestParams(dir, base.Flow)
	if err != nil {
		return nil, err
	}
	g := base.WithParams(params)
	g.Sampler = info.Config.Sampler
	return g, nil
}

// RunMetaWith is what a run directory of task t made with opts records of
// them (config.json, "meta"): the metadata that OpenOrCreateRunWith compares
// when it reopens a run. opts must be resolved (Task.Resolve).
func RunMetaWith(t *Task, opts Options) map[string]string { return opts.meta(t) }

// RunMetaOf is the metadata that the run of info records (config.json,
// "meta") in this version's keys: runs made before a replaced reward was
// recorded as "reward_override" recorded it as "reward", which stood beside
// the task's name as if it were the task's reward.
func RunMetaOf(info *rundir.RunInfo) map[string]string {
	m := make(map[string]string, len(info.Meta))
	for k, v := range info.Meta {
		m[k] = v
	}
	if v, ok := m[legacyRewardKey]; ok {
		if _, now := m[rewardOverrideKey]; !now {
			m[rewardOverrideKey] = v
		}
		delete(m, legacyRewardKey)
	}
	return m
}

// The metadata keys of a reward that replaces the task's: this version's
// and that of runs made before it.
const (
	rewardOverrideKey = "reward_override"
	legacyRewardKey   = "reward"
)

// RunSettings are what a run directory records of how it was made: the
// task, its options and the fine-tuning Config. With them a run reopens
// itself (OpenRun), and orw finetune continues it without its flags.
type RunSettings struct {
	// Task is the task's name ("mnist-even").
	Task string
	// Options are the run's options, resolved when the run was made: the
	// base model, a reward that replaces the task's (Options.Reward), the
	// prompt, the target, the data directory.
	Options Options
	// Config is the run's fine-tuning configuration.
	Config orw.Config
}

// ReadRunSettings reads the settings of the run in dir (its config.json).
// The task and the rewards they name must be registered in this program: a
// run made with a task or reward that a program registered (Register,
// RegisterReward) reopens wherever it is registered again, and elsewhere the
// error names the registration call that is missing.
func ReadRunSettings(dir string) (RunSettings, error) {
	info, err := rundir.ReadRunInfo(dir)
	if err != nil {
		return RunSettings{}, err
	}
	s, err := storedSettings(dir, info)
	if err != nil {
		return s, err
	}
	return s, s.checkRegistered(dir)
}

// OpenRun reopens the run in dir with the settings it records
// (ReadRunSettings): the same task, options and Config, so that it
// continues where it stopped.
func OpenRun(backend compute.Backend, dir string) (*rundir.Run, error) {
	s, err := ReadRunSettings(dir)
	if err != nil {
		return nil, err
	}
	return OpenOrCreateRunWith(backend, dir, s.Task, s.Options, s.Config)
}

// storedSettings reads the settings out of the run's config.json, without
// looking anything up.
func storedSettings(dir string, info *rundir.RunInfo) (RunSettings, error) {
	m := RunMetaOf(info)
	s := RunSettings{Task: m["task"], Config: info.Config}
	if s.Task == "" {
		return s, fmt.Errorf("run %s does not record its task (config.json meta.task): open it with OpenOrCreateRunWith and the task it was made with", dir)
	}
	for _, f := range OptionFields {
		if v, ok := m[f.MetaKey]; ok {
			if err := f.Set(&s.Options, v); err != nil {
				return s, fmt.Errorf("run %s: config.json meta.%s: %w", dir, f.MetaKey, err)
			}
		}
	}
	return s, nil
}

// checkRegistered reports a task or reward of s that is not registered in
// this program, with the call that registers it.
func (s RunSettings) checkRegistered(dir string) error {
	if _, ok := registry[s.Task]; !ok {
		return fmt.Errorf("task %q of run %s is not registered in this program: call tasks.Register(&tasks.Task{Name: %q, …}) before opening the run, or open it from the program that registers it",
			s.Task, dir, s.Task)
	}
	for _, part := range strings.Split(s.Options.Reward, ",") {
		name, _, _ := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if _, ok := rewardRegistry[name]; !ok && name != "" {
			return fmt.Errorf("reward %q of run %s is not registered in this program: call tasks.RegisterReward(&tasks.RewardDef{Name: %q, …}) before opening the run, or open it from the program that registers it",
				name, dir, name)
		}
	}
	return nil
}
