package tasks

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gomlx/compute"

	"github.com/orwcfm/orwcfm/internal/suggest"
	"github.com/orwcfm/orwcfm/pkg/orw"
)

// Rewards by name, so that the CLI (--reward) and the notebooks can pick and
// combine them. A named reward is built for a run from a RewardEnv (the backend,
// the task's data set, the prompt or target of the run); what it returns is a
// plain orw.Reward, a black box to the trainer. A reward may take an argument
// after a colon: "class:3" is the classifier's probability of class 3.

// RewardDef describes a named reward.
type RewardDef struct {
	// Name is the key of --reward ("jpeg").
	Name string
	// Definition is its formula, one line, for `orw tasks` and the README.
	Definition string
	// Data lists the data sets it applies to (nil: any image task).
	Data []string
	// Reads lists the run options it reads ("prompt", "target").
	Reads []string
	// New builds the reward for a run (a reward without an argument).
	New func(env *RewardEnv) (orw.Reward, error)
	// Arg names the argument of a reward that takes one ("CLASS"): its terms
	// are then NAME:ARG ("class:3"), and NewArg builds it. "" = none.
	Arg string
	// CheckArg reports whether arg is a valid argument on data set data, before
	// anything is loaded (nil: any argument is).
	CheckArg func(data, arg string) error
	// NewArg builds a reward that takes an argument, for a run.
	NewArg func(env *RewardEnv, arg string) (orw.Reward, error)
}

// Usage is the reward's name as a term of a spec: "jpeg", "class:CLASS".
func (d *RewardDef) Usage() string {
	if d.Arg == "" {
		return d.Name
	}
	return d.Name + ":" + d.Arg
}

// build builds the reward of one term of a spec ("class:3") for env.
func (d *RewardDef) build(env *RewardEnv, term string) (orw.Reward, error) {
	if d.Arg == "" {
		return d.New(env)
	}
	_, arg := splitTerm(term)
	return d.NewArg(env, arg)
}

// splitTerm splits a term's name into the reward's name and its argument:
// "class:3" → "class", "3"; "jpeg" → "jpeg", "".
func splitTerm(name string) (reward, arg string) {
	reward, arg, _ = strings.Cut(name, ":")
	return strings.TrimSpace(reward), strings.TrimSpace(arg)
}

func (d *RewardDef) appliesTo(data string) bool {
	if d.Data == nil {
		return data != "toy2d"
	}
	for _, x := range d.Data {
		if x == data {
			return true
		}
	}
	return false
}

func (d *RewardDef) dataList() string {
	if d.Data == nil {
		return "an image data set (mnist, fashion, cifar10)"
	}
	return "data set " + strings.Join(d.Data, " or ")
}

// ClassRewarder is the optional interface of a reward that is the
// classifier's probability of a set of classes (mnist-even's even digits, a
// prompt's classes: ClassSetReward, PromptReward): the classes it favours,
// which pictures of a run's class make-up mark.
type ClassRewarder interface {
	RewardedClasses() []int
}

// RewardEnv is what a named reward may use to build itself.
type RewardEnv struct {
	Backend compute.Backend
	// Data is the data set of the task ("mnist", "fashion", "cifar10", "toy2d").
	Data string
	// DataDir is the data set's directory ("" = its default place).
	DataDir string
	// ImageShape is [H, W, C] of the generator's images ([1, 1, 2] for 2-D points).
	ImageShape []int
	// Prompt, TwoSided and Target are the run's options (already resolved).
	Prompt   string
	TwoSided bool
	Target   string

	mu  sync.Mutex
	clf *Classifier
}

func newRewardEnv(backend compute.Backend, t *Task, opts Options, g *orw.Generator) *RewardEnv {
	e := &RewardEnv{Backend: backend, Data: t.Data, DataDir: opts.DataDir, Prompt: opts.Prompt, TwoSided: opts.TwoSided, Target: opts.Target}
	if g != nil {
		e.ImageShape = g.ImageShape()
		if len(e.ImageShape) == 1 { // a pixel-space flow over points
			e.ImageShape = []int{1, 1, e.ImageShape[0]}
		}
	}
	return e
}

