// Command custom-data pretrains a flow-matching base model on your own
// images and fine-tunes it toward a reward with ORW-CFM-W2.
//
// The images are a directory of PNG files of one size (gray, or colour read
// as RGB; height and width multiples of 4) or an idx file (MNIST's format,
// gzipped or not). Without -images the example first writes 2,000 MNIST
// training digits as PNG files into OUT/images, to show the format.
//
// The base model is the latent generator of `orw pretrain --model latent`
// (tasks.DefaultLatentRecipe: a small convolutional autoencoder, then an MLP
// flow on its codes), with fewer steps so that it trains in a few minutes;
// OUT/base.png shows your images beside its samples. The images get a task
// of their own, "my-images" (tasks.Register), whose reward is any named
// reward that needs no classifier: JPEG compressibility by default, or the
// closeness to one of your images (-reward target -target FILE.png).
// OUT/run/before-after.png shows the same noise through the base model and
// the fine-tuned one.
//
//	go run ./examples/custom-data                    # MNIST digits written as PNGs
//	go run ./examples/custom-data -images ~/my-pngs  # your own pictures
//	go run ./examples/custom-data -tiny              # a few steps on 64 images (the tests)
//
// Running it again reuses the base model in OUT and continues the run; new
// images need a new -out. docs/library.md ("Your own data") walks through it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/signal"
	"path/filepath"
	"slices"

	"github.com/gomlx/compute"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
	"github.com/orwcfm/orwcfm/pkg/orw/train"
	"github.com/orwcfm/orwcfm/pkg/tasks"
	"github.com/orwcfm/orwcfm/pkg/tasks/datasets"
	"github.com/orwcfm/orwcfm/pkg/vis"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

// dataName names the images as a data set: the task's Data, recorded in the
// base model and the run.
const dataName = "my-images"

// sizes are the example's training lengths.
type sizes struct {
	images             int   // MNIST digits written as PNGs when no -images is given
	aeSteps, flowSteps int64 // pretraining: autoencoder, then the latent flow
	steps              int64 // fine-tuning
}

var (
	defaultSizes = sizes{images: 2000, aeSteps: 600, flowSteps: 3000, steps: 300}
	tinySizes    = sizes{images: 64, aeSteps: 4, flowSteps: 4, steps: 4}
)

// pictureSeed is the noise of the pictures.
const pictureSeed = 7

func main() {
	out := flag.String("out", "runs/examples/custom-data", "directory of the images, the base model, the run and the pictures")
	images := flag.String("images", "", "a directory of PNG files or an idx file (default: write MNIST digits as PNGs into OUT/images)")
	reward := flag.String("reward", "jpeg", "reward spec of the fine-tuning, any reward that needs no classifier: "+tasks.RewardSpecSyntax)
	target := flag.String("target", "", "PNG file of the target reward (-reward target): one of your images")
	tiny := flag.Bool("tiny", false, "a few steps on 64 images, to check that everything works (the tests)")
	flag.Parse()
	sz := defaultSizes
	if *tiny {
		sz = tinySizes
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *out, *images, tasks.Options{Reward: *reward, Target: *target}, sz, *tiny); err != nil {
		fmt.Fprintln(os.Stderr, "custom-data:", err)
		os.Exit(1)
	}
}

// run loads the images (writing MNIST digits as PNGs first when there are
// none), pretrains the base model on them and fine-tunes it toward the
// reward of opts, all under out.
func run(ctx context.Context, out, images string, opts tasks.Options, sz sizes, tiny bool) error {
	terms, err := tasks.ParseRewardSpec(opts.Reward)
	if err != nil {
		return err
	}
	if opts.Target == "" && slices.ContainsFunc(terms, func(t tasks.RewardTerm) bool { return t.Name == "target" }) {
		return errors.New("the target reward needs -target FILE.png, one of your images (there is no test split to pick from)")
	}
	if images == "" {
		images = filepath.Join(out, "images")
		if err := writeMNISTPNGs(images, sz.images); err != nil {
			return err
		}
	}
	set, err := loadImages(images)
	if err != nil {
		return err
	}
	fmt.Printf("custom-data: %d images of %dx%d pixels, %d channel(s), from %s\n", set.Len(), set.Images.H, set.Images.W, set.Images.C, images)
	backend, err := backends.Default()
	if err != nil {
		return err
	}
	opts.Model = filepath.Join(out, "base.ckpt")
	if err := pretrainBase(ctx, backend, set, images, opts.Model, sz); err != nil {
		return err
	}
	registerTask()
	cfg := tasks.JPEGConfig()
	if tiny {
		cfg.Batch, cfg.RefreshEvery, cfg.EvalEvery, cfg.EvalSamples, cfg.CheckpointEvery = 16, 2, 2, 32, 2
	}
	return finetune(ctx, backend, filepath.Join(out, "run"), opts, cfg, sz.steps)
}

