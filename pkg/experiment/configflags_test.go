package experiment_test

import (
	"bytes"
	"encoding"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/experiment"
	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/tasks"
)

var regen = flag.Bool("regen", false, "rewrite docs/configuration.md from experiment.ConfigFields and orw.DefaultConfig")

// leafFields lists the field paths of every leaf of orw.Config (a struct field
// that is not itself a struct of settings), in struct order.
func leafFields(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		path := prefix + f.Name
		if f.Type.Kind() == reflect.Struct && !reflect.PointerTo(f.Type).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
			out = append(out, leafFields(f.Type, path+".")...)
			continue
		}
		out = append(out, path)
	}
	return out
}

// TestConfigFieldsComplete checks that the table has exactly the leaf fields of
// orw.Config, in order, with distinct flags and a usage each.
func TestConfigFieldsComplete(t *testing.T) {
	want := leafFields(reflect.TypeFor[orw.Config](), "")
	var got []string
	flags := map[string]bool{}
	for _, f := range experiment.ConfigFields {
		got = append(got, f.Path)
		if f.Usage == "" {
			t.Errorf("%s has no usage", f.Path)
		}
		if f.Flag != "" {
			if flags[f.Flag] {
				t.Errorf("flag %s is used twice", f.Flag)
			}
			flags[f.Flag] = true
			if experiment.FlagOf(f.Path) != f.Flag {
				t.Errorf("FlagOf(%s) = %q, want %q", f.Path, experiment.FlagOf(f.Path), f.Flag)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("ConfigFields lists\n%v\norw.Config has\n%v", got, want)
	}
	// The flags of the CLI before the table, and the two it added.
	for _, f := range []string{"method", "tau", "alpha", "lr", "batch", "refresh-every", "steps-per-batch", "keep-fraction", "pool-size",
		"normalize-weights", "coupling", "solver", "sample-steps", "seed", "eval-every", "eval-samples", "w2-times", "checkpoint-every"} {
		if !flags[f] {
			t.Errorf("no field has the flag %s", f)
		}
	}
	if experiment.FlagOf("Optim.Beta1") != "" || experiment.FlagOf("Nonsense") != "" {
		t.Error("FlagOf names a flag for a field without one")
	}
}

// otherValue returns a valid text for the field that differs from its value in cfg.
func otherValue(t *testing.T, cfg orw.Config, f experiment.ConfigField) string {
	t.Helper()
	cur, err := experiment.FieldValue(cfg, f.Path)
	if err != nil {
		t.Fatal(err)
	}
	// Names first (the typed fields take only those), then numbers and booleans.
	for _, v := range []string{"raft", "rk4", "midpoint", "ot", "independent", "orw", "0.375", "37", "true", "false"} {
		c := cfg
		if v != cur && experiment.SetField(&c, f.Path, v) == nil {
			if got, _ := experiment.FieldValue(c, f.Path); got == v {
				return v
			}
		}
	}
	t.Fatalf("no test value for %s (now %q)", f.Path, cur)
	return ""
}

// changed lists the fields whose values differ between a and b.
func changed(a, b orw.Config) []string {
	var d []string
	for _, f := range experiment.ConfigFields {
		x, _ := experiment.FieldValue(a, f.Path)
		y, _ := experiment.FieldValue(b, f.Path)
		if x != y {
			d = append(d, f.Path)
		}
	}
	return d
}

// TestBindConfig checks that every flag defaults to the bound config's value,
// and that giving it sets exactly its field, both in the bound config and,
// through ApplyFlags, in another config.
func TestBindConfig(t *testing.T) {
	def, err := tasks.Lookup("toy2d")
	if err != nil {
		t.Fatal(err)
	}
	base := def.Defaults() // not orw.DefaultConfig: the flags must show what they were bound to
	for _, f := range experiment.ConfigFields {
		if f.Flag == "" {
			continue
		}
		t.Run(f.Flag, func(t *testing.T) {
			bound := base
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			experiment.BindConfig(fs, &bound)
			fl := fs.Lookup(f.Flag)
			if fl == nil {
				t.Fatalf("no flag %s", f.Flag)
			}
			if want, _ := experiment.FieldValue(base, f.Path); fl.DefValue != want {
				t.Errorf("default %q, want %q", fl.DefValue, want)
			}
			v := otherValue(t, base, f)
			if err := fs.Parse([]string{"--" + f.Flag + "=" + v}); err != nil {
				t.Fatal(err)
			}
			if d := changed(base, bound); !slices.Equal(d, []string{f.Path}) {
				t.Errorf("--%s=%s changed %v", f.Flag, v, d)
			}
			if got, _ := experiment.FieldValue(bound, f.Flag); got != v {
				t.Errorf("--%s=%s set %q", f.Flag, v, got)
			}
			// ApplyFlags copies only the given flag onto other defaults.
			dst := orw.DefaultConfig()
			experiment.ApplyFlags(fs, &dst, bound)
			if d := changed(orw.DefaultConfig(), dst); len(d) > 1 || (len(d) == 1 && d[0] != f.Path) {
				t.Errorf("ApplyFlags changed %v", d)
			}
			if got, _ := experiment.FieldValue(dst, f.Path); got != v {
				t.Errorf("ApplyFlags set %q, want %q", got, v)
			}
		})
	}
	// Without flags, ApplyFlags changes nothing.
	bound := base
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	experiment.BindConfig(fs, &bound)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	dst := orw.DefaultConfig()
	experiment.ApplyFlags(fs, &dst, bound)
	if !reflect.DeepEqual(dst, orw.DefaultConfig()) {
		t.Errorf("ApplyFlags without flags changed %v", changed(orw.DefaultConfig(), dst))
	}
}

// TestBindConfigBadValues checks the parse errors: an unknown name lists the
// valid ones, a number that is not one is the flag package's error.
func TestBindConfigBadValues(t *testing.T) {
	for _, tc := range []struct{ arg, want string }{
		{"--method=ppo", `invalid value "ppo" for flag -method: unknown method "ppo"; valid: orw, rwcfm, raft, reft`},
		{"--coupling=sinkhorn", `unknown coupling "sinkhorn"; valid: independent, ot`},
		{"--solver=heun", `unknown ODE solver "heun"; valid: euler, midpoint, rk4`},
		{"--solver=midpont", `invalid value "midpont" for flag -solver: unknown ODE solver "midpont"; did you mean "midpoint"? valid: euler, midpoint, rk4`},
		{"--method=rfat", `unknown method "rfat"; did you mean "raft"? valid: orw, rwcfm, raft, reft`},
		{"--tau=abc", `invalid value "abc" for flag -tau: parse error`},
		{"--batch=1.5", `invalid value "1.5" for flag -batch: parse error`},
		{"--seed=-1", `invalid value "-1" for flag -seed: parse error`},
	} {
		cfg := orw.DefaultConfig()
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		experiment.BindConfig(fs, &cfg)
		if err := fs.Parse([]string{tc.arg}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.arg, err, tc.want)
		}
	}
}

// TestSetField checks SetField and FieldValue by flag name and by field path,
// for fields with and without a flag, and their errors.
func TestSetField(t *testing.T) {
	for _, f := range experiment.ConfigFields {
		names := []string{f.Path}
		if f.Flag != "" {
			names = append(names, f.Flag, "--"+f.Flag)
		}
		for _, name := range names {
			base := orw.DefaultConfig()
			c := base
			v := otherValue(t, base, f)
			if err := experiment.SetField(&c, name, v); err != nil {
				t.Fatalf("SetField(%s, %s): %v", name, v, err)
			}
			if d := changed(base, c); !slices.Equal(d, []string{f.Path}) {
				t.Errorf("SetField(%s, %s) changed %v", name, v, d)
			}
			if got, err := experiment.FieldValue(c, name); err != nil || got != v {
				t.Errorf("FieldValue(%s) = %q, %v; want %q", name, got, err, v)
			}
		}
	}
	c := orw.DefaultConfig()
	for _, tc := range []struct{ name, value, want string }{
		{"temperature", "1", `unknown config field "temperature"; valid: method, tau, alpha, w2-budget,`},
		{"alhpa", "1", `unknown config field "alhpa"; did you mean "alpha"? valid: method, tau, alpha,`},
		{"Optim.Bta1", "1", `unknown config field "Optim.Bta1"; did you mean "Optim.Beta1"? valid: method,`},
		{"Optim", "1", `unknown config field "Optim"`},
		{"sampler.steps", "1", `unknown config field "sampler.steps"`},
		{"tau", "abc", `Tau: "abc" is not a number`},
		{"batch", "1.5", `Batch: "1.5" is not a whole number`},
		{"seed", "-1", `Seed: "-1" is not a non-negative whole number`},
		{"normalize-weights", "maybe", `NormalizeWeights: "maybe" is not a boolean`},
		{"method", "ppo", `Method: unknown method "ppo"; valid: orw, rwcfm, raft, reft`},
		{"Coupling", "sinkhorn", `Coupling: unknown coupling "sinkhorn"; valid: independent, ot`},
		{"solver", "heun", `Sampler.Solver: unknown ODE solver "heun"; valid: euler, midpoint, rk4`},
	} {
		err := experiment.SetField(&c, tc.name, tc.value)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SetField(%s, %s) = %v, want %q", tc.name, tc.value, err, tc.want)
		}
		if _, err := experiment.FieldValue(c, tc.name); err == nil && strings.HasPrefix(tc.want, "unknown config field") {
			t.Errorf("FieldValue(%s) is no error", tc.name)
		}
	}
	if !reflect.DeepEqual(c, orw.DefaultConfig()) {
		t.Errorf("failed SetField calls changed %v", changed(orw.DefaultConfig(), c))
	}
	// Aliases are kept as given, as in JSON.
	if err := experiment.SetField(&c, "coupling", "otcfm"); err != nil || c.Coupling != "otcfm" {
		t.Errorf("coupling alias: %v, %q", err, c.Coupling)
	}
}

