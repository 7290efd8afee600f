// Command custom-reward fine-tunes the shipped MNIST generator toward rewards
// written here as Go functions: one over the images' pixels ("left-ink", the
// share of a digit's ink in the left half of the picture) and one over the
// digit classifier's probabilities ("three-not-five", p(3 | x) − p(5 | x)).
//
// Each reward is registered by name (tasks.RegisterReward), so that a run of
// the mnist-even task (the shipped MNIST base model, classifier and
// evaluator) takes it in place of the task's own reward
// (tasks.Options.Reward); a reward spec may also weigh several
// ("left-ink=0.5,even=0.5"). Each run is fine-tuned with ORW-CFM-W2 for a few
// hundred steps, and OUT/NAME/before-after.png shows the same noise through
// the base model (left) and the fine-tuned one (right), each sample captioned
// with its reward.
//
//	go run ./examples/custom-reward        # 300 steps per reward
//	go run ./examples/custom-reward -tiny  # a few steps of small batches (the tests)
//
// Running it again continues the runs in OUT (a finished one is only redrawn).
// docs/library.md ("Your own reward") walks through it.
package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/gomlx/compute"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
	"github.com/orwcfm/orwcfm/pkg/orw/train"
	"github.com/orwcfm/orwcfm/pkg/tasks"
	"github.com/orwcfm/orwcfm/pkg/vis"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

func init() {
	tasks.RegisterReward(&tasks.RewardDef{
		Name:       "left-ink",
		Definition: "Σ_left ink / Σ ink with ink = (x + 1)/2: the share of the ink in the left half of the image, in [0, 1]",
		New: func(*tasks.RewardEnv) (orw.Reward, error) {
			return orw.RewardFunc(leftInk), nil
		},
	})
	tasks.RegisterReward(&tasks.RewardDef{
		Name:       "three-not-five",
		Definition: "p(3 | x) − p(5 | x): the MNIST classifier's probability of a 3 minus that of a 5, in [−1, 1]",
		Data:       []string{"mnist"},
		New: func(env *tasks.RewardEnv) (orw.Reward, error) {
			clf, err := env.Classifier() // the data set's classifier, shared with the spec's other terms
			if err != nil {
				return nil, err
			}
			return threeNotFive{backend: env.Backend, clf: clf}, nil
		},
	})
}

// leftInk is r(x) = Σ_left ink / Σ ink: how much of a digit's ink lies in
// the left half of the image, with a pixel's ink (x + 1)/2 (0 for the black
// background, 1 for a white stroke). A blank image scores 0.
func leftInk(im *orw.Images) ([]float64, error) {
	if err := im.Validate(); err != nil {
		return nil, err
	}
	out := make([]float64, im.N)
	for i := range out {
		var left, all float64
		for p, v := range im.At(i) {
			ink := (float64(v) + 1) / 2
			if column := (p / im.C) % im.W; column < im.W/2 {
				left += ink
			}
			all += ink
		}
		if all > 0 {
			out[i] = left / all
		}
	}
	return out, nil
}

// Digits of the three-not-five reward: the classifier's classes are the
// digits 0 to 9 in order.
const (
	three = 3
	five  = 5
)

// threeNotFive is r(x) = p(3 | x) − p(5 | x) from the classifier's
// probabilities.
type threeNotFive struct {
	backend compute.Backend
	clf     *tasks.Classifier
}

// Reward scores a batch.
func (r threeNotFive) Reward(im *orw.Images) ([]float64, error) {
	probs, err := r.clf.Probs(r.backend, im)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(probs))
	for i, p := range probs {
		out[i] = p[three] - p[five]
	}
	return out, nil
}

// WithClassifier is the same reward judged by another classifier of the
// digits (tasks.ClassifierRewarder): the run's evaluator recomputes the
// reward with its own network, and the gap between the two (the hacking gap)
// goes into every evaluation.
func (r threeNotFive) WithClassifier(c *tasks.Classifier) orw.Reward {
	r.clf = c
	return r
}

// RewardedClasses are the digits the reward favours (tasks.ClassRewarder).
func (r threeNotFive) RewardedClasses() []int { return []int{three} }

// pictureSeed is the noise of the before/after pictures.
const pictureSeed = 7

// runs are the example's runs: each reward with an inverse temperature τ on
// its scale. The weights exp(τ·r) select among a batch when τ times the
// spread of the rewards in it is of order one: p(3) − p(5) spreads over
// [−1, 1], the share of ink on the left by about ±0.05 around 0.44.
var runs = []struct {
	reward string // a reward spec: one name, or several with weights ("left-ink=0.5,even=0.5")
	tau    float64
}{
	{"left-ink", 40},
	{"three-not-five", 5},
}