// writeMNISTPNGs writes the first n MNIST training digits into dir as
// 00000.png, 00001.png, ... (8-bit gray, 28x28), unless dir holds PNGs already.
func writeMNISTPNGs(dir string, n int) error {
	if old, _ := filepath.Glob(filepath.Join(dir, "*.png")); len(old) > 0 {
		return nil
	}
	set, err := datasets.LoadMNIST("", datasets.Train)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	im := set.Images
	for i := range min(n, im.N) {
		g := image.NewGray(image.Rect(0, 0, im.W, im.H))
		copy(g.Pix, im.At(i))
		if err := writePNG(filepath.Join(dir, fmt.Sprintf("%05d.png", i)), g); err != nil {
			return err
		}
	}
	fmt.Printf("custom-data: wrote %d MNIST digits as PNG files into %s\n", min(n, im.N), dir)
	return nil
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// loadImages reads an idx file, or every PNG file of a directory
// (datasets.ReadImages), as the data set "my-images".
func loadImages(path string) (*datasets.Set, error) {
	im, err := datasets.ReadImages(path)
	if err != nil {
		return nil, err
	}
	return &datasets.Set{Name: dataName, Images: im}, nil
}

// pretrainBase trains the latent base model on the images into path, unless
// path holds the one made from the same images; an interrupted pretraining
// resumes from path.state. It then draws OUT/base.png.
func pretrainBase(ctx context.Context, backend compute.Backend, set *datasets.Set, source, path string, sz sizes) error {
	g, err := orw.LoadGenerator(path)
	switch {
	case err == nil && g.Meta["images"] != source:
		return fmt.Errorf("%s was pretrained on %v, not %s: use another -out", path, g.Meta["images"], source)
	case errors.Is(err, os.ErrNotExist):
		recipe := tasks.DefaultLatentRecipe(set.Images.H, set.Images.W, set.Images.C)
		recipe.AESteps, recipe.FlowSteps = sz.aeSteps, sz.flowSteps
		fmt.Printf("custom-data: pretraining the base model (%d autoencoder steps, %d flow steps) into %s\n", sz.aeSteps, sz.flowSteps, path)
		if err := os.MkdirAll(path+".state", 0o755); err != nil {
			return err
		}
		progress := func(stage string) train.Display { return train.NewTextBar(stage) }
		g, err = tasks.PretrainLatent(ctx, backend, tasks.DatasetFromSet(set), recipe, path+".state", progress)
		if err != nil {
			return err
		}
		g.Meta["data"], g.Meta["images"] = dataName, source
		if err := orw.SaveGenerator(path, g); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		fmt.Printf("custom-data: the base model %s is there already\n", path)
	}
	samples, err := tasks.SampleImages(backend, g, g.Sampler, 32, pictureSeed)
	if err != nil {
		return err
	}
	picture := filepath.Join(filepath.Dir(path), "base.png")
	if err := sideBySide(picture, 32, titled{"your images", tasks.ImagesFromDataset(tasks.DatasetFromSet(set))}, titled{"the base model's samples", samples}); err != nil {
		return err
	}
	fmt.Printf("custom-data: wrote %s (your images beside the base model's samples)\n", picture)
	return nil
}

// registerTask registers the task "my-images": the base model named by a
// run's Options.Model, the reward of its Options.Reward, no judge (there is
// no classifier of these images).
func registerTask() {
	t := &tasks.Task{
		Name:       dataName,
		Summary:    "your own images: a base model pretrained on them, fine-tuned toward a named reward",
		Data:       dataName,
		RewardSpec: "jpeg",
		Steps:      defaultSizes.steps,
		Defaults:   tasks.JPEGConfig,
	}
	t.EnvWith = tasks.StandardEnv(t)
	tasks.Register(t)
}

// finetune fine-tunes the base model of opts toward its reward in dir, then
// draws the before/after picture.
func finetune(ctx context.Context, backend compute.Backend, dir string, opts tasks.Options, cfg orw.Config, steps int64) error {
	run, err := tasks.OpenOrCreateRunWith(backend, dir, dataName, opts, cfg)
	if err != nil {
		return err
	}
	defer run.Close()
	fmt.Printf("custom-data: fine-tuning toward %s (τ = %g, α = %g) to step %d in %s\n", opts.Reward, cfg.Tau, cfg.Alpha, steps, dir)
	train.AttachProgress(run.Loop(), train.NewTextBar("finetune"), 1, func(rec orw.StepRecord) string {
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
	fmt.Printf("custom-data: evaluation reward %.3f at step %d, %.3f at step %d (W2 estimate %.3g)\n",
		first.Reward, first.Step, last.Reward, last.Step, last.W2Velocity)
	return beforeAfter(filepath.Join(dir, "before-after.png"), run)
}

// beforeAfter writes 32 samples of the base model beside those of the
// fine-tuned model from the same noise.
func beforeAfter(path string, run *rundir.Run) error {
	env := run.Trainer().Env()
	before, err := tasks.SampleImages(env.Backend, env.Base, run.Config().Sampler, 32, pictureSeed)
	if err != nil {
		return err
	}
	after, err := run.Samples(32, pictureSeed)
	if err != nil {
		return err
	}
	var panels []titled
	for _, p := range []titled{{"before: the base model", before}, {fmt.Sprintf("after %d steps", run.StepCount()), after}} {
		r, err := env.Reward.Reward(p.images)
		if err != nil {
			return err
		}
		panels = append(panels, titled{fmt.Sprintf("%s, mean reward %.3f", p.title, mean(r)), p.images})
	}
	if err := sideBySide(path, 32, panels...); err != nil {
		return err
	}
	fmt.Printf("custom-data: wrote %s (the same noise through the base model and the fine-tuned one)\n", path)
	return nil
}

// titled is a batch of images with a title.
type titled struct {
	title  string
	images *orw.Images
}

// sideBySide writes the first n images of each batch as a grid of 8 columns
// under its title, the grids side by side.
func sideBySide(path string, n int, batches ...titled) error {
	var panels []image.Image
	for _, b := range batches {
		grid, err := runplot.SampleGrid(b.images, min(n, b.images.N), 8, 2, nil)
		if err != nil {
			return err
		}
		panels = append(panels, vis.Titled(grid, b.title))
	}
	return vis.SavePNG(path, vis.Grid(panels, len(panels), vis.GridOptions{Scale: 1, Pad: 8}))
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
