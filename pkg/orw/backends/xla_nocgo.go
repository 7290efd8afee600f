//go:build !cgo

package backends

// xlaCompiledIn reports whether the XLA backend is in the binary: not without cgo
// (go-xla's PJRT bindings need it; the go command turns cgo off when there is no
// C compiler).
const xlaCompiledIn = false
