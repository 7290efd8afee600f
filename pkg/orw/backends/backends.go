// Package backends chooses the GoMLX compute backend: the pure-Go backend with
// SIMD on CPUs by default, XLA (CPU or CUDA) when GOMLX_BACKEND asks for it.
package backends

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	// The pure-Go backend, the default.
	_ "github.com/gomlx/compute/gobackend"
	// XLA stays compiled in so that GOMLX_BACKEND=xla:cuda works without a rebuild.
	// It is only ever touched when GOMLX_BACKEND asks for it.
	_ "github.com/gomlx/go-xla/compute/xla/autoinstall"
)

// DefaultGo is the backend configuration used when GOMLX_BACKEND is unset:
// the pure-Go backend, running the graph's operations one after the other and
// parallelising inside each (the fastest setting measured on 2-core machines).
const DefaultGo = "go:ops_sequential"

var (
	backendOnce sync.Once
	backendVal  compute.Backend
	backendErr  error
)

// Default returns the process-wide compute backend. It honours GOMLX_BACKEND
// (e.g. "go", "xla:cuda"); when the variable is unset it uses DefaultGo,
// so nothing on the CPU path ever tries to download an XLA plugin.
func Default() (compute.Backend, error) {
	backendOnce.Do(func() {
		cfg := Config()
		backendVal, backendErr = compute.NewWithConfig(cfg)
		if backendErr != nil {
			backendErr = fmt.Errorf("cannot start the compute backend %q: %w (set GOMLX_BACKEND=go for the pure-Go CPU backend)", cfg, backendErr)
		}
	})
	return backendVal, backendErr
}

// Config is the configuration string Default uses.
func Config() string {
	if v := strings.TrimSpace(os.Getenv(compute.ConfigEnvVar)); v != "" {
		return v
	}
	return DefaultGo
}

// Info describes the build and the machine, for `orw info` and bug reports.
type Info struct {
	Backend     string `json:"backend"`
	BackendDesc string `json:"backend_description,omitempty"`
	SIMD        bool   `json:"simd"`
	GoVersion   string `json:"go_version"`
	NumCPU      int    `json:"num_cpu"`
	GOMAXPROCS  int    `json:"gomaxprocs"`
	GOARCH      string `json:"goarch"`
	GOOS        string `json:"goos"`
	Module      string `json:"module_version,omitempty"`
}

// GetInfo fills Info; it starts the backend to describe it.
func GetInfo() (Info, error) {
	in := Info{
		Backend:    Config(),
		SIMD:       SIMDEnabled,
		GoVersion:  runtime.Version(),
		NumCPU:     runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		GOARCH:     runtime.GOARCH,
		GOOS:       runtime.GOOS,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		in.Module = bi.Main.Version
	}
	b, err := Default()
	if err != nil {
		return in, err
	}
	in.BackendDesc = b.Name() + ": " + b.Description()
	return in, nil
}

// SIMDWarning is the one-line warning the CLI prints when the binary was built
// without GOEXPERIMENT=simd; empty when SIMD is compiled in.
func SIMDWarning() string {
	if SIMDEnabled || !strings.HasPrefix(Config(), "go") {
		return ""
	}
	return "warning: built without GOEXPERIMENT=simd: matrix products on the Go backend are about 20x slower; rebuild with GOEXPERIMENT=simd"
}