// Classifier returns the data set's classifier: the shipped one (for
// CIFAR-10, which ships none, the one orw train-classifier wrote into the
// current directory), checked to have the data set's classes (fitsData). It
// is loaded once per environment, so every term of a reward spec, a
// registered reward's too, shares one copy.
func (e *RewardEnv) Classifier() (*Classifier, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.clf == nil {
		c, err := ShippedClassifier(e.Data)
		if err != nil && e.Data == "cifar10" {
			return nil, fmt.Errorf("no CIFAR-10 classifier is shipped: train one with `orw train-classifier --task cifar10 --data DIR`, "+
				"which writes cifar10-classifier.ckpt into the current directory (%w)", err)
		}
		if err != nil {
			return nil, err
		}
		if err := c.fitsData(e.Data); err != nil {
			return nil, err
		}
		e.clf = c
	}
	return e.clf, nil
}

// fitsData errors when c has another number of classes than the data set
// data names (data sets without class names pass).
func (c *Classifier) fitsData(data string) error {
	if n := len(dataClassNames(data)); n > 0 && c.NumClasses() != n {
		return fmt.Errorf("the %s classifier has %d classes, the data set %d: it does not fit the data set "+
			"(train one with `orw train-classifier --task %s`)", data, c.NumClasses(), n, data)
	}
	return nil
}

var rewardRegistry = map[string]*RewardDef{}

// RegisterReward adds a named reward (it panics on a duplicate name, a name
// with a separator of the spec syntax, or a missing builder: bugs).
func RegisterReward(d *RewardDef) {
	if _, dup := rewardRegistry[d.Name]; dup {
		panic("tasks: duplicate reward " + d.Name)
	}
	if strings.ContainsAny(d.Name, ",=: ") {
		panic("tasks: reward name " + d.Name + " holds a separator")
	}
	if (d.Arg == "" && d.New == nil) || (d.Arg != "" && d.NewArg == nil) {
		panic("tasks: reward " + d.Name + " has no builder (New, or NewArg with Arg)")
	}
	rewardRegistry[d.Name] = d
}

// RewardNames lists the named rewards, sorted.
func RewardNames() []string {
	n := make([]string, 0, len(rewardRegistry))
	for k := range rewardRegistry {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// LookupReward returns the named reward; a term with an argument ("class:3")
// gives its reward ("class"). The error lists the valid names, with the one
// meant for a near miss.
func LookupReward(name string) (*RewardDef, error) {
	name, _ = splitTerm(name)
	d, ok := rewardRegistry[name]
	if !ok {
		names := RewardNames()
		usages := make([]string, len(names))
		for i, n := range names {
			usages[i] = rewardRegistry[n].Usage()
		}
		e := suggest.Unknown("reward", name, usages)
		e.Suggestion = suggest.Closest(name, names)
		return nil, e
	}
	return d, nil
}

// RewardTerm is one named reward with its weight.
type RewardTerm struct {
	Name   string
	Weight float64
}

// RewardSpecSyntax is the syntax of a reward spec, for error messages and help.
const RewardSpecSyntax = "NAME[:ARG][=WEIGHT][,...], e.g. jpeg=0.5,even=0.5 or class:3=1,class:5=-1 " +
	"(the weighted sum of the terms; a NAME alone has weight 1, a negative weight penalises)"

// ParseRewardSpec parses a reward spec: named rewards separated by commas, each
// with an optional weight after "=" (default 1), "jpeg=0.5,even=0.5"; a reward
// that takes an argument has it after a colon, "class:3=1,class:5=-1". The
// reward is the weighted sum of the terms. Weights are finite non-zero numbers
// (negative ones penalise); a term may appear once. Names are checked against
// the registry; arguments, which depend on the data set, when the reward is
// built (or by Task.Resolve).
func ParseRewardSpec(spec string) ([]RewardTerm, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, fmt.Errorf("empty reward spec; the syntax is %s", RewardSpecSyntax)
	}
	var terms []RewardTerm
	seen := map[string]bool{}
	for i, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("reward spec %q: term %d is empty; the syntax is %s", spec, i+1, RewardSpecSyntax)
		}
		term, err := parseRewardTerm(part)
		if err != nil {
			return nil, fmt.Errorf("reward spec %q: %w", spec, err)
		}
		name := term.Name
		if seen[name] {
			return nil, fmt.Errorf("reward spec %q: %q appears twice; give each reward once, with its total weight", spec, name)
		}
		seen[name] = true
		terms = append(terms, term)
	}
	return terms, nil
}

