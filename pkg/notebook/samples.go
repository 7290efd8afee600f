package notebook

import (
	"errors"
	"fmt"
	"image"
	"math"

	"gonum.org/v1/plot"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
	"github.com/orwcfm/orwcfm/pkg/tasks"
	"github.com/orwcfm/orwcfm/pkg/vis"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

// RewardSamples are samples of one trial's latest model with the reward of
// each, as the trial's task computes it.
type RewardSamples struct {
	// Name is the trial's name.
	Name string
	// Images are the samples.
	Images *orw.Images
	// Rewards holds one reward per sample.
	Rewards []float64
}

// Mean is the mean reward of the samples (NaN without samples).
func (s RewardSamples) Mean() float64 {
	if len(s.Rewards) == 0 {
		return math.NaN()
	}
	sum := 0.0
	for _, r := range s.Rewards {
		sum += r
	}
	return sum / float64(len(s.Rewards))
}

// Grid lays out the first n samples (all when n is not positive) in rows of
// cols, each captioned with its reward written with format (for example
// "%.2f"), and titles the grid with the trial's name and the mean reward.
func (s RewardSamples) Grid(n, cols int, format string) (image.Image, error) {
	if s.Images == nil || s.Images.N == 0 {
		return nil, fmt.Errorf("notebook: RewardSamples %q: no samples", s.Name)
	}
	if runplot.IsPoints(s.Images) {
		return nil, fmt.Errorf("notebook: RewardSamples %q: 2-D points have no grid; plot them (see ToyStates)", s.Name)
	}
	if n <= 0 || n > s.Images.N {
		n = s.Images.N
	}
	captions := make([]string, n)
	for i := range captions {
		captions[i] = fmt.Sprintf(format, s.Rewards[i])
	}
	g, err := runplot.SampleGrid(s.Images, n, cols, 0, captions)
	if err != nil {
		return nil, err
	}
	return vis.Titled(g, fmt.Sprintf("%s (mean %.3g)", s.Name, s.Mean())), nil
}

// TrialRewardSamples draws n samples of the latest model of every trial of
// experiment group, all from the same noise (LiveSeed), and scores them with
// the trial's reward. Of trials that share a name (seeds) only the first is
// drawn.
func TrialRewardSamples(group string, n int, trials ...Trial) ([]RewardSamples, error) {
	backend, err := backends.Default()
	if err != nil {
		return nil, err
	}
	var out []RewardSamples
	err = eachTrialSample(group, n, trials, func(t Trial, _ string, im *orw.Images) error {
		task, err := tasks.Lookup(t.TaskName())
		if err != nil {
			return err
		}
		env, err := task.BuildEnv(backend, t.Options)
		if err != nil {
			return fmt.Errorf("trial %q: %w", t.Name, err)
		}
		r, err := env.Reward.Reward(im)
		if err != nil {
			return fmt.Errorf("trial %q: reward: %w", t.Name, err)
		}
		if len(r) != im.N {
			return fmt.Errorf("trial %q: the reward returned %d values for %d samples", t.Name, len(r), im.N)
		}
		out = append(out, RewardSamples{Name: t.Name, Images: im, Rewards: r})
		return nil
	})
	if err != nil {
		return out, err
	}
	if len(out) == 0 {
		return nil, errors.New("notebook: TrialRewardSamples: no trials")
	}
	return out, nil
}

// RewardHistogram draws the rewards of several sample sets as overlaid
// histograms with bins bins, labelled with the sets' names and mean rewards.
func RewardHistogram(title, xlabel string, bins int, sets ...RewardSamples) (*plot.Plot, error) {
	if len(sets) == 0 {
		return nil, errors.New("notebook: RewardHistogram: no sample sets")
	}
	samples := make([]vis.Sample, len(sets))
	for i, s := range sets {
		samples[i] = vis.Sample{Name: fmt.Sprintf("%s (mean %.3g)", s.Name, s.Mean()), Values: s.Rewards}
	}
	return vis.Histogram(title, xlabel, bins, samples...)
}
