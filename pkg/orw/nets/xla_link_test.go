//go:build cgo

package nets

// The XLA backend is linked into this package's tests so that GOMLX_BACKEND=xla:PLUGIN
// runs them on XLA (CPU or CUDA): scripts/gpu-check.sh runs them on a GPU from the test
// binary of `make gpu-bundle`. Without GOMLX_BACKEND the tests use the Go backend.
// It needs cgo, so a build without cgo (no C compiler) leaves it out.
import _ "github.com/gomlx/go-xla/compute/xla"
