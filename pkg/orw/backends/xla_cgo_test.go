//go:build cgo

package backends

import (
	"slices"
	"testing"

	"github.com/gomlx/compute"
)

// TestXLABackendCompiledIn checks that with cgo the XLA backend is registered
// (without starting it: that could download a plugin).
func TestXLABackendCompiledIn(t *testing.T) {
	if XLAStatus() != "compiled in" || !slices.Contains(compute.List(), "xla") {
		t.Fatalf("XLAStatus() = %q, backends %v", XLAStatus(), compute.List())
	}
}
