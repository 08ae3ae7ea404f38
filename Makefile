# Makefile: the entry point for every routine task. `make help` lists them.

# staticcheck 2026.2.2; it builds with go1.26.
STATICCHECK_VERSION := v0.8.2

.DEFAULT_GOAL := help
.PHONY: help run demo test bench bench-go bench-side bench-quick lint consul chromium proto fuzz netsplit netsplit-mem failover

help: ## list the targets
	@awk -F ':.*## ' '/^[a-z][a-z-]*:.*## /{ printf "  %-8s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

# Where `make run` builds the kv server. It runs the binary, not `go run`:
# on Ctrl-C the go command exits 1 whatever the program returned, and make
# would report a clean stop as an error.
KVSERVER_BIN ?= bin/kvserver

run: ## serve the kv example on 127.0.0.1:4040 and its observer page on 127.0.0.1:4041 (Ctrl-C stops it; flags in ARGS="-port 5050")
	go build -o $(KVSERVER_BIN) ./examples/kvserver
	$(KVSERVER_BIN) $(ARGS)

# Where `make demo` builds the version observer.
VERSIONOBSERVER_BIN ?= bin/versionobserver

demo: ## start three version observer nodes on loopback (pages on 127.0.0.1:4001-4003; VSN=1.0.0 for another version; Ctrl-C stops them)
	go build -o $(VERSIONOBSERVER_BIN) ./examples/versionobserver
	examples/versionobserver/demo.sh $(VERSIONOBSERVER_BIN)

test: consul chromium ## run every test with the race detector, against a real Consul agent, then fuzz briefly
	PATH="$(CURDIR)/bin:$$PATH" ARBOR_CHROMIUM="$(CHROMIUM)" go test -race -count=1 -shuffle=on ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=30000x
	$(MAKE) --no-print-directory bench-quick

bench: bench-go bench-side ## run every benchmark: Arbor's own beside raw protoactor, then all systems side by side

bench-go: ## Go benchmarks of each package, Arbor beside raw protoactor-go in the same run
	go test -run '^$$' -bench . -benchmem -benchtime=2s ./...

bench-side: ## Arbor, protoactor, Erlang/OTP, ergo, hollywood, goakt and bare goroutines side by side; writes bench/RESULTS.md and bench/charts/
	cd bench && go run ./cmd/benchall

bench-quick: ## the side-by-side programs with tiny counts, so they never rot (run by make test)
	cd bench && go run ./cmd/benchall -quick

lint: ## gofmt, go vet and staticcheck
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt -w needed on:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

consul: bin/consul ## build the Consul agent the integration tests run (once)

# A file target: built only when bin/consul is missing. The version is
# pinned in tools/consul/go.mod.
bin/consul:
	cd tools/consul && go build -o ../../bin/consul github.com/hashicorp/consul

# The observer's browser test drives Debian's headless chromium (the test
# reads its path from ARBOR_CHROMIUM); under CI=true it fails when chromium
# is missing, so `make test` installs it here. Elsewhere, point CHROMIUM at
# a chromium of your own: make test CHROMIUM=/opt/chromium/chrome.
CHROMIUM ?= /usr/bin/chromium

chromium: ## install Debian's chromium for the observer's browser test when $(CHROMIUM) is missing (needs root and apt-get)
	@if [ ! -x "$(CHROMIUM)" ]; then \
		if ! command -v apt-get >/dev/null; then \
			echo "no $(CHROMIUM) and no apt-get: install chromium and run make test CHROMIUM=/path/to/chromium" >&2; exit 1; \
		fi; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	fi

# protoc-gen-go is pinned to go.mod's google.golang.org/protobuf version.
PROTOC_GEN_GO_VERSION := v1.36.12

proto: ## regenerate code from .proto files (needs protoc: apt-get install -y protobuf-compiler)
	go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	PATH="$$(go env GOPATH)/bin:$$PATH" go generate ./...

# A count of inputs (Nx), not a duration: with a duration, go1.26's fuzz
# coordinator can report "context deadline exceeded" at the deadline on a
# loaded machine although no input failed (go.dev/issue/75804, fixed in
# go1.27). A count has no deadline to race. FUZZTIME=30s still works.
FUZZTIME ?= 50000x

