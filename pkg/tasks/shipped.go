package tasks

import (
	"fmt"
	"os"
	"strings"

	"github.com/orwcfm/orwcfm/internal/suggest"
	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/ckpt"
	"github.com/orwcfm/orwcfm/pkg/tasks/models"
)

// readCheckpoint reads a checkpoint from a file path, or from the shipped models
// when ref has no path separator and no such file exists ("mnist-latent.ckpt").
func readCheckpoint(ref string) (*ckpt.Checkpoint, error) {
	if _, err := os.Stat(ref); err == nil || strings.ContainsRune(ref, os.PathSeparator) {
		return ckpt.Read(ref)
	}
	f, err := models.Open(ref)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	c, err := ckpt.Decode(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("shipped model %s: %w", ref, err)
	}
	return c, nil
}

// ModelKinds lists the base-model kinds of a data set: "latent" (the CPU
// default), "latent-cond" (the same, class-conditional; the prompt tasks take
// it with --model latent-cond), "unet" (pixel space, paper-faithful) and "mlp"
// (pixel space; the 2-D toy's).
// The shipped file of a kind is DATA-KIND.ckpt ("fashion-latent-cond.ckpt").
var ModelKinds = []string{"latent", "latent-cond", "unet", "mlp"}

// ShippedGenerator returns the shipped base generator of a data set and kind
// ("mnist", "latent"), or loads a generator checkpoint when model is a file path.
func ShippedGenerator(data, model string) (*orw.Generator, error) {
	if model == "" {
		model = "latent"
	}
	ref := model
	if !strings.HasSuffix(model, ".ckpt") {
		ok := false
		for _, k := range ModelKinds {
			ok = ok || k == model
		}
		if !ok {
			return nil, suggest.Unknown("model", model, ModelKinds).WithNote("or a generator checkpoint file, FILE.ckpt")
		}
		ref = data + "-" + model + ".ckpt"
	}
	c, err := readCheckpoint(ref)
	if err != nil {
		return nil, err
	}
	g, err := orw.GeneratorFromCheckpoint(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	return g, nil
}

// ShippedClassifier returns the shipped classifier of a data set ("mnist"), or
// loads a classifier checkpoint when ref is a file path.
func ShippedClassifier(ref string) (*Classifier, error) {
	return shippedClassifier(ref, "-classifier.ckpt")
}

// shippedClassifier loads the classifier checkpoint ref, or the shipped one
// named ref+suffix when ref is a data set's name.
func shippedClassifier(ref, suffix string) (*Classifier, error) {
	if !strings.HasSuffix(ref, ".ckpt") {
		ref += suffix
	}
	c, err := readCheckpoint(ref)
	if err != nil {
		return nil, err
	}
	cl, err := classifierFromCheckpoint(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	return cl, nil
}
