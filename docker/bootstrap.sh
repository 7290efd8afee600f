#!/usr/bin/env bash
# The first step of both images (docker/Dockerfile, docker/Dockerfile.cuda), on Debian or
# Ubuntu as root: what scripts/setup.sh assumes is there, and nothing else. That is a few
# Debian packages (make, a C compiler for cgo, git, python3, CA certificates, wget) and a
# bootstrap Go from go.dev, VERSION (default 1.26.8); the go command then fetches the
# toolchain go.mod pins (GOTOOLCHAIN, scripts/env.sh). Everything else, the Jupyter
# packages and GoNB included, comes from scripts/setup.sh, as on any machine.
#   docker/bootstrap.sh [VERSION]
# VERSION none installs the packages alone and keeps the Go in /usr/local/go
# (scripts/fresh-root-test.sh runs the Dockerfile's steps that way, in a Debian 12 root
# with a Go copied in: `--build-arg GO_BOOTSTRAP=none`).
set -euo pipefail
version="${1:-1.26.8}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends ca-certificates gcc git libc6-dev make python3 wget
if [ "$version" = none ]; then
  /usr/local/go/bin/go version || { echo "bootstrap.sh: VERSION none, but there is no Go in /usr/local/go" >&2; exit 1; }
  exit 0
fi
arch="$(dpkg --print-architecture)" # amd64 or arm64, as go.dev names them
wget -q "https://go.dev/dl/go${version}.linux-${arch}.tar.gz" -O /tmp/go.tgz
rm -rf /usr/local/go
tar -C /usr/local -xzf /tmp/go.tgz
rm /tmp/go.tgz
/usr/local/go/bin/go version
