# The project's entry points. Every target sets up what it needs first, idempotently.
#   make demo   fine-tune the shipped MNIST model toward even digits; pictures in runs/demo/
#   make test   install the test dependencies and run every test, notebooks included
#   make check  gofmt, go vet, staticcheck, go mod tidy (scripts/check.sh; CI runs it first)
#   make setup  install what the tests need (scripts/setup.sh --test), without running them
SHELL := /bin/bash
ENV := source scripts/env.sh &&

.PHONY: demo test check build setup vet notebook bench

bin/orw: $(shell find cmd pkg -name '*.go' -o -name '*.ckpt' 2>/dev/null) go.mod go.sum
	@$(ENV) scripts/setup.sh >/dev/null && go build -o bin/orw ./cmd/orw

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
