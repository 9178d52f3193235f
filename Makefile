# beacon: build and test.
GO ?= go

.PHONY: build test test-vet test-unit test-raft test-prometheus test-short bench fuzz deps

build:
	$(GO) build -o bin/beacon ./cmd/beacon

# integration/prometheus is a module of its own: Prometheus's discovery code
# brings dependencies the main module does without.
PROM_SD = integration/prometheus

# third_party/raft is hashicorp/raft with two changes (its PATCHES.md); these
# of its tests cover the changes and the leader paths around them. Their
# clusters' timeouts are RAFT_TIME_SCALE times upstream's 50 ms: at 20 they
# pass on 2 cores with 8 other busy processes; at 10 they fail there.
RAFT = third_party/raft
RAFT_TESTS = TestRaft_(ReplicatesWhileLeaderStores|VoteAfterLeaderSilence|LeaderStoreFailureAfterSending|CompactionWhileLeaderStores|ApplyConcurrent|TripleNode|LeaderFail|BehindFollower|RemoveFollower|RemoveLeader|SnapshotRestore|AutoSnapshot|CacheLogWithStoreError|LogStoreIsMonotonic)$$|TestLogCache
RAFT_TIME_SCALE ?= 20

# The whole suite: every step runs even when an earlier one fails, and the
# summary at the end names the failed ones. Run as root on Debian, `make
# deps` first installs the real peers the tests drive (dig, nginx,
# Prometheus, a Docker engine).
TEST_STEPS = test-vet test-unit test-raft test-prometheus

test:
	@.ci/steps $(MAKE) $(TEST_STEPS)

test-vet:
	$(GO) vet ./...

test-unit:
	$(GO) test -race -count=1 -timeout 20m ./...

test-raft:
	cd $(RAFT) && $(GO) vet . && \
		RAFT_TEST_TIME_SCALE=$(RAFT_TIME_SCALE) $(GO) test -race -count=1 -timeout 10m -run '$(RAFT_TESTS)' .

test-prometheus:
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
