# soak — see README.md. Two commands set everything up on a fresh machine
# with Go: `make soak` (a real soak of the built-in quick scenario) and
# `make test`.
GO        ?= go
BIN       ?= bin/soak
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
# staticcheck 2026.1: the module proxy knows it only as v0.7.0.
STATICCHECK_VERSION ?= v0.7.0
# unparam finds parameters always given the same value and results never
# used (a runPhase that always returned nil); no tagged release, a pseudo-version.
UNPARAM_VERSION ?= v0.0.0-20260823230713-2fa3d841b0c8
# GCS=1 builds the fake GCS into bin/soak (fake-gcs-server pulls the GCS
# client, gRPC and OpenTelemetry: twice the cold build time; docs/backends.md).
# Tests always build it: TEST_TAGS.
GCS       ?=
TAGS      := $(if $(GCS),gcs)
TEST_TAGS ?= gcs
# Fuzz targets run on their seed corpus in `make test`; FUZZTIME>0 fuzzes for real.
FUZZTIME  ?= 0

.PHONY: all build test soak bench bench-vm lint fuzz clean deps-test

all: build

build:
	$(GO) build -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/soak

# -p 3: the end-to-end packages (e2e, e2e/cli, ci, scenarios/examples) mostly
# wait through scenario phases; at go's default of 2 packages at a time on 2
# cores the CPU sat ~46% idle (312 s wall), at 3 it is 248 s. Reclaim's
# tolerance allows for the timer lateness each run measures, which is what
# made more parallel healthy runs fail before.
test: build deps-test
	$(GO) test -race -p 3 -tags '$(TEST_TAGS)' -timeout 9m ./...

# Real servers used as SUTs by tests (nginx, HAProxy), bpftrace (the
# kernel event witness is compared with a tracepoint tcplife,
# bench/tcplife-tp.bt) and Prometheus (remote nodes read from it, e2e's
# SOAK_LONG tests; its promtool checks and runs `soak rules` output) come
# from Debian's packages: installed when root and
# apt are available, else those tests skip and say how to install them.
deps-test:
	@missing=""; for b in nginx haproxy bpftrace prometheus; do command -v $$b >/dev/null 2>&1 || [ -x /usr/sbin/$$b ] || missing="$$missing $$b"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing from Debian's packages"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$(echo $$missing | sed 's/nginx/nginx-light/') >/dev/null) \
	      || echo "could not install$$missing; their tests will skip"; \
	  else echo "not installed:$$missing (tests that need them skip; install: apt-get install nginx-light haproxy bpftrace prometheus)"; fi; \
	fi

soak: build
	$(BIN) run

bench: build
	./bench/run.sh

# The probes benchmark up to 50,000 sockets, in a VM where the fd limit can
# be raised (docs/bench.md); writes bench/out/probes-vm.txt.
bench-vm:
	./bench/vm/run.sh

lint:
	$(GO) vet ./...
	$(GO) vet -tags gcs ./fakebackend/
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	$(GO) run mvdan.cc/unparam@$(UNPARAM_VERSION) ./...

clean:
	rm -rf bin
