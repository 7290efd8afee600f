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
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph ops read like math.
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/orwcfm/orwcfm/internal/suggest"
	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
)

// Task is a fine-tuning experiment that the CLI and the notebooks pick by name.
type Task struct {
	// Name is the registry key ("mnist-even").
	Name string
	// Summary is one line for `orw tasks`; Reward documents the reward's definition.
	Summary, Reward string
	// Data is the data set of the base model ("mnist").
	Data string
	// Model is the default base model kind ("" = "latent").
	Model string
	// RewardSpec is the task's reward in the --reward syntax ("jpeg", "prompt");
	// informational for tasks with their own Env.
	RewardSpec string
	// Prompt is the default prompt of a task whose reward reads one.
	Prompt string
	// Steps is the default number of fine-tuning steps.
	Steps int64
	// Defaults returns the task's default fine-tuning config.
	Defaults func() orw.Config
	// Env builds the run environment for a base model kind or checkpoint
	// ("latent"). Tasks with more choices than the model set EnvWith instead.
	Env func(backend compute.Backend, model string) (orw.Env, error)
	// EnvWith builds the run environment from the run's options (model, prompt,
	// target...); when nil, Env is used.
	EnvWith func(backend compute.Backend, opts Options) (orw.Env, error)
	// Points marks tasks whose samples are 2-D points rather than images.
	Points bool
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

// Lookup returns the named task; the error lists the valid names, with the
// one meant for a near miss.
func Lookup(name string) (*Task, error) {
	t, ok := registry[name]
	if !ok {
		return nil, suggest.Unknown("task", name, Names())
	}
	return t, nil
}

// ClassifierJudge sorts images by a classifier's most probable class, and
// measures their Fréchet distance to the real test images in the
// classifier's feature space (Frechet).
type ClassifierJudge struct {
	Backend    compute.Backend
	Classifier *Classifier
	// Data and DataDir name the data set whose test split is the reference of
	// the Fréchet distance (Data empty: none).
	Data, DataDir string
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

// RewardedClasses are the classes of the set (ClassRewarder); a PromptReward
// has them too.
func (r ClassSetReward) RewardedClasses() []int { return r.Classes }

// RewardParams are the classifier's weights: with RewardGraph they make
// ClassSetReward an orw.GraphReward, which the trainer computes inside its
// sampling graph.
func (r ClassSetReward) RewardParams() []*tensors.Tensor { return r.Classifier.Params.Tensors }

// RewardGraph is Reward inside a graph: the classifier's probabilities of the
// images [B, H, W, C] summed over the classes of the set, [B].
func (r ClassSetReward) RewardGraph(params []*Node, images *Node) *Node {
	p := r.Classifier.ProbsGraph(params, images)
	k := r.Classifier.NumClasses()
	mask := make([]float32, k)
	for _, c := range r.Classes {
		if c >= 0 && c < k {
			mask[c]++
		}
	}
	return ReduceSum(Mul(p, InsertAxes(Const(images.Graph(), mask), 0)), -1)
}

// EvenDigits are the classes of the mnist-even reward.
var EvenDigits = []int{0, 2, 4, 6, 8}

// RunMeta is what a run directory records to rebuild its Env: task, data set and
// base model.
func RunMeta(task *Task, model string) map[string]string {
	return Options{Model: model}.meta(task)
}

// OpenOrCreateRun opens the run in dir, or creates it for the named task and base
// model with cfg. It is what the CLI and the notebooks call.
func OpenOrCreateRun(backend compute.Backend, dir, task, model string, cfg orw.Config) (*rundir.Run, error) {
	return OpenOrCreateRunWith(backend, dir, task, Options{Model: model}, cfg)
}

// OpenOrCreateRunWith is OpenOrCreateRun with every run option (reward, prompt,
// target...). An existing run must have been made with the same options
// (OpenRun reopens a run with its own); when it names a task or reward that
// is not registered in this program, the error names the missing
// Register or RegisterReward call.
func OpenOrCreateRunWith(backend compute.Backend, dir, task string, opts Options, cfg orw.Config) (*rundir.Run, error) {
	info, infoErr := rundir.ReadRunInfo(dir)
	if infoErr == nil {
		if s, err := storedSettings(dir, info); err == nil {
			if err := s.checkRegistered(dir); err != nil {
				return nil, err
			}
		}
	}
	t, err := Lookup(task)
	if err != nil {
		return nil, err
	}
	if opts, err = t.Resolve(opts); err != nil {
		return nil, err
	}
	meta := opts.meta(t)
	if infoErr == nil {
		if d := metaDiff(RunMetaOf(info), meta); len(d) > 0 {
			return nil, fmt.Errorf("run %s was made with other task settings: it has %s: use another directory, or tasks.OpenRun to continue the run with its own settings", dir, strings.Join(d, "; "))
		}
	}
	env, err := t.BuildEnv(backend, opts)
	if err != nil {
		return nil, err
	}
	if err := checkGeneratorShape(t, env.Base); err != nil {
		return nil, err
	}
	return rundir.OpenOrCreate(dir, cfg, env, meta)
}
