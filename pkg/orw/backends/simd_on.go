//go:build goexperiment.simd

package backends

// SIMDEnabled reports whether the binary was built with GOEXPERIMENT=simd.
const SIMDEnabled = true
