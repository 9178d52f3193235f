#!/usr/bin/env bash
# Cluster figures with the sdbench load tool: 3 servers on loopback with
# their fsync'd raft log; KV PUT through the leader and a follower; the
# time to a new leader after kill -9 of the leader (and acknowledged writes
# lost); 1 server + 20 clients converging; a killed client marked failed;
# a client agent's memory. Usage: bench/cluster.sh [sdbench dir] [reps]
set -euo pipefail
cd "$(dirname "$0")/.."
SDBENCH_SRC=${1:-${SDBENCH_SRC:-../shared/sdbench}}
REPS=${2:-3}
out=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$out"; }
trap cleanup EXIT
go build -o "$out/beacon" ./cmd/beacon
(cd "$SDBENCH_SRC" && go build -o "$out/sdbench" .)
B="$out/beacon"; SD="$out/sdbench"

server() { # n
  local n=$1
  "$B" agent -server -bootstrap-expect 3 -node "s$n" -bind 127.0.0.1 -client 127.0.0.1 -data-dir "$out/s$n" \
    -http-port "1850$n" -dns-port -1 -server-port "1830$n" -serf-lan-port "1831$n" -serf-wan-port -1 \
    -retry-join 127.0.0.1:18311 -retry-interval 500ms -log-level warn >>"$out/s$n.log" 2>&1 &
  pids+=($!); eval "S${n}_PID=$!"
}
client() { # name port-base
  "$B" agent -node "$1" -bind 127.0.0.1 -client 127.0.0.1 -data-dir "$out/$1" -http-port "$2" -dns-port -1 \
    -server-port -1 -serf-lan-port "$(($2 + 1000))" -serf-wan-port -1 -retry-join 127.0.0.1:18311 \
    -retry-interval 500ms -log-level warn >>"$out/$1.log" 2>&1 &
  pids+=($!)
}

for n in 1 2 3; do server $n; done
SERVERS=127.0.0.1:18501,127.0.0.1:18502,127.0.0.1:18503
"$SD" -servers $SERVERS -want 3 wait-peers
leader=$(curl -s 127.0.0.1:18501/v1/status/leader | tr -d '"')
lport=$(( ${leader##*:} + 200 ))
follower=18501; [ $lport = 18501 ] && follower=18502

echo "== KV PUT through the leader (127.0.0.1:$lport)"
"$SD" -http 127.0.0.1:$lport -reps "$REPS" -conc-put 1,64 kv-put
echo "== KV PUT through a follower (127.0.0.1:$follower)"
"$SD" -http 127.0.0.1:$follower -reps "$REPS" -conc-put 64 kv-put

echo "== kill -9 of the leader"
"$SD" -servers $SERVERS -pids "$S1_PID,$S2_PID,$S3_PID" -reps 1 failover

for n in 1 2 3; do  # restart the killed leader
  eval "p=\$S${n}_PID"; kill -0 "$p" 2>/dev/null || server $n
done
"$SD" -servers $SERVERS -want 3 wait-peers

echo "== a killed client marked failed"
client cf 18600
sleep 2
"$SD" -http 127.0.0.1:18501 -node cf -pid "${pids[-1]}" -reps 1 member-fail || true

echo "== 20 clients converging"
since=$(date +%s%N)
for i in $(seq 1 20); do client "c$i" $((18610 + i)); since=$(date +%s%N); done
"$SD" -http 127.0.0.1:18501 -want 20 -prefix c -since "$since" -reps 1 members-wait

echo "== a client agent's memory (idle, joined)"
sleep 3
for p in "${pids[@]: -3}"; do grep -E "VmRSS|RssAnon" /proc/$p/status | tr '\n' ' '; echo; done
