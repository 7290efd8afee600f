package tasks

import (
	"flag"
	"io"
	"reflect"
	"testing"
)

// TestOptionFieldsCoverOptions checks that OptionFields has one entry for
// each field of Options, with distinct names and metadata keys.
func TestOptionFieldsCoverOptions(t *testing.T) {
	var o Options
	base := reflect.ValueOf(&o).Elem()
	covered := map[string]bool{}
	names, keys := map[string]bool{}, map[string]bool{}
	for _, f := range OptionFields {
		p := reflect.ValueOf(f.field(&o)).Pointer()
		for i := range base.NumField() {
			if base.Field(i).Addr().Pointer() == p {
				if covered[base.Type().Field(i).Name] {
					t.Errorf("%s: field %s is covered twice", f.Name, base.Type().Field(i).Name)
				}
				covered[base.Type().Field(i).Name] = true
			}
		}
		if names[f.Name] || keys[f.MetaKey] || f.Usage == "" || f.SweepUsage == "" {
			t.Errorf("entry %+v: a repeated name or key, or no usage", f)
		}
		names[f.Name], keys[f.MetaKey] = true, true
	}
	for i := range base.NumField() {
		if name := base.Type().Field(i).Name; !covered[name] {
			t.Errorf("Options.%s has no entry in OptionFields", name)
		}
	}
}

// TestOptionsMeta checks the metadata of a run's options through the table:
// the keys of config.json's "meta", empty options left out.
func TestOptionsMeta(t *testing.T) {
	task := &Task{Name: "mnist-prompt", Data: "mnist"}
	o := Options{Reward: "prompt", Prompt: "a zero", TwoSided: true, Target: "3", DataDir: "/d"}
	m := o.meta(task)
	want := map[string]string{"task": "mnist-prompt", "data": "mnist", "model": "latent", "reward_override": "prompt",
		"prompt": "a zero", "two_sided": "true", "target": "3", "data_dir": "/d"}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("meta = %v, want %v", m, want)
	}
	if m := (Options{Model: "unet"}).meta(task); len(m) != 3 || m["model"] != "unet" {
		t.Errorf("meta of bare options = %v", m)
	}
}

// TestBindOptions checks that the flags of the table set the options.
func TestBindOptions(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o Options
	BindOptions(fs, &o)
	if err := fs.Parse([]string{"--model", "unet", "--two-sided", "--data", "/d", "--reward", "jpeg=0.5,even=0.5"}); err != nil {
		t.Fatal(err)
	}
	if want := (Options{Model: "unet", TwoSided: true, DataDir: "/d", Reward: "jpeg=0.5,even=0.5"}); o != want {
		t.Errorf("options %+v, want %+v", o, want)
	}
	f, _ := LookupOption("two-sided")
	if err := f.Set(&o, "nope"); err == nil || err.Error() != `"nope" is not true or false` {
		t.Errorf("Set(two-sided, nope) = %v", err)
	}
	if !f.IsBool() || f.Get(o) != "true" {
		t.Errorf("two-sided: IsBool %v, Get %q", f.IsBool(), f.Get(o))
	}
}