// jsonKey is the dotted JSON key of a field path ("Sampler.Steps" → "sampler.steps").
func jsonKey(path string) string {
	typ := reflect.TypeFor[orw.Config]()
	var keys []string
	for _, name := range strings.Split(path, ".") {
		f, _ := typ.FieldByName(name)
		keys = append(keys, strings.Split(f.Tag.Get("json"), ",")[0])
		typ = f.Type
	}
	return strings.Join(keys, ".")
}

// configurationDoc renders docs/configuration.md.
func configurationDoc(t *testing.T) []byte {
	var b bytes.Buffer
	b.WriteString(`# Configuration

<!-- Generated by "go test ./pkg/experiment -run TestConfigurationDoc -regen"
from experiment.ConfigFields and orw.DefaultConfig: edit those, not this page. -->

A fine-tuning run is set by one ` + "`orw.Config`" + ` (package ` + "`pkg/orw`" + `), stored in
the run directory's ` + "`config.json`" + `; a run is resumed only with the same
configuration (` + "`orw finetune --out DIR`" + ` on an existing run takes the run's own,
and refuses flags that disagree with it). ` + "`orw.DefaultConfig()`" + ` holds the defaults, and its doc comment
says why each is what it is. Each task of ` + "`pkg/tasks`" + ` starts from them and changes
a few (second table); ` + "`orw finetune`" + ` starts from the task's and applies only the
flags given. Library errors name the field (` + "`RefreshEvery must be >= 1`" + `); the CLI
shows them with the flag (` + "`--refresh-every must be >= 1`" + `).
` + "`experiment.SetField(&cfg, name, value)`" + ` sets any field by its flag or its field
path, as text.

| field | flag | JSON key | default | meaning |
|---|---|---|---|---|
`)
	def := orw.DefaultConfig()
	for _, f := range experiment.ConfigFields {
		v, err := experiment.FieldValue(def, f.Path)
		if err != nil {
			t.Fatal(err)
		}
		fl := "—"
		if f.Flag != "" {
			fl = "`--" + f.Flag + "`"
		}
		if v == "" {
			v = `""` // an empty string (AlphaMode's "", which reads as "fixed")
		}
		fmt.Fprintf(&b, "| `%s` | %s | `%s` | `%s` | %s |\n", f.Path, fl, jsonKey(f.Path), v, strings.ReplaceAll(strings.ReplaceAll(f.Usage, "`", ""), "|", `\|`))
	}
	b.WriteString(`
The tasks' defaults, where they differ from ` + "`orw.DefaultConfig()`" + `:

| task | settings |
|---|---|
`)
	for _, name := range tasks.Names() {
		task, err := tasks.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		cfg := task.Defaults()
		var d []string
		for _, f := range experiment.ConfigFields {
			x, _ := experiment.FieldValue(def, f.Path)
			y, _ := experiment.FieldValue(cfg, f.Path)
			if x != y {
				d = append(d, fmt.Sprintf("`%s` %s", f.Path, y))
			}
		}
		if len(d) == 0 {
			d = []string{"the defaults"}
		}
		fmt.Fprintf(&b, "| `%s` | %s |\n", name, strings.Join(d, ", "))
	}
	return b.Bytes()
}

// TestConfigurationDoc fails when docs/configuration.md is not what the table
// and the defaults make; -regen rewrites it.
func TestConfigurationDoc(t *testing.T) {
	const path = "../../docs/configuration.md"
	want := configurationDoc(t)
	if *regen {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./pkg/experiment -run TestConfigurationDoc -regen writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: go test ./pkg/experiment -run TestConfigurationDoc -regen rewrites it", path)
	}
}
