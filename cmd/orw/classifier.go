package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/optim"
	"github.com/orwcfm/orwcfm/pkg/orw/pretrain"
	"github.com/orwcfm/orwcfm/pkg/orw/train"
	"github.com/orwcfm/orwcfm/pkg/tasks"
	"github.com/orwcfm/orwcfm/pkg/tasks/datasets"
)

func init() {
	register(command{name: "train-classifier", summary: "train the digit (or class) classifier used by rewards and metrics", run: runTrainClassifier})
}

func runTrainClassifier(ctx context.Context, args []string) error {
	fs := newFlags("train-classifier", "train the classifier that judges samples (rewards, digit histograms)")
	task := fs.String("task", "mnist", "data set: mnist, fashion, cifar10")
	common := newTrainingFlags(fs)
	dataDir, seed := common.dataDir, common.seed
	out := fs.String("out", "", "output checkpoint (default: TASK-classifier.ckpt, TASK-evaluator.ckpt with --evaluator)")
	evaluator := fs.Bool("evaluator", false, "train the task's evaluator instead: the evaluator's layout (single 5x5 strided convolutions, 96 hidden units), "+
		"on the second half of the training split (images 30,000-59,999 of 60,000), with seed 2 unless --seed is given")
	steps := fs.Int64("steps", 2400, "training steps")
	batch := fs.Int("batch", 128, "batch size")
	lr := fs.Float64("lr", 1e-3, "Adam learning rate")
	if err := parse(fs, args); err != nil {
		return err
	}
	name, err := dataName(*task)
	if err != nil {
		return err
	}
	classifierDefaults(fs, name, *evaluator, seed, out)
	if *steps <= 0 || *batch <= 0 || !(*lr > 0) {
		return fmt.Errorf("--steps, --batch and --lr must be positive")
	}
	be, err := backend()
	if err != nil {
		return err
	}
	trainSet, set, err := loadData(name, *dataDir, datasets.Train)
	if err != nil {
		return err
	}
	test, _, err := loadData(name, *dataDir, datasets.Test)
	if err != nil {
		return err
	}
	stateDir := common.stateDir(*out)
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return err
	}
	cfg := nets.DefaultClassifierConfig(set.NumClasses, trainSet.Shape...)
	split := "all"
	if *evaluator {
		cfg = nets.EvaluatorClassifierConfig(set.NumClasses, trainSet.Shape...)
		trainSet = tasks.SecondHalf(trainSet)
		split = "second-half"
	}
	oc := optim.Config{LR: *lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WarmupSteps: 100, DecaySteps: *steps, ClipNorm: 1}
	t0 := time.Now()
	clf, res, err := tasks.TrainClassifier(ctx, be, cfg, trainSet, *batch, pretrain.FitConfig{
		Steps: *steps, Seed: *seed, Optim: oc, CheckpointPath: stateDir + "/classifier.state", CheckpointEvery: 200,
		Progress: train.NewTextBar("classifier"), ProgressEvery: 20,
	})
	if err != nil {
		return err
	}
	clf.ClassNames = set.ClassNames
	acc, err := clf.Accuracy(be, tasks.ImagesFromDataset(test), intLabels(test.Labels))
	if err != nil {
		return err
	}
	clf.Info = map[string]any{
		"data": name, "steps": *steps, "batch": *batch, "lr": *lr, "seed": *seed, "train_split": split, "train_images": trainSet.N,
		"test_accuracy": acc, "train_wall_seconds": res.Wall.Seconds(), "final_loss": res.FinalLoss,
	}
	if err := tasks.SaveClassifier(*out, clf); err != nil {
		return err
	}
	fmt.Printf("%s: test accuracy %.4f on %d images, %d steps in %s (this process %s); wrote %s\n",
		what(*evaluator), acc, test.N, res.Step, res.Wall.Round(time.Second), time.Since(t0).Round(time.Second), *out)
	return nil
}

// classifierDefaults sets what train-classifier's flags leave to the kind of
// classifier: the evaluator's own seed (unless --seed is given) and the
// checkpoint's name, NAME-classifier.ckpt or NAME-evaluator.ckpt.
func classifierDefaults(fs *flag.FlagSet, name string, evaluator bool, seed *uint64, out *string) {
	seedSet := false
	fs.Visit(func(f *flag.Flag) { seedSet = seedSet || f.Name == "seed" })
	if evaluator && !seedSet {
		*seed = evaluatorSeed
	}
	if *out == "" {
		*out = name + "-" + what(evaluator) + ".ckpt"
	}
}

// what names the classifier that train-classifier trains.
func what(evaluator bool) string {
	if evaluator {
		return "evaluator"
	}
	return "classifier"
}

// evaluatorSeed is the seed of `orw train-classifier --evaluator` when --seed
// is not given (the reward's classifiers were trained with seed 1).
const evaluatorSeed = 2

func intLabels(l []int32) []int {
	out := make([]int, len(l))
	for i, x := range l {
		out[i] = int(x)
	}
	return out
}