// parseRewardTerm parses one term of a spec, "NAME[:ARG][=WEIGHT]".
func parseRewardTerm(part string) (RewardTerm, error) {
	name, weight, hasWeight := strings.Cut(part, "=")
	name = strings.TrimSpace(name)
	reward, arg := splitTerm(name)
	if arg != "" {
		name = reward + ":" + arg
	}
	term := RewardTerm{Name: name, Weight: 1}
	if hasWeight {
		w, err := strconv.ParseFloat(strings.TrimSpace(weight), 64)
		if err != nil {
			return term, fmt.Errorf("the weight of %q is %q, not a number; the syntax is %s", name, weight, RewardSpecSyntax)
		}
		if math.IsNaN(w) || math.IsInf(w, 0) || w == 0 {
			return term, fmt.Errorf("the weight of %q must be a finite non-zero number, got %q", name, weight)
		}
		term.Weight = w
	}
	d, err := LookupReward(reward)
	if err != nil {
		return term, err
	}
	switch {
	case d.Arg != "" && arg == "":
		return term, fmt.Errorf("reward %q needs a %s after a colon: %s (orw tasks lists the rewards)", reward, strings.ToLower(d.Arg), d.Usage())
	case d.Arg == "" && strings.Contains(name, ":"):
		return term, fmt.Errorf("reward %q takes no argument, got %q; write %s", reward, name, d.Name)
	}
	return term, nil
}

// FormatRewardSpec writes terms back in the spec syntax.
func FormatRewardSpec(terms []RewardTerm) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = t.Name
		if t.Weight != 1 {
			parts[i] += "=" + strconv.FormatFloat(t.Weight, 'g', -1, 64)
		}
	}
	return strings.Join(parts, ",")
}

// NewReward builds the reward of a spec for env: one named reward, or a
// Composite of several. A single name with weight 1 gives that reward itself.
func NewReward(spec string, env *RewardEnv) (orw.Reward, error) {
	terms, err := ParseRewardSpec(spec)
	if err != nil {
		return nil, err
	}
	c := &Composite{}
	for _, t := range terms {
		def, _ := LookupReward(t.Name)
		if !def.appliesTo(env.Data) {
			return nil, fmt.Errorf("reward %q does not apply to data set %s: it needs %s", def.Name, env.Data, def.dataList())
		}
		r, err := def.build(env, t.Name)
		if err != nil {
			return nil, fmt.Errorf("reward %s: %w", t.Name, err)
		}
		c.Terms = append(c.Terms, CompositeTerm{Name: t.Name, Weight: t.Weight, Reward: r})
	}
	if len(c.Terms) == 1 && c.Terms[0].Weight == 1 {
		return c.Terms[0].Reward, nil
	}
	return c, nil
}

// CompositeTerm is one weighted part of a Composite.
type CompositeTerm struct {
	Name   string
	Weight float64
	Reward orw.Reward
}

// Composite is a weighted sum of rewards, r(x) = Σ_i w_i r_i(x). Every part is
// computed on the same images; Parts returns them separately.
type Composite struct {
	Terms []CompositeTerm
}

