// Command pjrt-cuda installs go-xla's PJRT CUDA plugin and the NVIDIA libraries it
// needs at a pinned version, at image build time (docker/Dockerfile.cuda):
//
//	go run ./docker/pjrt-cuda -version 0.11.2 -dir /usr/local/lib/go-xla
//
// It calls go-xla's installer (installer.CudaInstall), which takes the plugin from the
// jax-cuda13-pjrt wheel of that version and the CUDA and cuDNN libraries from NVIDIA's
// wheels, checking their SHA-256 sums, and puts the plugin at
// DIR/nvidia/pjrt_c_api_cuda_plugin.so with the libraries beside it, where go-xla's
// default search finds it. It needs the network and no GPU. The NVIDIA libraries are
// the ones the newest jax-cuda13-plugin release asks for (go-xla v0.4.13 reads the
// dependencies of the latest release, whatever -version says).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gomlx/go-xla/installer"
)

func main() {
	if err := run(os.Args[1:], os.Stderr, installer.CudaInstall); err != nil {
		fmt.Fprintln(os.Stderr, "pjrt-cuda:", err)
		os.Exit(1)
	}
}

// installFunc is installer.CudaInstall's signature (replaced in the tests).
type installFunc func(plugin, version, installPath string, useCache bool, verbosity installer.VerbosityLevel) error

// run parses the flags, installs and checks that the plugin file is where go-xla
// looks for it.
func run(args []string, stderr io.Writer, install installFunc) error {
	fs := flag.NewFlagSet("pjrt-cuda", flag.ContinueOnError)
	fs.SetOutput(stderr)
	version := fs.String("version", "", "jax-cuda13-pjrt version to install, e.g. 0.11.2 (required: a pinned version, not \"latest\")")
	dir := fs.String("dir", "/usr/local/lib/go-xla", "go-xla's library directory; the plugin goes to DIR/nvidia")
	plugin := fs.String("plugin", "cuda13", "cuda13 or cuda12 (the jax-cudaNN-pjrt wheels)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; usage: pjrt-cuda -version V [-dir DIR]", fs.Args())
	}
	switch {
	case *version == "":
		return errors.New("-version is required (a jax-cuda13-pjrt release, e.g. 0.11.2)")
	case *version == "latest":
		return errors.New("-version latest is not a pin: name a release, e.g. 0.11.2")
	case *plugin != "cuda13" && *plugin != "cuda12":
		return fmt.Errorf("-plugin %q: want cuda13 or cuda12", *plugin)
	case !filepath.IsAbs(*dir):
		return fmt.Errorf("-dir %q must be an absolute path", *dir)
	}
	if err := install(*plugin, *version, *dir, false, installer.Verbose); err != nil {
		return fmt.Errorf("installing the %s PJRT plugin %s into %s: %w", *plugin, *version, *dir, err)
	}
	so := filepath.Join(*dir, "nvidia", installer.NVIDIAPJRTPluginFileName)
	if _, err := os.Stat(so); err != nil {
		return fmt.Errorf("the installer finished but %s is missing: %w", so, err)
	}
	fmt.Fprintf(stderr, "pjrt-cuda: installed %s %s: %s\n", *plugin, *version, so)
	return nil
}
