# soak — see README.md. Two commands set everything up on a fresh machine
# with Go: `make soak` (a real soak of the built-in quick scenario) and
# `make test`.
GO        ?= go
BIN       ?= bin/soak
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
STATICCHECK_VERSION ?= 2026.1
# Fuzz targets run on their seed corpus in `make test`; FUZZTIME>0 fuzzes for real.
FUZZTIME  ?= 0

.PHONY: all build test soak bench lint fuzz clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/soak

test: build
	$(GO) test -race -timeout 9m ./...

soak: build
	$(BIN) run

bench: build
	./bench/run.sh

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

clean:
	rm -rf bin
