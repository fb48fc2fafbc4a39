# berth's build, test and demo entry points. `make test` and `make demo` each
# install what they need (Go modules; runc, CNI plugins, iptables and
# busybox-static from the distribution) on a fresh Debian/Ubuntu as root.

export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin
GO ?= go
BIN := bin
STATICCHECK_VERSION ?= v0.8.2

.PHONY: all build test test-unit lint fmt demo deps go-check clean bench

all: build

go-check:
	@command -v $(GO) >/dev/null || { echo "Go is not installed: install Go 1.26 from go.dev (Debian's golang package is too old)"; exit 1; }

deps: go-check
	@./scripts/host-deps.sh
	@$(GO) mod download

# bin/berth is the lean CLI; it hands build, gitops, watch and the DNS server
# to bin/berth-full beside it (docs/design.md, "Two binaries").
build: go-check
	CGO_ENABLED=0 $(GO) build -tags lean -o $(BIN)/berth ./cmd/berth
	CGO_ENABLED=0 $(GO) build -o $(BIN)/berth-full ./cmd/berth
	CGO_ENABLED=0 $(GO) build -o $(BIN)/ ./cmd/berth-shim

# Every test. Root tests (real runc, CNI, overlayfs, iptables) run when
# BERTH_TEST_ROOT=1 is set, as .ci/run does. The tests' containers and
# berth's resolver read a resolv.conf whose only nameserver is loopback, so
# no DNS query of a test ever leaves this machine (internal/hostresolv).
TEST_RESOLV := $(CURDIR)/$(BIN)/test-resolv.conf
test: export BERTH_HOST_RESOLV_CONF := $(TEST_RESOLV)
test: deps build
	@printf 'nameserver 127.0.0.1\n' > $(TEST_RESOLV)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags lean ./cmd/berth
	BERTH_BIN=$(CURDIR)/$(BIN) $(GO) test -timeout 15m ./...
	$(GO) test -race -timeout 10m ./internal/... ./reconcile/...

test-unit: go-check
	$(GO) test ./...

lint: go-check
	@command -v staticcheck >/dev/null || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags lean ./cmd/berth
	staticcheck ./...
	staticcheck -tags lean ./cmd/berth

fmt:
	gofmt -w $$(git ls-files '*.go')

# The main job on a real example: bring a stack up with runc and CNI and show
# it answering on 127.0.0.1, then take it down (KEEP=1 leaves it running).
demo: deps build
	./scripts/demo.sh

bench: deps build
	$(GO) test -run '^$$' -bench . -benchmem ./reconcile/... ./spec/...

clean:
	rm -rf $(BIN)
