//go:build cgo

package backends

// XLA (go-xla's PJRT bindings) needs cgo. It stays compiled in whenever cgo is on,
// so that GOMLX_BACKEND=xla:cuda works without a rebuild; it is only ever touched
// when GOMLX_BACKEND asks for it.
import _ "github.com/gomlx/go-xla/compute/xla/autoinstall"

// xlaCompiledIn reports whether the XLA backend is in the binary.
const xlaCompiledIn = true
