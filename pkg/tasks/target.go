package tasks

import (
	"fmt"
	"image"
	"image/color"
	_ "image/png" // PNG targets
	"os"
	"strconv"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/tasks/datasets"
)

// DefaultTarget is the default target of the target reward: image 0 of the data
// set's test split (for MNIST a 7).
const DefaultTarget = "0"

// TargetReward is the negative mean squared distance to a target image,
// r(x) = −(1/P) Σ_p (x_p − t_p)² over the P values of an image in [−1, 1]:
// 0 for the target itself, −4 at the farthest.
type TargetReward struct {
	// Target holds one image.
	Target *orw.Images
}

// Reward scores a batch.
func (r TargetReward) Reward(images *orw.Images) ([]float64, error) {
	if err := images.Validate(); err != nil {
		return nil, err
	}
	t := r.Target
	if t == nil || t.N != 1 {
		return nil, fmt.Errorf("target reward: needs exactly one target image")
	}
	if images.H != t.H || images.W != t.W || images.C != t.C {
		return nil, fmt.Errorf("target reward: images are %dx%dx%d, the target %dx%dx%d", images.H, images.W, images.C, t.H, t.W, t.C)
	}
	out := make([]float64, images.N)
	tp := t.At(0)
	for i := range out {
		s := 0.0
		for j, v := range images.At(i) {
			d := float64(v) - float64(tp[j])
			s += d * d
		}
		out[i] = -s / float64(len(tp))
	}
	return out, nil
}

// LoadTarget reads a target image of shape [H, W, C]: spec is an index into the
// test split of a data set ("17"), or a PNG file converted to gray (C = 1) or
// RGB (C = 3), which must have the images' size.
func LoadTarget(spec, data, dataDir string, shape []int) (*orw.Images, error) {
	if len(shape) != 3 {
		return nil, fmt.Errorf("target: the generator makes samples of shape %v, not images", shape)
	}
	h, w, c := shape[0], shape[1], shape[2]
	if spec == "" {
		spec = DefaultTarget
	}
	if idx, err := strconv.Atoi(spec); err == nil {
		set, err := LoadData(data, dataDir, datasets.Test)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", spec, err)
		}
		if idx < 0 || idx >= set.Len() {
			return nil, fmt.Errorf("target index %d is outside the %s test split (0..%d)", idx, data, set.Len()-1)
		}
		im := set.Images
		if im.H != h || im.W != w || im.C != c {
			return nil, fmt.Errorf("target: %s images are %dx%dx%d, the generator's %dx%dx%d", data, im.H, im.W, im.C, h, w, c)
		}
		return &orw.Images{N: 1, H: h, W: w, C: c, Pix: im.Float32(idx, idx+1)}, nil
	}
	f, err := os.Open(spec)
	if err != nil {
		return nil, fmt.Errorf("target %q is neither a test-split index nor a readable PNG file: %w", spec, err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", spec, err)
	}
	return targetFromImage(img, h, w, c, spec)
}

// targetFromImage converts a decoded image to [-1, 1] values of shape h×w×c.
func targetFromImage(img image.Image, h, w, c int, name string) (*orw.Images, error) {
	b := img.Bounds()
	if b.Dx() != w || b.Dy() != h {
		return nil, fmt.Errorf("target %s is %dx%d pixels, the generator's images %dx%d", name, b.Dx(), b.Dy(), w, h)
	}
	if c != 1 && c != 3 {
		return nil, fmt.Errorf("target %s: images with %d channels cannot come from a PNG", name, c)
	}
	out := &orw.Images{N: 1, H: h, W: w, C: c, Pix: make([]float32, h*w*c)}
	scale := func(v uint8) float32 { return float32(v)/127.5 - 1 }
	for y := range h {
		for x := range w {
			px := img.At(b.Min.X+x, b.Min.Y+y)
			k := (y*w + x) * c
			if c == 1 {
				out.Pix[k] = scale(color.GrayModel.Convert(px).(color.Gray).Y)
				continue
			}
			rgb := color.NRGBAModel.Convert(px).(color.NRGBA)
			out.Pix[k], out.Pix[k+1], out.Pix[k+2] = scale(rgb.R), scale(rgb.G), scale(rgb.B)
		}
	}
	return out, nil
}

func newTargetReward(env *RewardEnv) (orw.Reward, error) {
	t, err := LoadTarget(env.Target, env.Data, env.DataDir, env.ImageShape)
	if err != nil {
		return nil, err
	}
	return TargetReward{Target: t}, nil
}
