package tasks

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph ops read like math.

	"github.com/orwcfm/orwcfm/internal/suggest"
	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/tasks/datasets"
)

// The prompt reward is a stand-in for CLIP: a prompt names a set of classes of a
// data set, and the data set's classifier says how likely a sample belongs to
// it. The vocabulary is data, in prompts.json (embedded): add a line there to
// add a prompt.

//go:embed prompts.json
var promptsJSON []byte

// Prompt is one entry of the prompt vocabulary.
type Prompt struct {
	// Data is the data set whose classes the prompt names ("mnist").
	Data string `json:"data"`
	// Text is the prompt ("a digit greater than five").
	Text string `json:"prompt"`
	// ClassNames are the classes that satisfy it, by the data set's class names.
	ClassNames []string `json:"classes"`
	// Default marks the data set's default prompt.
	Default bool `json:"default,omitempty"`
	// Classes are the class indices of ClassNames.
	Classes []int `json:"-"`
}

// dataSetNames are the labelled image data sets, by the names tasks give them.
var dataSetNames = []string{"mnist", "fashion", "cifar10"}

// dataClassNames are the class names of the labelled data sets.
func dataClassNames(data string) []string {
	switch data {
	case "mnist":
		return datasets.MNISTClassNames
	case "fashion":
		return datasets.FashionMNISTClassNames
	case "cifar10":
		return datasets.CIFAR10ClassNames
	}
	return nil
}

var prompts = mustParsePrompts(promptsJSON)

func mustParsePrompts(b []byte) []Prompt {
	p, err := ParsePrompts(b)
	if err != nil {
		panic("tasks: prompts.json: " + err.Error())
	}
	return p
}

// ParsePrompts reads a prompt table (a JSON array of {data, prompt, classes,
// default}) and checks it: known data sets and class names, no repeated
// prompt, one default per data set, classes neither empty nor all.
func ParsePrompts(b []byte) ([]Prompt, error) {
	var ps []Prompt
	if err := json.Unmarshal(b, &ps); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	defaults := map[string]int{}
	for i := range ps {
		p := &ps[i]
		names := dataClassNames(p.Data)
		if names == nil {
			return nil, fmt.Errorf("prompt %q: %w", p.Text, suggest.Unknown("data set", p.Data, dataSetNames))
		}
		key := p.Data + "\x00" + normPrompt(p.Text)
		if p.Text == "" || seen[key] {
			return nil, fmt.Errorf("prompt %q of %s is empty or repeated", p.Text, p.Data)
		}
		seen[key] = true
		if len(p.ClassNames) == 0 || len(p.ClassNames) >= len(names) {
			return nil, fmt.Errorf("prompt %q names %d of %d classes; it must name some but not all", p.Text, len(p.ClassNames), len(names))
		}
		for _, c := range p.ClassNames {
			k := slices.Index(names, c)
			if k < 0 {
				return nil, fmt.Errorf("prompt %q: %w", p.Text, suggest.Unknown(p.Data+" class", c, names))
			}
			if slices.Contains(p.Classes, k) {
				return nil, fmt.Errorf("prompt %q names class %q twice", p.Text, c)
			}
			p.Classes = append(p.Classes, k)
		}
		sort.Ints(p.Classes)
		if p.Default {
			defaults[p.Data]++
		}
	}
	for d, n := range defaults {
		if n > 1 {
			return nil, fmt.Errorf("data set %s has %d default prompts", d, n)
		}
	}
	return ps, nil
}

func normPrompt(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// Prompts lists the prompts of a data set ("" = all), in table order.
func Prompts(data string) []Prompt {
	var out []Prompt
	for _, p := range prompts {
		if data == "" || p.Data == data {
			out = append(out, p)
		}
	}
	return out
}

// DefaultPrompt is the default prompt of a data set ("" if it has none).
func DefaultPrompt(data string) string {
	for _, p := range prompts {
		if p.Data == data && p.Default {
			return p.Text
		}
	}
	return ""
}

// LookupPrompt finds a prompt of a data set, ignoring case and extra spaces; the
// error lists the valid prompts, with the one meant for a near miss.
func LookupPrompt(data, text string) (Prompt, error) {
	for _, p := range prompts {
		if p.Data == data && normPrompt(p.Text) == normPrompt(text) {
			return p, nil
		}
	}
	var valid []string
	for _, p := range Prompts(data) {
		valid = append(valid, p.Text)
	}
	if len(valid) == 0 {
		return Prompt{}, fmt.Errorf("data set %s has no prompts", data)
	}
	e := suggest.Unknown(data+" prompt", text, valid).WithNote("add more in pkg/tasks/prompts.json")
	e.Suggestion = suggest.Closest(normPrompt(text), valid)
	return Prompt{}, e
}

// PromptReward is the classifier's probability that an image shows what a
// prompt names, p = Σ_{k ∈ S} p(k | x), in [0, 1]; with TwoSided it is the
// paper's two-prompt form p(prompt) − p(not prompt) = 2p − 1, in [−1, 1] (the
// classifier's probabilities sum to one, as CLIP's softmax over the two texts).
type PromptReward struct {
	ClassSetReward
	TwoSided bool
}

// Reward scores a batch.
func (r PromptReward) Reward(images *orw.Images) ([]float64, error) {
	p, err := r.ClassSetReward.Reward(images)
	if err != nil || !r.TwoSided {
		return p, err
	}
	for i := range p {
		p[i] = 2*p[i] - 1
	}
	return p, nil
}

// RewardGraph is Reward inside a graph (see ClassSetReward.RewardGraph).
func (r PromptReward) RewardGraph(params []*Node, images *Node) *Node {
	p := r.ClassSetReward.RewardGraph(params, images)
	if !r.TwoSided {
		return p
	}
	return AddScalar(MulScalar(p, 2), -1)
}

func newPromptReward(env *RewardEnv) (orw.Reward, error) {
	text := env.Prompt
	if text == "" {
		text = DefaultPrompt(env.Data)
	}
	p, err := LookupPrompt(env.Data, text)
	if err != nil {
		return nil, err
	}
	clf, err := env.Classifier()
	if err != nil {
		return nil, err
	}
	return PromptReward{ClassSetReward: ClassSetReward{Backend: env.Backend, Classifier: clf, Classes: p.Classes}, TwoSided: env.TwoSided}, nil
}
