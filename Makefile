# Tether. `make up` brings up a local system; `make test` runs every test.
# Both install what they need first (build/test-deps.sh) and are safe to run twice.

SHELL      := bash
GO         ?= go
BIN        := bin
BENCH      ?=
BENCHTIME  ?= 2s
FUZZTIME   ?= 20s
UP_DIR     ?= _output/up
KUBECONFIG_OUT := _output/kubeconfig

# Packages with concurrency run under the race detector; that is all of them.
UNIT_PKGS  := ./beehive/... ./build/... ./common/... ./cloud/... ./edge/... ./tests/perf/...

.PHONY: all build deps test test-unit test-fuzz test-integration test-e2e bench up down image lint clean generate

all: build

build:
	$(GO) build -o $(BIN)/ ./cloud/cmd/cloudcore ./edge/cmd/edgecore

## deps: Debian packages, Kubernetes and containerd binaries, test images (cached)
deps:
	build/test-deps.sh

## test: install what is missing, then unit, fuzz, integration and end-to-end tests
test: deps lint
	$(MAKE) test-unit test-fuzz test-integration test-e2e

test-unit:
	$(GO) test -race -count=1 $(UNIT_PKGS)

# A short run of each fuzz target; the seed corpora also run in test-unit.
test-fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./common/wire
	$(GO) test -run '^$$' -fuzz '^FuzzParseResource$$' -fuzztime 10s ./common/message

test-integration:
	$(GO) test -race -count=1 -timeout 20m ./tests/testenv/... ./tests/integration/...

test-e2e:
	$(GO) test -count=1 -timeout 20m ./tests/e2e/...

## bench: every figure as "BENCH <name> <value> <unit>"; BENCH=<prefix> selects.
## The tunnel figures start etcd and kube-apiserver, so deps come first.
bench: deps
	$(GO) run ./tests/perf/cmd/bench -prefix '$(BENCH)' -benchtime $(BENCHTIME)

## up: control plane, cloudcore and edgecore on this machine; down stops them
up: deps build
	$(GO) build -o $(BIN)/ ./tests/cmd/localup
	$(BIN)/localup -dir $(UP_DIR) -bin $(BIN) -kubeconfig $(KUBECONFIG_OUT) up

down:
	$(GO) build -o $(BIN)/ ./tests/cmd/localup
	$(BIN)/localup -dir $(UP_DIR) -kubeconfig $(KUBECONFIG_OUT) down

## image: cloudcore's container image as an OCI archive, _output/images/cloudcore.tar (IMAGE=name:tag)
image:
	build/cloudcore-image.sh

## generate: deep-copy functions of the API types and docs/config-reference.md (commit the result)
generate:
	$(GO) run k8s.io/code-generator/cmd/deepcopy-gen@v0.37.2 --go-header-file /dev/null \
		--output-file zz_generated.deepcopy.go ./common/apis/devices/v1beta1
	$(GO) run ./build/configref -o docs/config-reference.md

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf $(BIN) _output
