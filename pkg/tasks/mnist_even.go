package tasks

import (
	"github.com/gomlx/compute"

	"github.com/orwcfm/orwcfm/pkg/orw"
)

func init() {
	Register(&Task{
		Name:    "mnist-even",
		Summary: "MNIST: generate only even digits (the paper's first experiment)",
		Reward:  "r(x) = Σ_{k ∈ {0,2,4,6,8}} p(k | x), the shipped digit classifier's probability that x is an even digit (in [0, 1])",
		Data:    "mnist",
		Steps:   MNISTEvenSteps,
		Defaults: func() orw.Config {
			return MNISTEvenConfig()
		},
		Env: func(backend compute.Backend, model string) (orw.Env, error) {
			return mnistEnv(backend, model, EvenDigits)
		},
	})
}

// MNISTEvenSteps is the default length of the mnist-even job.
const MNISTEvenSteps = 1500

// MNISTEvenConfig is the default config of the mnist-even job: ORW-CFM-W2 tuned so
// that the shipped latent model reaches a mean reward ≥ 0.95 with every even digit
// kept, in minutes on 2 CPU cores.
func MNISTEvenConfig() orw.Config {
	c := orw.DefaultConfig()
	c.Tau = 5
	c.Alpha = 1
	c.Optim.LR = 1e-4
	c.EvalEvery = 100
	return c
}

// mnistEnv is the Env of an MNIST task whose reward is the probability of a class set.
func mnistEnv(backend compute.Backend, model string, classes []int) (orw.Env, error) {
	g, err := ShippedGenerator("mnist", model)
	if err != nil {
		return orw.Env{}, err
	}
	clf, err := ShippedClassifier("mnist")
	if err != nil {
		return orw.Env{}, err
	}
	return orw.Env{
		Backend: backend,
		Base:    g,
		Reward:  ClassSetReward{Backend: backend, Classifier: clf, Classes: classes},
		Judge:   ClassifierJudge{Backend: backend, Classifier: clf},
	}, nil
}
