package experiment

import (
	"encoding"
	"flag"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/orwcfm/orwcfm/internal/suggest"
	"github.com/orwcfm/orwcfm/pkg/orw"
)

// ConfigField is one settable field of orw.Config: where it is, the flag that
// sets it, and what it means.
type ConfigField struct {
	// Path is the Go field path from orw.Config: "Tau", "Sampler.Steps", "Optim.LR".
	Path string
	// Flag is the command-line flag that sets it, without dashes ("" for none).
	Flag string
	// Usage says what the field does, for -h and docs/configuration.md.
	Usage string
}

// ConfigFields is the one table that binds orw.Config to names: every leaf field
// of orw.Config (a test checks that none is missing), in the order of the
// struct, with its flag and usage. BindConfig, ApplyFlags, SetField, FieldValue
// and FlagOf all read it; docs/configuration.md is generated from it and
// orw.DefaultConfig.
var ConfigFields = []ConfigField{
	{"Method", "method", "fine-tuning method `name`: orw, rwcfm, raft or reft"},
	{"Tau", "tau", "inverse temperature of the weights exp(tau*r)"},
	{"Alpha", "alpha", "weight of the W2 regulariser alpha*|v_ft - v_ref|^2 (0: none); with --w2-budget, its starting value"},
	{"W2Budget", "w2-budget", "budget on the W2 estimate: adapt alpha during training so that the smoothed per-step W2 settles here (0: off, alpha fixed)"},
	{"AlphaMode", "alpha-mode", "how alpha enters the W2 term, by `name`: fixed (empty: fixed) or advantage (ADRPO: alpha_i = max(0, alpha - (r_i - mean r)))"},
	{"NormalizeWeights", "normalize-weights", "rescale the weights to mean 1 per batch (our deviation from the paper)"},
	{"Batch", "batch", "samples per gradient step"},
	{"RefreshEvery", "refresh-every", "refresh the sampling policy from the trainee every K steps"},
	{"StepsPerBatch", "steps-per-batch", "gradient steps per sampled batch"},
	{"KeepFraction", "keep-fraction", "fraction kept by raft and reft"},
	{"PoolSize", "pool-size", "reference samples of the offline methods (rwcfm, reft)"},
	{"Coupling", "coupling", "`name` of the pairing of noise and samples: independent or ot"},
	{"Sampler.Solver", "solver", "ODE solver of the sampler, by `name`: euler, midpoint or rk4"},
	{"Sampler.Steps", "sample-steps", "sampler steps from noise to sample"},
	{"Optim.LR", "lr", "Adam learning rate"},
	{"Optim.Beta1", "", "Adam's first-moment decay"},
	{"Optim.Beta2", "", "Adam's second-moment decay"},
	{"Optim.Eps", "", "Adam's denominator offset"},
	{"Optim.WarmupSteps", "", "steps of the linear learning-rate warm-up (0: none)"},
	{"Optim.ClipNorm", "", "clip the gradient's global L2 norm at this (0: off)"},
	{"Optim.DecaySteps", "", "decay the learning rate along a half cosine to 0 at this step (0: constant)"},
	{"Optim.EMADecay", "", "decay of a moving average of the weights (0: none)"},
	{"Seed", "seed", "random seed"},
	{"EvalEvery", "eval-every", "evaluate every E steps (and at the start and the end)"},
	{"EvalSamples", "eval-samples", "size of the fixed evaluation batch"},
	{"W2Times", "w2-times", "time points of the W2 velocity estimate"},
	{"CheckpointEvery", "checkpoint-every", "save the run every so many steps (and at the end)"},
}

// LookupField returns the entry of ConfigFields named name: a flag ("sample-steps",
// with or without leading dashes) or a field path ("Sampler.Steps").
func LookupField(name string) (ConfigField, bool) {
	flagName := strings.TrimLeft(name, "-")
	for _, f := range ConfigFields {
		if f.Path == name || (f.Flag != "" && f.Flag == flagName) {
			return f, true
		}
	}
	return ConfigField{}, false
}

// FlagOf returns the flag that sets the field at path ("Sampler.Steps" →
// "sample-steps"), or "" when the field has none or path is not a field. It is
// the reverse of the table, for showing library errors (which name fields) in
// terms of flags.
func FlagOf(path string) string {
	for _, f := range ConfigFields {
		if f.Path == path {
			return f.Flag
		}
	}
	return ""
}

