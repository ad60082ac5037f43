# counter: `make test` is the test command; `make demo` runs the system in the lab.
GO       ?= go
BIN      ?= bin
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X counter/internal/buildinfo.Version=$(VERSION)
ADDR     ?= :8080
REDIS_PORT ?= 6379
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: build test lint run bench bench-provision geobench fuzz demo chaos clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

# Unit, integration (real redis-server), browser (chromium) and lab (root) tests.
# Tests that need root or a Debian package skip loudly without it; .ci/run installs them all.
# As root, the lab's cached Debian image is built first (once per machine), so the
# tests that boot containers from it run instead of skipping. -p 1: the lab tests
# share one set of host names (ctr-*), and latency figures need a calm machine.
test: build
	@if [ "$$(id -u)" -eq 0 ]; then $(BIN)/counterctl lab image; \
	else echo "make test: not root: SKIPPING the lab image; tests that boot Debian containers will skip"; fi
	$(GO) test -p 1 -count=1 -timeout 80m ./...

lint:
	$(GO) vet ./...
	$(GO) vet -tags node ./cmd/counterctl ./ctl/
	$(GO) run $(STATICCHECK) ./...

# Starts redis-server on REDIS_PORT unless something already answers there, then counterd.
run: build
	./daemon/scripts/run.sh "$(BIN)" "$(ADDR)" "$(REDIS_PORT)"

bench: build
	./daemon/scripts/bench.sh "$(BIN)"

# As root: boots the lab, provisions it from bare and again, prints both wall
# times and the step timings against the targets, and brings the lab down.
bench-provision: build
	./ctl/scripts/bench-provision.sh "$(BIN)"

# As root: the failover issue's chaos scenarios on a lab provisioned from
# bare, under a load of 240 users from every continent; prints docs/chaos.md's
# table rows. They are a subtest of TestClusterLab, after the front door's
# on the same lab, so `make test`, which runs them too, pays no second provision.
# CHAOS_RUN picks scenarios: CHAOS_RUN='^(1|6)_'.
CHAOS_RUN ?= .
chaos: build
	$(GO) test -count=1 -v -timeout 60m -run '^TestClusterLab$$/^chaos$$/$(CHAOS_RUN)' ./ctl/

# As root: page loads, presses and propagation from every continent of the
# lab, under background load, against the WAN matrix's floor (docs/geobench.md).
# Boots and provisions a lab unless one is up, and brings down what it booted.
# GEOBENCH_QUICK=1: a short smoke run.
geobench: build
	./ctl/scripts/geobench.sh "$(BIN)"

# Each fuzz target for FUZZTIME; their seed corpora already run in `make test`.
FUZZTIME ?= 30s
fuzz:
	for pkg in ./daemon/ ./provisioning/inventory/; do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# The system, on one machine: the lab's Debian nodes, provisioned from bare,
# every node also serving the zone (clients resolve at their nearest node).
LAB_STATE ?= /var/lib/counter-lab
demo: build
	$(BIN)/counterctl lab up --state-dir $(LAB_STATE) --dns-secondaries
	$(BIN)/counterctl provision -i $(LAB_STATE)/inventory.yaml
	$(BIN)/counterctl dns publish -i $(LAB_STATE)/inventory.yaml
	$(BIN)/counterctl status -i $(LAB_STATE)/inventory.yaml
	@echo
	@echo "The cluster is up, under its service name (HTTPS, verified against the lab CA; each client resolves at the anycast address, where its nearest node answers):"
	@zone=$$(sed -n 's/^zone: *\([^ #]*\)\.$$/\1/p' ctl/lab/topology.yaml); \
	for c in $$(sed -n 's/^clients: *\[\(.*\)\].*/\1/p' ctl/lab/topology.yaml | tr -d ' ' | tr ',' ' '); do \
	  echo "  $(BIN)/counterctl lab exec client-$$c -- curl -s https://counter.$$zone/getvalue"; \
	done
	@echo "Health:  $(BIN)/counterctl health -i $(LAB_STATE)/inventory.yaml      Tear down:  $(BIN)/counterctl lab down"

clean:
	rm -rf $(BIN)
