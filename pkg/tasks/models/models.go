// Package models holds the weights the project ships: the MNIST and
// Fashion-MNIST classifiers and evaluators, the pretrained base generators of MNIST,
// Fashion-MNIST and the 2-D toy, produced by the project's own commands (see
// README, "Shipped models", and weights/README.md) and embedded in every binary.
package models

import (
	"embed"
	"io/fs"
	"sort"
	"strings"

	"github.com/orwcfm/orwcfm/internal/suggest"
)

//go:embed weights
var files embed.FS

// Open returns the named shipped file ("mnist-latent.ckpt"); the error lists
// the shipped files.
func Open(name string) (fs.File, error) {
	f, err := files.Open("weights/" + name)
	if err != nil {
		return nil, suggest.Unknown("shipped model", name, Names()).WithNote("and no file of that name in the current directory")
	}
	return f, nil
}

// Names lists the shipped files.
func Names() []string {
	entries, _ := files.ReadDir("weights")
	var n []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".ckpt") {
			n = append(n, e.Name())
		}
	}
	sort.Strings(n)
	return n
}
