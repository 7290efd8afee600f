package tasks

import (
	"flag"
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/gomlx/compute"

	"github.com/orwcfm/orwcfm/pkg/orw"
)

// Options are a run's task settings besides its orw.Config: which base model,
// which reward, which prompt or target image. A run directory records them
// (config.json, "meta") so that it can be reopened with the same Env.
// OptionFields names each field: its flag, sweep key and metadata key.
type Options struct {
	// Model is the base model: a kind ("latent", "latent-cond", "unet", "mlp") or
	// a generator checkpoint file; "" = the task's.
	Model string
	// Reward replaces the task's reward: one or more named rewards with weights,
	// "jpeg=0.5,even=0.5" (see ParseRewardSpec); "" = the task's.
	Reward string
	// Prompt is the text of a prompt reward ("a shoe"); "" = the task's default.
	Prompt string
	// TwoSided makes a prompt reward p(prompt) − p(not prompt) instead of p(prompt).
	TwoSided bool
	// Target is the target image of a target reward: an index into the data
	// set's test split ("0") or a PNG file; "" = the task's default.
	Target string
	// DataDir is where the data set's files are ("" = their default place);
	// target rewards read the test split from it.
	DataDir string
}

// OptionField is one field of Options and the names it goes by: its flag (in
// orw finetune and orw sweep) and sweep key, its key in a run's metadata
// (config.json, "meta"), and what it means.
type OptionField struct {
	// Name is the flag, without dashes, and the sweep key: "model", "two-sided".
	Name string
	// MetaKey is the option's key in a run's metadata: "model", "two_sided",
	// "reward_override" (a reward that replaces the task's; runs made before
	// it recorded the option as "reward", which RunMetaOf translates).
	MetaKey string
	// Usage says what the option does, for orw finetune -h.
	Usage string
	// SweepUsage is the shorter text of orw sweep's flag, which takes a
	// setting's values as text.
	SweepUsage string
	// field is the option's field in an Options: a *string or a *bool.
	field func(*Options) any
}

// OptionFields is the one table that binds Options to names, in the order of
// the struct: Options' run metadata, the sweep settings of
// experiment.Sweep, and the flags of orw finetune (BindOptions) and orw
// sweep read it. A test checks that it covers every field of Options.
var OptionFields = []OptionField{
	{"model", "model", "base model: latent, latent-cond, unet, mlp, or a generator checkpoint (default: the task's)",
		"base model (default: the task's; one value, a file sweeps it)", func(o *Options) any { return &o.Model }},
	{"reward", "reward_override", "reward replacing the task's: " + RewardSpecSyntax + "; orw tasks lists the names",
		"reward replacing the task's (one value; a file sweeps it)", func(o *Options) any { return &o.Reward }},
	{"prompt", "prompt", "prompt of the prompt reward (orw tasks lists them; default: the task's)",
		"prompt of the prompt reward (one value; a file sweeps it)", func(o *Options) any { return &o.Prompt }},
	{"two-sided", "two_sided", "prompt reward p(prompt) - p(not prompt) instead of p(prompt)",
		"two-sided prompt reward: true or false (a comma-separated list sweeps it)", func(o *Options) any { return &o.TwoSided }},
	{"target", "target", "target image of the target reward: an index into the test split, or a PNG file (default 0)",
		"target image of the target reward (one value; a file sweeps it)", func(o *Options) any { return &o.Target }},
	{"data", "data_dir", "directory with the data set's files (target images; default: the built-in location)",
		"directory with the data set's files", func(o *Options) any { return &o.DataDir }},
}

// LookupOption returns the entry of OptionFields whose Name is name.
func LookupOption(name string) (OptionField, bool) {
	for _, f := range OptionFields {
		if f.Name == name {
			return f, true
		}
	}
	return OptionField{}, false
}

// IsBool reports whether the option is a switch (true or false); the others
// are free text, whose one value may hold commas.
func (f OptionField) IsBool() bool {
	_, ok := f.field(&Options{}).(*bool)
	return ok
}

// Get returns the option's value in o as text: "" when it is unset (a false
// switch is "").
func (f OptionField) Get(o Options) string {
	switch p := f.field(&o).(type) {
	case *string:
		return *p
	case *bool:
		if *p {
			return "true"
		}
	}
	return ""
}

// Set sets the option in o from its text; a switch takes what
// strconv.ParseBool takes.
func (f OptionField) Set(o *Options, value string) error {
	switch p := f.field(o).(type) {
	case *string:
		*p = value
	case *bool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return fmt.Errorf("%q is not true or false", value)
		}
		*p = b
	}
	return nil
}