// BindConfig defines on fs one flag for each entry of ConfigFields that has one.
// Parsing a flag sets its field in *cfg, and the default that -h shows is the
// field's value in *cfg when BindConfig is called. Numbers and booleans are
// parsed as the flag package parses them; Method, Coupling and Sampler.Solver
// through their UnmarshalText (flag.TextVar), so an unknown name is a parse
// error that lists the valid names; AlphaMode, a plain string, is taken as
// given and checked by orw.Config.Validate.
func BindConfig(fs *flag.FlagSet, cfg *orw.Config) {
	for _, f := range ConfigFields {
		if f.Flag == "" {
			continue
		}
		v := mustField(cfg, f.Path)
		switch p := v.Addr().Interface().(type) {
		case encoding.TextUnmarshaler:
			fs.TextVar(p, f.Flag, v.Interface().(encoding.TextMarshaler), f.Usage)
		case *float64:
			fs.Float64Var(p, f.Flag, *p, f.Usage)
		case *int:
			fs.IntVar(p, f.Flag, *p, f.Usage)
		case *int64:
			fs.Int64Var(p, f.Flag, *p, f.Usage)
		case *uint64:
			fs.Uint64Var(p, f.Flag, *p, f.Usage)
		case *bool:
			fs.BoolVar(p, f.Flag, *p, f.Usage)
		case *string: // AlphaMode: checked by orw.Config.Validate
			fs.StringVar(p, f.Flag, *p, f.Usage)
		default:
			panic(fmt.Sprintf("experiment: no flag type for orw.Config.%s of type %s", f.Path, v.Type()))
		}
	}
}

// ApplyFlags copies into dst, from src, the fields whose flags were given on
// fs's command line; fs must be parsed, with its config flags bound to src by
// BindConfig. The other fields of dst keep their values: so a task's defaults
// apply unless a flag overrides them.
func ApplyFlags(fs *flag.FlagSet, dst *orw.Config, src orw.Config) {
	fs.Visit(func(fl *flag.Flag) {
		for _, f := range ConfigFields {
			if f.Flag == fl.Name {
				mustField(dst, f.Path).Set(mustField(&src, f.Path))
			}
		}
	})
}

// SetField sets the field named name (a flag or a field path, as LookupField
// takes) in cfg from its text, as it would be given on the command line: a
// number, true or false, or a name (method, coupling, solver). Any field of
// ConfigFields can be set, also those without a flag. cfg is left as it was
// when the name or the value is bad; it is not validated (cfg.Validate does).
func SetField(cfg *orw.Config, name, value string) error {
	f, ok := LookupField(name)
	if !ok {
		return unknownField(name)
	}
	v := mustField(cfg, f.Path)
	nv := reflect.New(v.Type()).Elem()
	if u, ok := nv.Addr().Interface().(encoding.TextUnmarshaler); ok {
		if err := u.UnmarshalText([]byte(value)); err != nil {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
		v.Set(nv)
		return nil
	}
	var err error
	switch v.Kind() {
	case reflect.Float64:
		var x float64
		if x, err = strconv.ParseFloat(value, 64); err == nil {
			v.SetFloat(x)
		}
	case reflect.Int, reflect.Int64:
		var x int64
		if x, err = strconv.ParseInt(value, 0, v.Type().Bits()); err == nil {
			v.SetInt(x)
		}
	case reflect.Uint64:
		var x uint64
		if x, err = strconv.ParseUint(value, 0, 64); err == nil {
			v.SetUint(x)
		}
	case reflect.Bool:
		var x bool
		if x, err = strconv.ParseBool(value); err == nil {
			v.SetBool(x)
		}
	case reflect.String:
		v.SetString(value)
	default:
		return fmt.Errorf("%s: cannot set a field of type %s", f.Path, v.Type())
	}
	if err != nil {
		return fmt.Errorf("%s: %q is not a %s", f.Path, value, kindName(v.Kind()))
	}
	return nil
}

// FieldValue returns the text form of the field named name (a flag or a field
// path) in cfg, as SetField takes it and -h shows it.
func FieldValue(cfg orw.Config, name string) (string, error) {
	f, ok := LookupField(name)
	if !ok {
		return "", unknownField(name)
	}
	v := mustField(&cfg, f.Path)
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		b, err := m.MarshalText()
		return string(b), err
	}
	switch v.Kind() {
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64), nil
	case reflect.Int, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), nil
	case reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10), nil
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), nil
	case reflect.String:
		return v.String(), nil
	}
	return fmt.Sprint(v.Interface()), nil
}

// unknownField is the error of a name that is neither a flag nor a field path
// of ConfigFields; it lists the fields by flag (by path when they have none),
// with the flag or path meant for a near miss.
func unknownField(name string) error {
	names := make([]string, 0, len(ConfigFields))
	keys := make([]string, 0, 2*len(ConfigFields))
	for _, f := range ConfigFields {
		if f.Flag != "" {
			names = append(names, f.Flag)
			keys = append(keys, f.Flag)
		} else {
			names = append(names, f.Path)
		}
		keys = append(keys, f.Path)
	}
	e := suggest.Unknown("config field", name, names).WithNote("or a field's Go path: Tau, Sampler.Steps, …")
	e.Suggestion = suggest.Closest(name, keys)
	return e
}

// mustField returns the addressable field at path in *cfg; a path that is not
// there is a bug in ConfigFields (the tests check every entry).
func mustField(cfg *orw.Config, path string) reflect.Value {
	v := reflect.ValueOf(cfg).Elem()
	for _, name := range strings.Split(path, ".") {
		v = v.FieldByName(name)
		if !v.IsValid() {
			panic(fmt.Sprintf("experiment: orw.Config has no field %s", path))
		}
	}
	return v
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.Float64:
		return "number"
	case reflect.Int, reflect.Int64:
		return "whole number"
	case reflect.Uint64:
		return "non-negative whole number"
	case reflect.Bool:
		return "boolean (true or false)"
	}
	return k.String()
}
