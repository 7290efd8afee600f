//go:build goexperiment.simd

package orw

// SIMDEnabled reports whether the binary was built with GOEXPERIMENT=simd.
const SIMDEnabled = true
