// Package models holds the weights the project ships: the MNIST and
// Fashion-MNIST classifiers and evaluators, the pretrained base generators of MNIST,
// Fashion-MNIST and the 2-D toy, produced by the project's own commands (see
// README, "Shipped models", and weights/README.md) and embedded in every binary.
package models

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed weights
var files embed.FS

// Open returns the named shipped file ("mnist-latent.ckpt").
func Open(name string) (fs.File, error) {
	f, err := files.Open("weights/" + name)
	if err != nil {
		return nil, fmt.Errorf("no shipped model %q (shipped: %s)", name, strings.Join(Names(), ", "))
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
