package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/orwcfm/orwcfm/pkg/tasks"
)

func init() {
	register(command{name: "tasks", summary: "list the fine-tuning tasks, the named rewards and the prompts", run: runTasks})
}

// TaskInfo is one task of `orw tasks --json`.
type TaskInfo struct {
	Name    string  `json:"name"`
	Summary string  `json:"summary"`
	Data    string  `json:"data"`
	Model   string  `json:"model"`
	Reward  string  `json:"reward"`
	Spec    string  `json:"reward_spec,omitempty"`
	Prompt  string  `json:"prompt,omitempty"`
	Steps   int64   `json:"steps"`
	Tau     float64 `json:"tau"`
	Alpha   float64 `json:"alpha"`
	// Normalized is true when the task's weights are rescaled to mean 1 per
	// batch by default (--normalize-weights).
	Normalized bool `json:"normalize_weights,omitempty"`
}

// RewardInfo is one named reward of `orw tasks --json`.
type RewardInfo struct {
	Name string `json:"name"`
	// Arg names the argument of a reward that takes one ("CLASS": class:CLASS).
	Arg        string   `json:"arg,omitempty"`
	Definition string   `json:"definition"`
	Data       []string `json:"data,omitempty"`
}

// TasksListing is the output of `orw tasks --json`.
type TasksListing struct {
	Tasks   []TaskInfo          `json:"tasks"`
	Rewards []RewardInfo        `json:"rewards"`
	Prompts map[string][]string `json:"prompts"`
	// Classes are the class names of each data set that class:NAME takes.
	Classes map[string][]string `json:"classes"`
	Syntax  string              `json:"reward_syntax"`
}

// listedData are the labelled data sets, in the order orw tasks lists them.
var listedData = []string{"mnist", "fashion", "cifar10"}

func tasksListing() (TasksListing, error) {
	l := TasksListing{Prompts: map[string][]string{}, Classes: map[string][]string{}, Syntax: tasks.RewardSpecSyntax}
	for _, n := range tasks.Names() {
		t, err := tasks.Lookup(n)
		if err != nil {
			return l, err
		}
		cfg := t.Defaults()
		opts, err := t.Resolve(tasks.Options{})
		if err != nil {
			return l, fmt.Errorf("task %s: %w", n, err)
		}
		l.Tasks = append(l.Tasks, TaskInfo{Name: t.Name, Summary: t.Summary, Data: t.Data, Model: opts.Model, Reward: t.Reward,
			Spec: t.RewardSpec, Prompt: opts.Prompt, Steps: t.Steps, Tau: cfg.Tau, Alpha: cfg.Alpha, Normalized: cfg.NormalizeWeights})
	}
	for _, n := range tasks.RewardNames() {
		d, _ := tasks.LookupReward(n)
		l.Rewards = append(l.Rewards, RewardInfo{Name: d.Name, Arg: d.Arg, Definition: d.Definition, Data: d.Data})
	}
	for _, p := range tasks.Prompts("") {
		l.Prompts[p.Data] = append(l.Prompts[p.Data], p.Text)
	}
	for _, data := range listedData {
		l.Classes[data] = tasks.ClassArgNames(data)
	}
	return l, nil
}

func runTasks(_ context.Context, args []string) error {
	fs := newFlags("tasks", "list the tasks of orw finetune --task, the rewards of --reward and the prompts of --prompt")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	l, err := tasksListing()
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(l)
	}
	fmt.Println("Tasks (orw finetune --task NAME):")
	for _, t := range l.Tasks {
		fmt.Printf("\n  %s\n    %s\n", t.Name, t.Summary)
		fmt.Printf("    reward: %s\n", t.Reward)
		extra := ""
		if t.Normalized {
			extra = ", weights normalised to mean 1"
		}
		if t.Prompt != "" {
			extra += fmt.Sprintf(", prompt %q", t.Prompt)
		}
		fmt.Printf("    data %s, base model %s, %d steps, tau %g, alpha %g%s\n", t.Data, t.Model, t.Steps, t.Tau, t.Alpha, extra)
	}
	fmt.Printf("\nRewards (orw finetune --reward %s):\n", tasks.RewardSpecSyntax)
	for _, r := range l.Rewards {
		where := "image tasks"
		if r.Data != nil {
			where = strings.Join(r.Data, ", ")
		}
		name := r.Name
		if r.Arg != "" {
			name += ":" + r.Arg
		}
		fmt.Printf("  %-16s %s [%s]\n", name, r.Definition, where)
	}
	fmt.Println("\nClasses (--reward class:NAME, or class:LABEL with the label 0, 1, ...):")
	for _, data := range listedData {
		fmt.Printf("  %-8s %s\n", data, strings.Join(l.Classes[data], ", "))
	}
	fmt.Println("\nPrompts (orw finetune --task mnist-prompt|fashion-prompt --prompt TEXT):")
	for _, data := range listedData {
		var q []string
		for _, p := range l.Prompts[data] {
			q = append(q, fmt.Sprintf("%q", p))
		}
		fmt.Printf("  %-8s %s\n", data, strings.Join(q, ", "))
	}
	return nil
}
