// Package backends chooses the GoMLX compute backend: the pure-Go backend with
// SIMD on CPUs by default, XLA (CPU or CUDA) when GOMLX_BACKEND asks for it.
// XLA is compiled in only when cgo is on (xla_cgo.go); without a C compiler the
// go command turns cgo off and the binary has the pure-Go backend alone
// (xla_nocgo.go).
package backends

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	// The pure-Go backend, the default.
	_ "github.com/gomlx/compute/gobackend"

	"github.com/orwcfm/orwcfm/internal/suggest"
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
		backendVal, backendErr = newBackend(Config())
	})
	return backendVal, backendErr
}

// xlaNames are the names go-xla registers its backend under.
var xlaNames = []string{"xla", "stablehlo", "hlo", "shlo"}

// newBackend starts the backend cfg names. A name that is not compiled in is an
// error (compute.NewWithConfig would panic): for XLA in a binary built without
// cgo, the error says how to get it.
func newBackend(cfg string) (compute.Backend, error) {
	name, _, _ := strings.Cut(cfg, ":")
	if !slices.Contains(compute.List(), name) {
		if slices.Contains(xlaNames, name) && !xlaCompiledIn {
			return nil, noXLAError(cfg)
		}
		known := compute.List()
		slices.Sort(known)
		return nil, suggest.Unknown("compute backend", name, known).
			WithNote(fmt.Sprintf("the ones compiled into this binary; from %s=%q", compute.ConfigEnvVar, cfg))
	}
	b, err := compute.NewWithConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot start the compute backend %q: %w (set GOMLX_BACKEND=go for the pure-Go CPU backend)", cfg, err)
	}
	return b, nil
}

// noXLAReason says why XLA is missing from a binary built without cgo and how to
// get it.
const noXLAReason = "this binary was built without cgo: install a C compiler, e.g. `apt-get install gcc libc6-dev`, and rebuild"

// XLAStatus says whether XLA is compiled in, for `orw info`.
func XLAStatus() string { return xlaStatus(xlaCompiledIn) }

func xlaStatus(compiledIn bool) string {
	if compiledIn {
		return "compiled in"
	}
	return "not compiled in (" + noXLAReason + ")"
}

// noXLAError is the error for a GOMLX_BACKEND that asks for XLA in a binary
// without it: one line.
func noXLAError(cfg string) error {
	return fmt.Errorf("%s=%q asks for XLA, but XLA: %s; unset %s for the pure-Go CPU backend", compute.ConfigEnvVar, cfg, xlaStatus(false), compute.ConfigEnvVar)
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
	XLA         bool   `json:"xla_compiled_in"`
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
		XLA:        xlaCompiledIn,
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