func main() {
	out := flag.String("out", "runs/examples/custom-reward", "directory of the runs and pictures")
	steps := flag.Int64("steps", 300, "fine-tuning steps per run")
	tiny := flag.Bool("tiny", false, "a few steps of small batches, to check that everything works (the tests)")
	flag.Parse()
	if *tiny {
		*steps = 4
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := finetuneAll(ctx, *out, *steps, *tiny); err != nil {
		fmt.Fprintln(os.Stderr, "custom-reward:", err)
		os.Exit(1)
	}
}

// finetuneAll fine-tunes one run per entry of runs, in OUT/REWARD.
func finetuneAll(ctx context.Context, out string, steps int64, tiny bool) error {
	backend, err := backends.Default()
	if err != nil {
		return err
	}
	for _, r := range runs {
		if err := finetune(ctx, backend, filepath.Join(out, r.reward), r.reward, config(r.tau, tiny), steps); err != nil {
			return fmt.Errorf("%s: %w", r.reward, err)
		}
	}
	return nil
}

// config is the mnist-even task's defaults (ORW-CFM-W2, the policy refreshed
// every 100 steps, batches of 128) at inverse temperature tau, with the
// weights normalised to mean 1 per batch, so that α = 0.1 weighs the W2
// term alike at every τ; evaluated on 500 samples every 100 steps. tiny
// shrinks it to batches of 16.
func config(tau float64, tiny bool) orw.Config {
	cfg := tasks.MNISTEvenConfig()
	cfg.Tau, cfg.Alpha, cfg.NormalizeWeights = tau, 0.1, true
	cfg.EvalEvery, cfg.EvalSamples, cfg.CheckpointEvery = 100, 500, 100
	if tiny {
		cfg.Batch, cfg.RefreshEvery, cfg.EvalEvery, cfg.EvalSamples, cfg.CheckpointEvery = 16, 2, 2, 32, 2
	}
	return cfg
}

// finetune fine-tunes mnist-even's base model toward the reward spec in dir
// for steps steps, then draws the before/after picture.
func finetune(ctx context.Context, backend compute.Backend, dir, spec string, cfg orw.Config, steps int64) error {
	run, err := tasks.OpenOrCreateRunWith(backend, dir, "mnist-even", tasks.Options{Reward: spec}, cfg)
	if err != nil {
		return err
	}
	defer run.Close()
	fmt.Printf("%s: fine-tuning with τ = %g, α = %g to step %d in %s\n", spec, cfg.Tau, cfg.Alpha, steps, dir)
	train.AttachProgress(run.Loop(), train.NewTextBar(spec), 1, func(rec orw.StepRecord) string {
		return fmt.Sprintf("batch reward %.3f w2 %.2e", rec.RewardMean, rec.W2)
	})
	if err := run.StepTo(ctx, steps); err != nil {
		return err
	}
	_, evals, err := run.History()
	if err != nil {
		return err
	}
	first, last := evals[0], evals[len(evals)-1]
	fmt.Printf("%s: evaluation reward %.3f at step %d, %.3f at step %d (W2 estimate %.3g)\n",
		spec, first.Reward, first.Step, last.Reward, last.Step, last.W2Velocity)
	if e := last.Evaluator; e != nil && e.HackingGap != nil {
		fmt.Printf("%s: the evaluator's classifier gives %.3f (hacking gap %.3f)\n", spec, *e.Reward, *e.HackingGap)
	}
	picture := filepath.Join(dir, "before-after.png")
	if err := beforeAfter(picture, run, 32); err != nil {
		return err
	}
	fmt.Printf("%s: wrote %s (the same noise through the base model and the fine-tuned one)\n", spec, picture)
	return nil
}

// beforeAfter writes n samples of the base model (left) and of the run's
// fine-tuned model (right) from the same noise, each captioned with its
// reward.
func beforeAfter(path string, run *rundir.Run, n int) error {
	env := run.Trainer().Env()
	before, err := tasks.SampleImages(env.Backend, env.Base, run.Config().Sampler, n, pictureSeed)
	if err != nil {
		return err
	}
	after, err := run.Samples(n, pictureSeed)
	if err != nil {
		return err
	}
	var panels []image.Image
	for _, p := range []struct {
		title  string
		images *orw.Images
	}{{"before: the base model", before}, {fmt.Sprintf("after %d steps", run.StepCount()), after}} {
		rewards, err := env.Reward.Reward(p.images)
		if err != nil {
			return err
		}
		captions, mean := make([]string, n), 0.0
		for i, r := range rewards {
			captions[i] = strings.Replace(fmt.Sprintf("%.2f", r), "-0.00", "0.00", 1)
			mean += r / float64(n)
		}
		grid, err := runplot.SampleGrid(p.images, n, 8, 2, captions)
		if err != nil {
			return err
		}
		panels = append(panels, vis.Titled(grid, fmt.Sprintf("%s, mean reward %.3f", p.title, mean)))
	}
	return vis.SavePNG(path, vis.Grid(panels, 2, vis.GridOptions{Scale: 1, Pad: 8}))
}
