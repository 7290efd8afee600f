// Package tasks holds what is specific to an experiment: data sets, rewards, the
// shipped base models and classifiers, and a registry of tasks by name. A task is
// data + base model + reward (+ a judge that sorts samples into classes, for
// diversity metrics).
package tasks

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gomlx/compute"

	"github.com/orwcfm/orwcfm/pkg/orw"
)

// Task is a fine-tuning experiment that the CLI and the notebooks pick by name.
type Task struct {
	// Name is the registry key ("mnist-even").
	Name string
	// Summary is one line for `orw tasks`; Reward documents the reward's definition.
	Summary, Reward string
	// Data is the data set of the base model ("mnist").
	Data string
	// Steps is the default number of fine-tuning steps.
	Steps int64
	// Defaults returns the task's default fine-tuning config.
	Defaults func() orw.Config
	// Env builds the run environment for a base model kind or checkpoint ("latent").
	Env func(backend compute.Backend, model string) (orw.Env, error)
}

var registry = map[string]*Task{}

// Register adds a task to the registry (it panics on a duplicate name: a bug).
func Register(t *Task) {
	if _, dup := registry[t.Name]; dup {
		panic("tasks: duplicate task " + t.Name)
	}
	registry[t.Name] = t
}

// Names lists the registered tasks, sorted.
func Names() []string {
	n := make([]string, 0, len(registry))
	for k := range registry {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Lookup returns the named task; the error lists the valid names.
func Lookup(name string) (*Task, error) {
	t, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown task %q; valid tasks: %s", name, strings.Join(Names(), ", "))
	}
	return t, nil
}

// ClassifierJudge sorts images by a classifier's most probable class.
type ClassifierJudge struct {
	Backend    compute.Backend
	Classifier *Classifier
}

// ClassNames are the classifier's class names.
func (j ClassifierJudge) ClassNames() []string { return j.Classifier.ClassNames }

// Classify returns the most probable class of each image.
func (j ClassifierJudge) Classify(images *orw.Images) ([]int, error) {
	cls, _, err := j.Classifier.Predict(j.Backend, images)
	return cls, err
}

// ClassSetReward is the classifier's probability that an image belongs to a set of
// classes, Σ_{k ∈ set} p(k | x): in [0, 1], 1 when the classifier is sure.
type ClassSetReward struct {
	Backend    compute.Backend
	Classifier *Classifier
	Classes    []int
}

// Reward scores a batch.
func (r ClassSetReward) Reward(images *orw.Images) ([]float64, error) {
	probs, err := r.Classifier.Probs(r.Backend, images)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(probs))
	for i, p := range probs {
		for _, k := range r.Classes {
			out[i] += p[k]
		}
	}
	return out, nil
}

// EvenDigits are the classes of the mnist-even reward.
var EvenDigits = []int{0, 2, 4, 6, 8}

// RunMeta is what a run directory records to rebuild its Env: task, data set and
// base model.
func RunMeta(task *Task, model string) map[string]string {
	if model == "" {
		model = "latent"
	}
	return map[string]string{"task": task.Name, "data": task.Data, "model": model}
}

// OpenOrCreateRun opens the run in dir, or creates it for the named task and base
// model with cfg. It is what the CLI and the notebooks call.
func OpenOrCreateRun(backend compute.Backend, dir, task, model string, cfg orw.Config) (*orw.Run, error) {
	t, err := Lookup(task)
	if err != nil {
		return nil, err
	}
	if model == "" {
		model = "latent"
	}
	env, err := t.Env(backend, model)
	if err != nil {
		return nil, err
	}
	if info, err := orw.ReadRunInfo(dir); err == nil {
		if info.Meta["task"] != task || info.Meta["model"] != model {
			return nil, fmt.Errorf("run %s is a %s run on the %s model, not %s on %s: use another directory", dir, info.Meta["task"], info.Meta["model"], task, model)
		}
	}
	return orw.OpenOrCreate(dir, cfg, env, RunMeta(t, model))
}

// OpenRun opens an existing run directory, rebuilding its Env from what it recorded.
func OpenRun(backend compute.Backend, dir string) (*orw.Run, error) {
	info, err := orw.ReadRunInfo(dir)
	if err != nil {
		return nil, err
	}
	t, err := Lookup(info.Meta["task"])
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", dir, err)
	}
	env, err := t.Env(backend, info.Meta["model"])
	if err != nil {
		return nil, err
	}
	return orw.Open(dir, env)
}
