# sipedge — see README.md. `make demo` and `make test` install what is missing.
GO        ?= go
GOBIN     := $(shell $(GO) env GOPATH)/bin
BIN       := bin/sipedge
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
TESTFLAGS ?= -race -timeout 20m
FUZZTIME  ?= 30s

.PHONY: all build deps web vet test bench demo clean fuzz

all: build

build: web
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/sipedge

deps:
	./scripts/install-deps.sh

# The demo softphone: JsSIP bundled by esbuild into web-demo/dist/, which
# sipedge embeds. npm ci runs only when a package-lock.json changed.
web: web-demo/dist/index.html
web-demo/dist/index.html: web-demo/node_modules/.package-lock.json web-demo/build.mjs $(wildcard web-demo/src/*)
	cd web-demo && npm run --silent build
%/node_modules/.package-lock.json: %/package-lock.json
	cd $* && npm ci --no-audit --no-fund

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(GOBIN)/staticcheck ./...

# Every test, with the real peers (SIPp, rtpengine, Kamailio) installed first.
# npm packages of the test clients: Playwright (test/browser), JsSIP under Node (test/jssip).
NODE_TEST_DEPS := test/browser/node_modules/.package-lock.json test/jssip/node_modules/.package-lock.json

test: deps build vet $(NODE_TEST_DEPS)
	SIPEDGE_BIN=$(CURDIR)/$(BIN) $(GO) test $(TESTFLAGS) ./...

# Fuzz targets, one run of FUZZTIME each (go test runs one -fuzz target per
# invocation). Their seed corpora also run in every plain go test.
fuzz:
	$(GO) test -run XXX -fuzz FuzzCheck -fuzztime $(FUZZTIME) ./gateway/wire/
	$(GO) test -run XXX -fuzz FuzzRequestPath -fuzztime $(FUZZTIME) ./gateway/
	$(GO) test -run XXX -fuzz FuzzHandleMessage -fuzztime $(FUZZTIME) ./ws/

# Side-by-side performance runs (not part of make test); figures go in docs/benchmarks.md.
bench: deps build
	./test/bench/run.sh
	./test/bench/register.sh
	./test/bench/media.sh
	./test/bench/ws.sh
	./test/bench/kamailio-ws.sh

demo: deps build
	./scripts/demo.sh

clean:
	rm -rf bin
