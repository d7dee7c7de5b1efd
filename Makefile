# sipedge — see README.md. `make demo` and `make test` install what is missing.
GO        ?= go
GOBIN     := $(shell $(GO) env GOPATH)/bin
BIN       := bin/sipedge
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
TESTFLAGS ?= -race -timeout 20m
FUZZTIME  ?= 30s
UNITFLAGS ?= -race -short -count=1 -timeout 5m
SOAK_DURATION ?= 30m
SOAK_INTERVAL ?= 30s

.PHONY: all build deps web vet test unit bench soak edge-flood demo clean fuzz fuzz-short

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
	$(if $(findstring -short,$(TESTFLAGS)),$(error make test runs every test: -short belongs to make unit))
	SIPEDGE_BIN=$(CURDIR)/$(BIN) $(GO) test $(TESTFLAGS) ./...
	$(MAKE) --no-print-directory fuzz-short

# The tests that need no peer, with -race, in under a minute: every package
# but the whole-system ones (./test, ./test/browser: SIPp, rtpengine,
# Chromium, baresip, Kamailio, node), and -short for the few elsewhere
# that start the rtpengine daemon (rtpenginetest.StartDaemon skips only
# under -short). No install step: Go alone.
UNIT_PKGS = $(shell $(GO) list ./... | grep -v -x -e '.*/sipedge/test' -e '.*/sipedge/test/browser')

unit:
	$(GO) test $(UNITFLAGS) $(UNIT_PKGS)

# Fuzz targets, one run of FUZZTIME each (go test runs one -fuzz target per
# invocation). Their seed corpora also run in every plain go test.
# The parser entry point (wire.Check, the whole request path), the SIP
# framing of WebSocket messages and TCP streams, the config loader, and the
# HEPv3 encoder and its Call-ID scanner.
# make test runs each for FUZZTIME_SHORT too (fuzz-short): a count of
# inputs, not a duration, since a duration's deadline can land while a
# worker is busy and go test then fails the run with "context deadline
# exceeded" on a loaded machine (seen on FuzzCallID).
FUZZ_TARGETS := FuzzCheck:./gateway/wire/ FuzzRequestPath:./gateway/ FuzzHandleMessage:./ws/ \
	FuzzFrameGather:./ws/ FuzzFramer:./internal/listen/ FuzzParse:./config/ \
	FuzzDecode:./gateway/cluster/ \
	FuzzParse:./gateway/route/rtjson/ \
	FuzzAppend:./gateway/hep/ FuzzCallID:./gateway/hep/ \
	FuzzContainsFold:./gateway/ban/ FuzzNames:./tls/ \
	FuzzOpen:./gateway/topo/
FUZZTIME_SHORT ?= 20000x

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "fuzz $${t%%:*} ($(FUZZTIME))"; \
	  $(GO) test -run XXX -fuzz "^$${t%%:*}\$$" -fuzztime $(FUZZTIME) "$${t#*:}"; done

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME_SHORT)

# Side-by-side performance runs (not part of make test); figures go in docs/benchmarks.md.
bench: deps build
	./test/bench/run.sh
	./test/bench/trunk.sh
	./test/bench/register.sh
	./test/bench/media.sh
	./test/bench/ws.sh
	./test/bench/kamailio-ws.sh
	./test/bench/sets.sh
	./test/bench/routeapi.sh
	./test/bench/edge.sh
	./test/bench/scale.sh
	./test/bench/ops.sh
	BENCH_HEP_TRANSPORT=tcp ./test/bench/ops.sh

# Long run under mixed load (UDP calls, WS registration churn, browser calls
# through rtpengine, bad input): prints RSS, goroutines, open files and
# failures every SOAK_INTERVAL, then a verdict (exit 1 unless flat and 0 failed).
soak: deps build
	$(GO) run ./test/soak -sipedge $(BIN) -duration $(SOAK_DURATION) -interval $(SOAK_INTERVAL)

# Issue 14's 30 s INVITE flood from one source (make test floods 5 s): the
# flooder must be banned and a phone on another address keep every call.
edge-flood: deps build
	SIPEDGE_FLOOD_DURATION=30s $(GO) test -count=1 -run '^TestBanInviteFlood$$' -v ./test/

demo: deps build
	./scripts/demo.sh

clean:
	rm -rf bin
