package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
	"github.com/orwcfm/orwcfm/pkg/tasks"
	"github.com/orwcfm/orwcfm/pkg/tasks/datasets"
)

func init() {
	register(command{name: "eval", summary: "judge a base generator's samples with the classifier", run: runEval})
}

func runEval(_ context.Context, args []string) error {
	fs := newFlags("eval", "sample a base generator and judge the samples with the data set's classifier")
	task := fs.String("task", "mnist", "data set: mnist, fashion (with --run: the run's)")
	model := fs.String("model", "latent", "latent, latent-cond, unet, mlp, or a generator checkpoint file (class-conditional models draw sample i with label i mod K)")
	runDir := fs.String("run", "", "judge this fine-tuning run's latest checkpoint instead of a base model (--task names its data set)")
	clfRef := fs.String("classifier", "", "classifier checkpoint (default: the shipped one of the data set)")
	evalRef := fs.String("evaluator", "", "evaluator checkpoint (default: the shipped one of the data set, if any)")
	n := fs.Int("n", 1000, "number of samples")
	seed := fs.Uint64("seed", 1, "random seed of the noise")
	solver := fs.String("solver", "", "sampler: euler, midpoint, rk4 (default: the model's)")
	sampleSteps := fs.Int("sample-steps", 0, "sampler steps (default: the model's)")
	dataDir := fs.String("data", "", "directory with the data set's files (for the classifier's test accuracy)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	name, err := evalDataName(fs, *task, *runDir)
	if err != nil {
		return err
	}
	be, err := backend()
	if err != nil {
		return err
	}
	var g *orw.Generator
	if *runDir != "" {
		g, err = tasks.RunGenerator(*runDir)
		*model = "run " + *runDir
	} else {
		g, err = tasks.ShippedGenerator(name, *model)
	}
	if err != nil {
		return err
	}
	clf, ev, err := evalJudges(name, *clfRef, *evalRef)
	if err != nil {
		return err
	}
	cfg, err := generatorSampler(g, *solver, *sampleSteps)
	if err != nil {
		return err
	}
	test, _, err := loadData(name, *dataDir, datasets.Test)
	if err != nil {
		return err
	}
	rep, err := tasks.EvaluateGenerator(be, g, clf, ev, cfg, *n, *seed, tasks.ImagesFromDataset(test), intLabels(test.Labels))
	if err != nil {
		return err
	}
	rep.Model = *model
	if *asJSON {
		return printJSON(rep)
	}
	printReport(rep, clf.ClassNames)
	return nil
}

// evalDataName is the data set orw eval judges: --task's, or with --run the
// run's own unless --task is given.
func evalDataName(fs *flag.FlagSet, task, runDir string) (string, error) {
	if runDir != "" {
		info, err := rundir.ReadRunInfo(runDir)
		if err != nil {
			return "", err
		}
		taskSet := false
		fs.Visit(func(f *flag.Flag) { taskSet = taskSet || f.Name == "task" })
		if d := info.Meta["data"]; d != "" && !taskSet {
			task = d
		}
	}
	return dataName(task)
}

// evalJudges loads the classifier (clfRef, or the data set's shipped one)
// and the evaluator (evalRef, or the data set's shipped one when it has
// one: nil otherwise) that orw eval judges the samples with.
func evalJudges(name, clfRef, evalRef string) (clf, ev *tasks.Classifier, err error) {
	ref := clfRef
	if ref == "" {
		ref = name
	}
	if clf, err = tasks.ShippedClassifier(ref); err != nil {
		return nil, nil, err
	}
	evRef := evalRef
	if evRef == "" {
		evRef = name
	}
	if ev, err = tasks.ShippedEvaluator(evRef); err != nil {
		if evalRef != "" {
			return nil, nil, err
		}
		ev = nil
	}
	return clf, ev, nil
}

func printReport(rep *tasks.GeneratorReport, names []string) {
	fmt.Printf("model %s, sampler %s/%d steps, %d samples (%.2f s), seed %d\n", rep.Model, rep.Sampler.Solver, rep.Sampler.Steps, rep.Samples, rep.SampleSeconds, rep.Seed)
	fmt.Printf("classifier test accuracy: %.4f\n", rep.ClassifierTestAccuracy)
	fmt.Printf("mean top-class probability: %.4f (bar: >= 0.90)\n", rep.MeanTopProb)
	var parts []string
	lo, hi := 1.0, 0.0
	for i, f := range rep.ClassFractions {
		parts = append(parts, fmt.Sprintf("%s:%.1f%%", names[i], 100*f))
		lo, hi = min(lo, f), max(hi, f)
	}
	fmt.Printf("class fractions: %s (min %.1f%%, max %.1f%%; bar: 7%%..13%%)\n", strings.Join(parts, " "), 100*lo, 100*hi)
	if rep.LabelAccuracy != nil {
		fmt.Printf("label accuracy (class-conditional: samples judged as the class they were drawn for): %.4f\n", *rep.LabelAccuracy)
	}
	if rep.EvenReward != nil {
		fmt.Printf("even-digit reward: %.4f\n", *rep.EvenReward)
	}
	if e := rep.Evaluator; e != nil {
		fmt.Printf("evaluator: test accuracy %.4f; agreement with the classifier (same top class) %.4f; mean top-class probability %.4f\n",
			e.TestAccuracy, e.Agreement, e.MeanTopProb)
		parts = parts[:0]
		for i, f := range e.ClassFractions {
			parts = append(parts, fmt.Sprintf("%s:%.1f%%", names[i], 100*f))
		}
		fmt.Printf("evaluator class fractions: %s\n", strings.Join(parts, " "))
		if e.EvenReward != nil {
			fmt.Printf("evaluator even-digit reward: %.4f\n", *e.EvenReward)
		}
		printEvaluator(os.Stdout, e.Coverage)
	}
}

// generatorSampler returns a generator's sampler with flag overrides.
func generatorSampler(g *orw.Generator, solver string, steps int) (orw.SamplerConfig, error) {
	cfg := g.Sampler
	if solver != "" {
		if err := cfg.Solver.UnmarshalText([]byte(solver)); err != nil {
			return cfg, err
		}
	}
	if steps != 0 {
		cfg.Steps = steps
	}
	return cfg, cfg.Validate()
}
