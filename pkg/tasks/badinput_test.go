package tasks

import (
	"fmt"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
)

// TestRewardsRejectBadImages feeds every task's reward and judge (the library
// API) batches that do not fit: none, too few pixels, a negative count, a wrong
// channel count and, for the rewards tied to a picture size, a wrong size. Each
// must return an error that says what is wrong, never panic.
func TestRewardsRejectBadImages(t *testing.T) {
	be := testBackend(t)
	for _, name := range Names() {
		task, _ := Lookup(name)
		if task.Data == "cifar10" {
			continue // no CIFAR-10 base model is shipped
		}
		opts, err := task.Resolve(Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		env, err := task.BuildEnv(be, opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		shape := env.Base.ImageShape()
		if len(shape) == 1 {
			shape = []int{1, 1, shape[0]}
		}
		h, w, c := shape[0], shape[1], shape[2]
		batch := func(n, h, w, c, missing int) *orw.Images {
			return &orw.Images{N: n, H: h, W: w, C: c, Pix: make([]float32, max(n*h*w*c-missing, 0))}
		}
		type bad struct {
			what   string
			images *orw.Images
			want   string
		}
		cases := []bad{
			{"nil batch", nil, "nil batch"},
			{"too few pixels", batch(3, h, w, c, 1), fmt.Sprintf("%d values for 3 images", 3*h*w*c-1)},
			{"negative count", &orw.Images{N: -1, H: h, W: w, C: c}, "invalid shape"},
			{"wrong channel count", batch(2, h, w, c+1, 0), ""},
		}
		if !strings.Contains(name, "jpeg") { // JPEG sizes are defined for any picture size
			cases = append(cases, bad{"wrong size", batch(2, h+4, w, c, 0), ""})
		}
		// The reward of a good batch works (so the errors above are about the batch).
		if r, err := env.Reward.Reward(batch(2, h, w, c, 0)); err != nil || len(r) != 2 {
			t.Fatalf("%s: a good batch: %v, %v", name, r, err)
		}
		for _, tc := range cases {
			for part, call := range map[string]func(*orw.Images) error{
				"reward": func(im *orw.Images) error { _, err := env.Reward.Reward(im); return err },
				"judge": func(im *orw.Images) error {
					if env.Judge == nil {
						return fmt.Errorf("no judge")
					}
					_, err := env.Judge.Classify(im)
					return err
				},
			} {
				if part == "judge" && env.Judge == nil {
					continue
				}
				var err error
				func() {
					defer func() {
						if p := recover(); p != nil {
							err = fmt.Errorf("PANIC: %v", p)
						}
					}()
					err = call(tc.images)
				}()
				if err == nil || strings.HasPrefix(err.Error(), "PANIC") || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s %s, %s: err = %v", name, part, tc.what, err)
				} else {
					t.Logf("%s %s, %s: %v", name, part, tc.what, err)
				}
			}
		}
	}
}
