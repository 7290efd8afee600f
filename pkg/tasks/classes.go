package tasks

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/orwcfm/orwcfm/internal/suggest"
	"github.com/orwcfm/orwcfm/pkg/orw"
)

// The class reward, "class:K": the data set's classifier's probability of one
// class K, named or numbered. Terms of it combine like any other:
// "class:3=1,class:5=-1" is p(3) − p(5).

// ClassArgNames are the names a class reward (class:NAME) and its errors give
// the classes of a data set, by label: the data set's class names in lower
// case with spaces as dashes ("sneaker", "ankle-boot", "t-shirt/top"; MNIST's
// are its digits "0" … "9"). Nil for a data set without classes.
func ClassArgNames(data string) []string {
	names := dataClassNames(data)
	if names == nil {
		return nil
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = classKey(n)
	}
	return out
}

// classKey is what names of one class have in common: lower case, with
// spaces and underscores as dashes ("Ankle boot", "ankle-boot" and
// "ANKLE_BOOT" are "ankle-boot").
func classKey(s string) string {
	return strings.NewReplacer(" ", "-", "_", "-").Replace(strings.ToLower(strings.TrimSpace(s)))
}

// classIndex is the label of the class that arg names on data set data: a
// class name (any case; spaces, dashes and underscores alike) or a label,
// 0 … n−1. The error lists the valid names.
func classIndex(data, arg string) (int, error) {
	names := dataClassNames(data)
	if names == nil {
		return 0, fmt.Errorf("data set %s has no classes: the class reward needs one of %s", data, suggest.List(dataSetNames))
	}
	for k, n := range names {
		if classKey(n) == classKey(arg) {
			return k, nil
		}
	}
	if k, err := strconv.Atoi(strings.TrimSpace(arg)); err == nil && k >= 0 && k < len(names) {
		return k, nil
	}
	valid := ClassArgNames(data)
	e := suggest.Unknown(data+" class", arg, valid)
	if valid[0] != "0" {
		e.Note = fmt.Sprintf("or a label, 0 to %d", len(names)-1)
	}
	return 0, e
}

// newClassReward builds class:ARG for env: the classifier's probability of
// that one class, a ClassSetReward.
func newClassReward(env *RewardEnv, arg string) (orw.Reward, error) {
	k, err := classIndex(env.Data, arg)
	if err != nil {
		return nil, err
	}
	clf, err := env.Classifier()
	if err != nil {
		return nil, err
	}
	return ClassSetReward{Backend: env.Backend, Classifier: clf, Classes: []int{k}}, nil
}
