# sipedge — see README.md. `make demo` and `make test` install what is missing.
GO        ?= go
GOBIN     := $(shell $(GO) env GOPATH)/bin
BIN       := bin/sipedge
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
TESTFLAGS ?= -race -timeout 20m

.PHONY: all build deps test vet lint unit bench demo clean

all: build

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/sipedge

deps:
	./scripts/install-deps.sh

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(GOBIN)/staticcheck ./...

# Every test, with the real peers (SIPp, rtpengine, Kamailio) installed first.
test: deps build vet
	SIPEDGE_BIN=$(CURDIR)/$(BIN) $(GO) test $(TESTFLAGS) ./...

# Side-by-side performance runs (not part of make test); figures go in docs/benchmarks.md.
bench: deps build
	./test/bench/run.sh
	./test/bench/media.sh

demo: deps build
	./scripts/demo.sh

clean:
	rm -rf bin
