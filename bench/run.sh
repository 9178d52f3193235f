#!/usr/bin/env bash
# Runs the sdbench load tool against a fresh `beacon agent -dev`, and the
# same KV and blocking benchmarks against bench/floor (a do-nothing server),
# so each figure can be read against what the load generator allows on this
# machine. Usage: bench/run.sh [path to sdbench sources] [reps]
set -euo pipefail
cd "$(dirname "$0")/.."
SDBENCH_SRC=${1:-${SDBENCH_SRC:-../shared/sdbench}}
REPS=${2:-3}
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
go build -o "$out/beacon" ./cmd/beacon
go build -o "$out/floor" ./bench/floor
(cd "$SDBENCH_SRC" && go build -o "$out/sdbench" .)

start_agent() {
  "$out/beacon" agent -dev -http-port 18500 -dns-port 18600 -log-level warn >"$out/agent.log" 2>&1 &
  agent=$!
  for _ in $(seq 50); do curl -sf localhost:18500/v1/status/leader >/dev/null && return; sleep 0.1; done
  echo "agent did not start" >&2; cat "$out/agent.log" >&2; exit 1
}

echo "== beacon agent -dev: throughput and latency"
start_agent
"$out/sdbench" -http 127.0.0.1:18500 -dns 127.0.0.1:18600 -reps "$REPS" kv-put kv-get catalog blocking dns
kill $agent; wait $agent 2>/dev/null || true

echo "== beacon agent -dev: memory (fresh agent)"
start_agent
"$out/sdbench" -http 127.0.0.1:18500 -reps 1 -pid $agent memory
kill $agent; wait $agent 2>/dev/null || true

echo "== floor: a do-nothing server under the same load (the load generator's ceiling)"
"$out/floor" -addr 127.0.0.1:18599 2>/dev/null &
sleep 0.3
"$out/sdbench" -http 127.0.0.1:18599 -reps "$REPS" -conc-put 64 -conc-get 64 kv-put kv-get blocking
