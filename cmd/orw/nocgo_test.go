//go:build !cgo

package main

import (
	"strings"
	"testing"
)

// TestNoXLABackendCLI checks a binary built without cgo: `orw info` says XLA is not
// compiled in, and GOMLX_BACKEND=xla:cpu stops finetune with one line saying why.
func TestNoXLABackendCLI(t *testing.T) {
	work := t.TempDir()
	code, out, errOut := orwProcess(t, work, "info")
	if code != 0 || !strings.Contains(out, "XLA:         not compiled in (this binary was built without cgo") {
		t.Errorf("orw info: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	t.Setenv("GOMLX_BACKEND", "xla:cpu")
	code, _, errOut = orwProcess(t, work, "finetune", "--task", "toy2d", "--steps", "2", "--quiet", "--out", work+"/run")
	line := strings.TrimSuffix(errOut, "\n")
	want := `GOMLX_BACKEND="xla:cpu" asks for XLA, but XLA: not compiled in (this binary was built without cgo: install a C compiler`
	if code != 1 || !strings.Contains(line, want) || strings.Contains(line, "\n") {
		t.Errorf("orw finetune with GOMLX_BACKEND=xla:cpu: exit %d, stderr %q; want exit 1 and one line with %q", code, errOut, want)
	}
	t.Logf("%s", line)
}
