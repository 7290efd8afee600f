//go:build !cgo

package backends

import (
	"strings"
	"testing"
)

// TestXLABackendWithoutCgo checks that a binary built without cgo has no XLA and
// that asking for it gives the one-line error that says how to get it.
func TestXLABackendWithoutCgo(t *testing.T) {
	if !strings.HasPrefix(XLAStatus(), "not compiled in (this binary was built without cgo") {
		t.Errorf("XLAStatus() = %q", XLAStatus())
	}
	for _, cfg := range []string{"xla:cpu", "xla:cuda", "xla", "stablehlo:cpu"} {
		_, err := newBackend(cfg)
		if err == nil || err.Error() != noXLAError(cfg).Error() {
			t.Errorf("newBackend(%q) = %v, want %v", cfg, err, noXLAError(cfg))
		}
	}
	if _, err := newBackend(DefaultGo); err != nil {
		t.Fatalf("the Go backend without cgo: %v", err)
	}
}
