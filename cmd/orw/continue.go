package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/orwcfm/orwcfm/pkg/experiment"
	"github.com/orwcfm/orwcfm/pkg/orw/ckpt"
	"github.com/orwcfm/orwcfm/pkg/tasks"
)

// Continuing a run or a sweep: `orw finetune --out DIR` and `orw sweep run
// DIR` take the settings that the directory records, and compare with them
// only the flags that were given.

// finetuneFile is the file in which orw finetune records the step count
// that it trains a run to, so that the run continues to it without --steps.
const finetuneFile = "finetune.json"

// finetuneRecord is the content of finetuneFile.
type finetuneRecord struct {
	// Steps is the step count the run is trained to.
	Steps int64 `json:"steps"`
}

// writeFinetuneRecord records in dir the step count of orw finetune's run.
func writeFinetuneRecord(dir string, steps int64) error {
	return ckpt.WriteFileAtomic(filepath.Join(dir, finetuneFile), func(w io.Writer) error {
		return json.NewEncoder(w).Encode(finetuneRecord{Steps: steps})
	})
}

// recordedSteps is the step count that the run in dir was last trained to
// by orw finetune (finetuneFile) or by a sweep (experiment.SweepFile);
// false when it records none (a run made by the library).
func recordedSteps(dir string) (int64, bool) {
	var rec finetuneRecord
	if b, err := os.ReadFile(filepath.Join(dir, finetuneFile)); err == nil && json.Unmarshal(b, &rec) == nil {
		return rec.Steps, true
	}
	if rec, err := experiment.ReadSweepRecord(dir); err == nil {
		return rec.Steps, true
	}
	return 0, false
}

// hasRun reports whether dir holds a run (its config.json).
func hasRun(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "config.json"))
	return err == nil
}

// continueRun turns r into the continuation of the run in r.out: the task,
// options and config that the run records, and the step count it was
// trained to unless --steps is given. The other flags given must agree with
// the run; the error lists those that do not, each named as it was typed.
func (f *finetuneFlags) continueRun(r *finetuneRun, given map[string]bool) error {
	s, err := tasks.ReadRunSettings(r.out)
	if err != nil {
		return err
	}
	task, err := tasks.Lookup(s.Task)
	if err != nil {
		return err
	}
	var conflicts []string
	for _, name := range sortedKeys(given) {
		have, gives, ok := f.storedAndGiven(name, task, s)
		if ok && have != gives {
			conflicts = append(conflicts, conflict(name, have, typedFlag(f.args, name), gives))
		}
	}
	if len(conflicts) > 0 {
		return fmt.Errorf("run %s has %s: leave %s out to continue the run with its own settings, or give another --out for a new run",
			r.out, strings.Join(conflicts, "; "), theFlags(len(conflicts)))
	}
	r.task, r.raw, r.cfg = task, s.Options, s.Config
	if !given["steps"] {
		r.total = task.Steps
		if n, ok := recordedSteps(r.out); ok {
			r.total = n
		}
	}
	if !given["grid-every"] {
		r.grid = max(r.total/5, 1)
	}
	return nil
}

// storedAndGiven returns, for a flag that names a setting of a run (the
// task, an option, a config field), the run's value and the flag's as
// text; ok is false for the other flags (--steps, --json, ...).
func (f *finetuneFlags) storedAndGiven(name string, task *tasks.Task, s tasks.RunSettings) (have, gives string, ok bool) {
	if name == "task" {
		return s.Task, *f.taskName, true
	}
	if o, isOpt := tasks.LookupOption(name); isOpt {
		have, gives = o.Get(s.Options), o.Get(f.opts)
		switch name {
		case "reward": // the task's own reward, named, is the same reward
			have, gives = canonicalReward(task.RewardSpecOf(s.Options)), canonicalReward(gives)
		case "prompt":
			if p, err := tasks.LookupPrompt(task.Data, gives); err == nil {
				gives = p.Text
			}
		case "two-sided":
			have, gives = strconv.FormatBool(have == "true"), strconv.FormatBool(gives == "true")
		}
		return have, gives, true
	}
	if fl, isField := experiment.LookupField(name); isField && fl.Flag == name {
		have, _ = experiment.FieldValue(s.Config, name)
		gives, _ = experiment.FieldValue(f.config, name)
		return have, gives, true
	}
	return "", "", false
}

// canonicalReward writes a reward spec as FormatRewardSpec does ("even=1"
// is "even"), or as it is when it does not parse.
func canonicalReward(spec string) string {
	if terms, err := tasks.ParseRewardSpec(spec); err == nil {
		return tasks.FormatRewardSpec(terms)
	}
	return spec
}

// conflict says that a run has the value have of a setting and that a
// flag, as typed, gives another: "batch 64, the flag --batch gives
// 128", "no prompt, the flag --prompt gives "a shoe"".
func conflict(setting, have, typed, gives string) string {
	has := setting + " " + shown(have)
	if have == "" {
		has = "no " + setting
	}
	return fmt.Sprintf("%s, the flag %s gives %s", has, typed, shown(gives))
}

// theFlags is "the flag" or "these flags", for n conflicts.
func theFlags(n int) string {
	if n > 1 {
		return "these flags"
	}
	return "the flag"
}

// shown is a setting's value in a message: quoted when it holds spaces or
// commas, "none" when empty.
func shown(v string) string {
	switch {
	case v == "":
		return "none"
	case strings.ContainsAny(v, " ,"):
		return strconv.Quote(v)
	}
	return v
}

// typedFlag is the flag name as the command line gave it: "-batch" or
// "--batch" (the last one given, which is the one that counts).
func typedFlag(args []string, name string) string {
	typed := "--" + name
	for _, a := range args {
		if a == "--" {
			break
		}
		for _, dashes := range []string{"-", "--"} {
			if a == dashes+name || strings.HasPrefix(a, dashes+name+"=") {
				typed = dashes + name
			}
		}
	}
	return typed
}

// givenFlags is the set of flags that the command line set.
func givenFlags(fs *flag.FlagSet) map[string]bool {
	given := map[string]bool{}
	fs.Visit(func(fl *flagT) { given[fl.Name] = true })
	return given
}

// sortedKeys returns the keys of a set, sorted.
func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
