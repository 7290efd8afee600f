package backends

import (
	"strings"
	"testing"

	"github.com/gomlx/compute"
)

// TestDefaultBackendIsGo checks that without GOMLX_BACKEND the pure-Go backend is
// chosen, so that nothing on the CPU path tries to download an XLA plugin.
func TestDefaultBackendIsGo(t *testing.T) {
	t.Setenv(compute.ConfigEnvVar, "")
	if got := Config(); got != DefaultGo {
		t.Fatalf("Config() = %q, want %q", got, DefaultGo)
	}
	t.Setenv(compute.ConfigEnvVar, " xla:cuda ")
	if got := Config(); got != "xla:cuda" {
		t.Fatalf("GOMLX_BACKEND not honoured: %q", got)
	}
	b, err := compute.NewWithConfig(DefaultGo)
	if err != nil {
		t.Fatal(err)
	}
	if b.Name() != "Go Backend" {
		t.Fatalf("default backend is %q, want the Go backend", b.Name())
	}
}

// TestXLAMessage checks, with or without cgo, what `orw info` and a request for
// XLA say when XLA is not compiled in: one line naming cgo and the C compiler.
func TestXLAMessage(t *testing.T) {
	if got := xlaStatus(true); got != "compiled in" {
		t.Errorf("xlaStatus(true) = %q", got)
	}
	want := "not compiled in (this binary was built without cgo: install a C compiler, e.g. `apt-get install gcc libc6-dev`, and rebuild)"
	if got := xlaStatus(false); got != want {
		t.Errorf("xlaStatus(false) = %q, want %q", got, want)
	}
	msg := noXLAError("xla:cuda").Error()
	for _, s := range []string{`GOMLX_BACKEND="xla:cuda"`, "XLA: " + want, "unset GOMLX_BACKEND"} {
		if !strings.Contains(msg, s) {
			t.Errorf("noXLAError lacks %q: %q", s, msg)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("noXLAError is not one line: %q", msg)
	}
}

// TestUnknownBackend checks that a GOMLX_BACKEND naming no compiled-in backend is
// an error listing those there are, not compute's panic.
func TestUnknownBackend(t *testing.T) {
	_, err := newBackend("frobnicate:fast")
	if err == nil || !strings.Contains(err.Error(), `unknown compute backend "frobnicate"`) || !strings.Contains(err.Error(), "go") {
		t.Fatalf("newBackend(frobnicate) = %v", err)
	}
}