fuzz: ## run each wire decoder's fuzz target briefly (FUZZTIME=50000x inputs each)
	go test -run '^$$' -fuzz FuzzDecodePacket -fuzztime $(FUZZTIME) ./cluster
	go test -run '^$$' -fuzz FuzzFrameReader -fuzztime $(FUZZTIME) ./cluster
	go test -run '^$$' -fuzz FuzzHotPacket -fuzztime $(FUZZTIME) ./cluster
	go test -run '^$$' -fuzz FuzzUsersPacket -fuzztime $(FUZZTIME) ./cluster
	go test -run '^$$' -fuzz FuzzUnmarshalPID -fuzztime $(FUZZTIME) ./cluster
	go test -run '^$$' -fuzz FuzzCallConnection -fuzztime $(FUZZTIME) ./cluster
	go test -run '^$$' -fuzz FuzzDecodeScopeMessage -fuzztime $(FUZZTIME) ./registry
	go test -run '^$$' -fuzz FuzzProtoProxyRequest -fuzztime $(FUZZTIME) ./cluster
	go test -run '^$$' -fuzz FuzzParseProtoID -fuzztime $(FUZZTIME) ./actor
	go test -run '^$$' -fuzz FuzzDecodeSysMessage -fuzztime $(FUZZTIME) ./sys

.PHONY: failover failover-lock failover-registry
RUNS ?= 50
TTL ?=
DELAY ?=

failover: failover-registry failover-lock ## singleton failover p50/p99 in both modes (RUNS=50 kills each)

failover-lock: consul ## lock-mode singleton failover after kill -9 of the holder's process, RUNS=50 times, three holder processes and a real Consul: prints p50/p99 (about 5 s a kill; TTL=10s DELAY=2s for the defaults, about 22 s)
	bash -o pipefail -c "PATH=\"$(CURDIR)/bin:$$PATH\" ARBOR_SINGLETON_FAILOVER_RUNS=$(RUNS) ARBOR_SINGLETON_LOCK_TTL=$(TTL) ARBOR_SINGLETON_LOCK_DELAY=$(DELAY) go test -count=1 -timeout 0 -v -run '^TestLockModeFailoverTimes$$' ./cluster/singleton | grep -E '^(--- |ok|FAIL|PASS)|failover'"

CYCLES ?= 100
SEED ?=

netsplit: ## the randomized netsplit/heal test: 3-5 node processes, random writes under full, partial and one-way cuts, stalls and kill -9 (CYCLES=N SEED=S); its summary is the last line
	@out=$$(mktemp /tmp/netsplit.XXXXXX); \
	ARBOR_REGISTRY_CYCLES=$(CYCLES) ARBOR_REGISTRY_SEED=$(SEED) go test -race -count=1 -timeout 0 -v -run '^TestRandomizedCluster$$' ./registry >$$out 2>&1; rc=$$?; \
	grep -E '^(--- |ok|FAIL)|seed [0-9]+, |random: |netsplit extras: |FAILED with|cycle [0-9]+: (lost|conflict on|not converged|node|singleton)' $$out; \
	if [ $$rc -ne 0 ]; then echo "netsplit failed; the whole output is in $$out"; fi; \
	line=$$(grep -o 'netsplit: cycles.*' $$out | tail -1); \
	if [ $$rc -eq 0 ]; then rm -f $$out; fi; \
	echo "$${line:-netsplit: no summary: the test did not run}"; exit $$rc

MEMCYCLES ?= 2000

netsplit-mem: ## the randomized netsplit/heal test on the in-memory network, in a synctest bubble: same checks, crash for kill -9, freeze for SIGSTOP (MEMCYCLES=N SEED=S); its summary is the last line
	@out=$$(mktemp /tmp/netsplit-mem.XXXXXX); \
	ARBOR_REGISTRY_CYCLES=$(MEMCYCLES) ARBOR_REGISTRY_SEED=$(SEED) go test -race -count=1 -timeout 0 -v -run '^TestRandomizedClusterMem$$' ./registry >$$out 2>&1; rc=$$?; \
	grep -E '^(--- |ok|FAIL)|seed [0-9]+, |random: |FAILED with|cycle [0-9]+: (lost|conflict on|not converged|node)|a minute' $$out; \
	if [ $$rc -ne 0 ]; then echo "netsplit-mem failed; the whole output is in $$out"; fi; \
	line=$$(grep -o 'netsplit: cycles.*' $$out | tail -1); \
	if [ $$rc -eq 0 ]; then rm -f $$out; fi; \
	echo "$${line:-netsplit: no summary: the test did not run}"; exit $$rc

failover-registry: ## registry-mode singleton failover p50/p99 over RUNS kill -9 of the instance's node (RUNS=50)
	bash -o pipefail -c "ARBOR_SINGLETON_HL_FAILOVER_RUNS=$(RUNS) go test -count=1 -timeout 0 -v -run '^TestRegistryModeFailoverTimes$$' ./cluster/singleton | grep -E '^(--- |ok|FAIL|PASS)|failover after'"