// BindOptions defines on fs one flag for each entry of OptionFields, which
// sets its field in *o; the default that -h shows is the field's value in *o.
func BindOptions(fs *flag.FlagSet, o *Options) {
	for _, f := range OptionFields {
		switch p := f.field(o).(type) {
		case *string:
			fs.StringVar(p, f.Name, *p, f.Usage)
		case *bool:
			fs.BoolVar(p, f.Name, *p, f.Usage)
		}
	}
}

// RewardSpecOf is the reward spec a run of t uses with opts.
func (t *Task) RewardSpecOf(opts Options) string {
	if opts.Reward != "" {
		return opts.Reward
	}
	return t.RewardSpec
}

// Resolve fills the task's defaults into opts and checks that every option is
// read by the run's reward (a --prompt for a JPEG reward is a mistake).
func (t *Task) Resolve(opts Options) (Options, error) {
	if opts.Model == "" {
		opts.Model = t.Model
	}
	if opts.Model == "" {
		opts.Model = "latent"
	}
	spec := t.RewardSpecOf(opts)
	reads := map[string]bool{}
	if spec != "" {
		terms, err := ParseRewardSpec(spec)
		if err != nil {
			return opts, err
		}
		for _, term := range terms {
			def, err := LookupReward(term.Name)
			if err != nil {
				return opts, err
			}
			if !def.appliesTo(t.Data) {
				return opts, fmt.Errorf("reward %q does not apply to task %s (data set %s): it needs %s", def.Name, t.Name, t.Data, def.dataList())
			}
			if _, arg := splitTerm(term.Name); def.CheckArg != nil {
				if err := def.CheckArg(t.Data, arg); err != nil {
					return opts, fmt.Errorf("reward %s of task %s: %w", term.Name, t.Name, err)
				}
			}
			for _, r := range def.Reads {
				reads[r] = true
			}
		}
	}
	if opts.Prompt != "" && !reads["prompt"] {
		return opts, fmt.Errorf("--prompt is read only by the prompt reward; task %s's reward (%s) has none: use mnist-prompt, fashion-prompt or --reward prompt", t.Name, orNone(spec))
	}
	if opts.TwoSided && !reads["prompt"] {
		return opts, fmt.Errorf("--two-sided applies to the prompt reward; task %s's reward (%s) has none", t.Name, orNone(spec))
	}
	if opts.Target != "" && !reads["target"] {
		return opts, fmt.Errorf("--target is read only by the target reward; task %s's reward (%s) has none: use mnist-target or --reward target", t.Name, orNone(spec))
	}
	if reads["prompt"] {
		if opts.Prompt == "" {
			opts.Prompt = t.Prompt
		}
		if opts.Prompt == "" {
			opts.Prompt = DefaultPrompt(t.Data)
		}
		p, err := LookupPrompt(t.Data, opts.Prompt)
		if err != nil {
			return opts, err
		}
		opts.Prompt = p.Text
	}
	if reads["target"] && opts.Target == "" {
		opts.Target = DefaultTarget
	}
	return opts, nil
}

func orNone(spec string) string {
	if spec == "" {
		return "the task's own"
	}
	return spec
}

// BuildEnv builds the run environment of t with resolved options. When the
// task's data set has an evaluator (ShippedEvaluator) and its judge is a
// ClassifierJudge, the judge becomes an EvaluatorJudge of the run's reward.
func (t *Task) BuildEnv(backend compute.Backend, opts Options) (orw.Env, error) {
	opts, err := t.Resolve(opts)
	if err != nil {
		return orw.Env{}, err
	}
	env, err := t.buildEnv(backend, opts)
	if err != nil {
		return env, err
	}
	return withEvaluator(env, t, opts)
}

// withEvaluator gives env's judge the evaluator of the task's data set, when
// one is shipped (or, for CIFAR-10, trained into DATA-evaluator.ckpt in the
// current directory).
func withEvaluator(env orw.Env, t *Task, opts Options) (orw.Env, error) {
	j, ok := env.Judge.(ClassifierJudge)
	if !ok {
		return env, nil
	}
	ev, err := ShippedEvaluator(t.Data)
	if err != nil {
		return env, nil // no evaluator for this data set
	}
	if j.Data == "" {
		j.Data = t.Data
	}
	if j.DataDir == "" {
		j.DataDir = opts.DataDir
	}
	ej, err := NewEvaluatorJudge(j, ev, env.Reward)
	if err != nil {
		return env, fmt.Errorf("task %s: %w", t.Name, err)
	}
	env.Judge = ej
	return env, nil
}

