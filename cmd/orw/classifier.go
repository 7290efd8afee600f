package main

import (
	"context"
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
	out := fs.String("out", "", "output checkpoint (default: TASK-classifier.ckpt)")
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
	if *out == "" {
		*out = name + "-classifier.ckpt"
	}
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
		"data": name, "steps": *steps, "batch": *batch, "lr": *lr, "seed": *seed,
		"test_accuracy": acc, "train_wall_seconds": res.Wall.Seconds(), "final_loss": res.FinalLoss,
	}
	if err := tasks.SaveClassifier(*out, clf); err != nil {
		return err
	}
	fmt.Printf("classifier: test accuracy %.4f on %d images, %d steps in %s (this process %s); wrote %s\n",
		acc, test.N, res.Step, res.Wall.Round(time.Second), time.Since(t0).Round(time.Second), *out)
	return nil
}

func intLabels(l []int32) []int {
	out := make([]int, len(l))
	for i, x := range l {
		out[i] = int(x)
	}
	return out
}
