# shellcheck shell=bash
# Sourced by the project's scripts: the toolchain settings every build needs.
# Go 1.27.3 is fetched by the go command from the module proxy on first use.
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
# SIMD kernels of the Go backend: about 20x faster matrix products.
export GOEXPERIMENT="${GOEXPERIMENT:-simd}"
case ",$GOEXPERIMENT," in *,simd,*) ;; *) export GOEXPERIMENT="$GOEXPERIMENT,simd" ;; esac
# The go command's bin directory on the PATH, when the go command works (a failed toolchain
# download must not end a `set -e` script here without a word: its next go command says why).
if GOBIN_DIR="$(go env GOPATH 2>/dev/null)/bin"; then
  case ":$PATH:" in *":$GOBIN_DIR:"*) ;; *) export PATH="$GOBIN_DIR:$PATH" ;; esac
fi
