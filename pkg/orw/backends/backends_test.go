package backends

import (
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
