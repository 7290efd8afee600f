//go:build goexperiment.simd && linux

package backends

import (
	"os"
	"os/exec"
	"runtime"
	"simd"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// probeEnv makes the test binary run simdTailProbe instead of the tests.
const probeEnv = "ORW_SIMD_TAIL_PROBE"

func TestMain(m *testing.M) {
	if mode := os.Getenv(probeEnv); mode != "" {
		simdTailProbe(mode == "guard-page")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// simdTailProbe loads the last 4 floats of a mapped page with
// simd.LoadFloat32sPart. With guardPage the next page is unreadable, as the
// reserved heap beyond the Go heap's end is.
func simdTailProbe(guardPage bool) {
	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		panic(err)
	}
	if guardPage {
		if err := syscall.Mprotect(mem[page:], syscall.PROT_NONE); err != nil {
			panic(err)
		}
	}
	all := unsafe.Slice((*float32)(unsafe.Pointer(&mem[0])), page/4)
	tail := all[len(all)-4:]
	copy(tail, []float32{1, 2, 3, 4})
	v, n := simd.LoadFloat32sPart(tail)
	out := make([]float32, simd.BroadcastFloat32s(0).Len())
	v.StorePart(out[:n])
	os.Stdout.WriteString(strings.Repeat("x", n) + "\n")
}

// TestSIMDPartialLoadReadsPastTheEnd shows the Go 1.27.3 defect behind the
// backend's rare crash (docs/reliability.md, "A crash in Go's simd package"):
// loading the last 4 floats before an unreadable page crashes, the same load
// before a readable page does not. When the guard-page probe stops crashing, the
// toolchain is fixed and the note and orwtest.WideLatentGenerator can go.
func TestSIMDPartialLoadReadsPastTheEnd(t *testing.T) {
	if simd.BroadcastFloat32s(0).Len() < 8 {
		t.Skipf("this CPU's vectors hold %d float32s; the defect is in the AVX2/AVX-512 loads", simd.BroadcastFloat32s(0).Len())
	}
	run := func(mode string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), probeEnv+"="+mode)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("readable-page")
	if err != nil || strings.TrimSpace(out) != "xxxx" {
		t.Fatalf("partial load of 4 floats before a readable page: err %v, output %q; want 4 lanes loaded", err, out)
	}
	out, err = run("guard-page")
	if err == nil {
		t.Fatalf("partial load before an unreadable page did not crash (output %q): %s's simd package is fixed, "+
			"so the note in docs/reliability.md and orwtest.WideLatentGenerator can go", out, runtime.Version())
	}
	if !strings.Contains(out, "unexpected fault address") {
		t.Fatalf("partial load before an unreadable page failed, but not with the expected fault: %v\n%s", err, out)
	}
}
