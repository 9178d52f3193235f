# beacon: build and test.
GO ?= go

.PHONY: build test test-short bench fuzz deps

build:
	$(GO) build -o bin/beacon ./cmd/beacon

# integration/prometheus is a module of its own: Prometheus's discovery code
# brings dependencies the main module does without.
PROM_SD = integration/prometheus

# third_party/raft is hashicorp/raft with one change (its PATCHES.md); these
# of its tests cover the change and the leader paths around it.
RAFT = third_party/raft
RAFT_TESTS = TestRaft_(ReplicatesWhileLeaderStores|VoteAfterLeaderSilence|LeaderStoreFailureAfterSending|CompactionWhileLeaderStores|ApplyConcurrent|TripleNode|LeaderFail|BehindFollower|RemoveFollower|RemoveLeader|SnapshotRestore|AutoSnapshot|CacheLogWithStoreError|LogStoreIsMonotonic)$$|TestLogCache

# The whole suite. Run as root on Debian, `make deps` first installs the
# real peers the tests drive (dig, nginx, Prometheus, a Docker engine).
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...
	cd $(RAFT) && $(GO) vet . && $(GO) test -race -count=1 -timeout 5m -run '$(RAFT_TESTS)' .
	cd $(PROM_SD) && $(GO) vet ./... && $(GO) test -race -count=1 -timeout 10m ./...

test-short:
	$(GO) test -short -count=1 ./...
	cd $(PROM_SD) && $(GO) test -short -count=1 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./core/state ./core/http ./core/dns

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecodeServiceDefinition -fuzztime 30s ./core/decode
	$(GO) test -run '^$$' -fuzz FuzzHTTPRequest -fuzztime 30s ./core/http
	$(GO) test -run '^$$' -fuzz FuzzHandler -fuzztime 30s ./core/dns
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./core/acl
	$(GO) test -run '^$$' -fuzz FuzzExtractToken -fuzztime 30s ./core/http
	$(GO) test -run '^$$' -fuzz FuzzDiffNetHTTP -fuzztime 30s ./core/httpserver

deps:
	.ci/deps