// Reward scores a batch.
func (c *Composite) Reward(images *orw.Images) ([]float64, error) {
	parts, err := c.Parts(images)
	if err != nil {
		return nil, err
	}
	out := make([]float64, images.N)
	for k, t := range c.Terms {
		for i, v := range parts[k] {
			out[i] += t.Weight * v
		}
	}
	return out, nil
}

// Parts returns each term's unweighted reward of every image: [term][image].
func (c *Composite) Parts(images *orw.Images) ([][]float64, error) {
	if len(c.Terms) == 0 {
		return nil, fmt.Errorf("composite reward without terms")
	}
	parts := make([][]float64, len(c.Terms))
	for k, t := range c.Terms {
		r, err := t.Reward.Reward(images)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.Name, err)
		}
		if len(r) != images.N {
			return nil, fmt.Errorf("%s returned %d rewards for %d images", t.Name, len(r), images.N)
		}
		parts[k] = r
	}
	return parts, nil
}

// The built-in named rewards are registered during package variable
// initialisation, before any init function registers a task that names them.
var _ = registerBuiltinRewards()

func registerBuiltinRewards() bool {
	RegisterReward(&RewardDef{
		Name:       "even",
		Definition: "Σ_{k ∈ {0,2,4,6,8}} p(k | x): the MNIST classifier's probability that x is an even digit, in [0, 1]",
		Data:       []string{"mnist"},
		New: func(env *RewardEnv) (orw.Reward, error) {
			clf, err := env.Classifier()
			if err != nil {
				return nil, err
			}
			return ClassSetReward{Backend: env.Backend, Classifier: clf, Classes: EvenDigits}, nil
		},
	})
	RegisterReward(&RewardDef{
		Name:       "jpeg",
		Definition: "−(size in kB of x as an 8-bit JPEG at quality 95, Go's image/jpeg; 1 kB = 1000 bytes): DDPO's compressibility",
		New: func(env *RewardEnv) (orw.Reward, error) {
			return JPEGReward{}, checkJPEGShape(env)
		},
	})
	RegisterReward(&RewardDef{
		Name:       "jpeg-incompress",
		Definition: "+(size in kB of x as an 8-bit JPEG at quality 95): DDPO's incompressibility",
		New: func(env *RewardEnv) (orw.Reward, error) {
			return JPEGReward{Incompress: true}, checkJPEGShape(env)
		},
	})
	RegisterReward(&RewardDef{
		Name:       "prompt",
		Definition: "Σ_{k ∈ S(prompt)} p(k | x): the classifier's probability that x shows what the prompt names (--prompt; --two-sided: p(prompt) − p(not prompt) = 2p − 1)",
		Data:       []string{"mnist", "fashion", "cifar10"},
		Reads:      []string{"prompt"},
		New:        newPromptReward,
	})
	RegisterReward(&RewardDef{
		Name: "class",
		Definition: "p(k | x): the classifier's probability that x is class k, in [0, 1]; k by name or index " +
			"(class:3, class:sneaker or class:7); class:3=1,class:5=-1 is p(3) − p(5), in [−1, 1]",
		Data:     []string{"mnist", "fashion", "cifar10"},
		Arg:      "CLASS",
		CheckArg: func(data, arg string) error { _, err := classIndex(data, arg); return err },
		NewArg:   newClassReward,
	})
	RegisterReward(&RewardDef{
		Name:       "target",
		Definition: "−mean over pixels of (x − x_target)², x in [−1, 1]: closeness to a target image (--target: a test-split index or a PNG file), in [−4, 0]",
		Reads:      []string{"target"},
		New:        newTargetReward,
	})
	registerToyRewards()
	return true
}

func checkJPEGShape(env *RewardEnv) error {
	if len(env.ImageShape) == 3 && env.ImageShape[2] != 1 && env.ImageShape[2] != 3 {
		return fmt.Errorf("JPEG needs images with 1 or 3 channels, the generator makes %v", env.ImageShape)
	}
	return nil
}