// buildEnv is BuildEnv without the evaluator.
func (t *Task) buildEnv(backend compute.Backend, opts Options) (orw.Env, error) {
	if t.EnvWith != nil {
		return t.EnvWith(backend, opts)
	}
	if t.Env == nil {
		return orw.Env{}, fmt.Errorf("task %s has no environment builder", t.Name)
	}
	env, err := t.Env(backend, opts.Model)
	if err != nil {
		return env, err
	}
	if opts.Reward != "" {
		r, err := NewReward(opts.Reward, newRewardEnv(backend, t, opts, env.Base))
		if err != nil {
			return env, err
		}
		env.Reward = r
	}
	return env, nil
}

// StandardEnv is the Env of most tasks: the base model of the task's data set,
// the reward spec, and the data set's classifier as the judge (when one is
// shipped; the 2-D toy judges by mixture component).
func StandardEnv(t *Task) func(backend compute.Backend, opts Options) (orw.Env, error) {
	return func(backend compute.Backend, opts Options) (orw.Env, error) {
		g, err := taskGenerator(t, opts.Model)
		if err != nil {
			return orw.Env{}, err
		}
		renv := newRewardEnv(backend, t, opts, g)
		r, err := NewReward(t.RewardSpecOf(opts), renv)
		if err != nil {
			return orw.Env{}, err
		}
		env := orw.Env{Backend: backend, Base: g, Reward: r}
		switch t.Data {
		case "toy2d":
			env.Judge = ToyJudge{Mixture: ToyMixture}
		case "mnist", "fashion":
			clf, err := renv.Classifier()
			if err != nil {
				return orw.Env{}, err
			}
			env.Judge = ClassifierJudge{Backend: backend, Classifier: clf, Data: t.Data, DataDir: opts.DataDir}
		default:
			// No classifier is shipped for CIFAR-10; use one if the user made it.
			if clf, err := renv.Classifier(); err == nil {
				env.Judge = ClassifierJudge{Backend: backend, Classifier: clf}
			}
		}
		return env, nil
	}
}

// dataImageShape is the [H, W, C] of the image data sets' pictures.
var dataImageShape = map[string][]int{"mnist": {28, 28, 1}, "fashion": {28, 28, 1}, "cifar10": {32, 32, 3}}

// checkGeneratorShape reports a base generator that does not make the task's
// kind of sample (a model file made for another data set).
func checkGeneratorShape(t *Task, g *orw.Generator) error {
	if t.Points && g.ImageShape()[0] != 2 {
		return fmt.Errorf("task %s needs a generator of 2-D points, got one of shape %v", t.Name, g.ImageShape())
	}
	if want, ok := dataImageShape[t.Data]; ok && !slices.Equal(g.ImageShape(), want) {
		return fmt.Errorf("task %s needs a generator of %s images of shape %v, got one of shape %v (a model made for another data set?)", t.Name, t.Data, want, g.ImageShape())
	}
	return nil
}

// taskGenerator loads the base generator of a task, with a helpful error for
// data sets that ship none (CIFAR-10).
func taskGenerator(t *Task, model string) (*orw.Generator, error) {
	g, err := ShippedGenerator(t.Data, model)
	if err != nil && t.Data == "cifar10" {
		return nil, fmt.Errorf("task %s needs a CIFAR-10 base model and none is shipped (CIFAR-10 cannot be downloaded here): "+
			"pretrain one with `orw pretrain --task cifar10 --data DIR --model unet` (DIR holds data_batch_1.bin ... test_batch.bin; "+
			"it writes cifar10-unet.ckpt), then run `orw finetune --task %s --model cifar10-unet.ckpt` (%v)", t.Name, t.Name, err)
	}
	if err == nil {
		if err := checkGeneratorShape(t, g); err != nil {
			return nil, err
		}
	}
	return g, err
}

// meta is what a run records of its options (empty ones are left out, so runs
// made before an option existed open unchanged).
func (o Options) meta(t *Task) map[string]string {
	m := map[string]string{"task": t.Name, "data": t.Data}
	for _, f := range OptionFields {
		if v := f.Get(o); v != "" {
			m[f.MetaKey] = v
		}
	}
	if m["model"] == "" {
		m["model"] = "latent"
	}
	return m
}

// metaDiff lists the keys in which a run's metadata (have) differs from the
// metadata of the options given (want): `prompt "a shoe", the options give
// "a top"`; a key that one side lacks shows as none.
func metaDiff(have, want map[string]string) []string {
	keys := map[string]bool{}
	for k := range have {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	var ks []string
	for k := range keys {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var d []string
	for _, k := range ks {
		if have[k] != want[k] {
			d = append(d, fmt.Sprintf("%s %s, the options give %s", k, quotedOrNone(have, k), quotedOrNone(want, k)))
		}
	}
	return d
}

// quotedOrNone is m[k] quoted, or none when m lacks k.
func quotedOrNone(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return strconv.Quote(v)
	}
	return "none"
}
