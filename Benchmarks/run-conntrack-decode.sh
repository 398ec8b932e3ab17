#!/usr/bin/env bash
# Conntrack event decoding benchmark.
#
#   sudo Benchmarks/run-conntrack-decode.sh [EVENTS] [FLOWS]
#
# 1. Offline: `pathwatch-bench conntrack-decode --events EVENTS` (default 2,000,000) decodes the
#    recorded fixtures (Tests/NetlinkTests/Fixtures/conntrack/events-*.bin) from memory on one
#    thread: events/s and ns/event, nothing else in the loop.
# 2. Live, same run: in a throwaway namespace with conntrack activated by an nft `ct` rule, FLOWS
#    (default 100,000) fresh UDP flows to 127.0.0.1 then `conntrack -F` produce FLOWS NEW and
#    FLOWS DESTROY events, consumed at the same time by `conntrack -E -o xml > /dev/null` (under
#    /usr/bin/time) and `pathwatch-bench conntrack-listen`; each one's CPU seconds / events seen.
#    Both get a 64 MiB receive buffer. conntrack also formats XML, pathwatch only decodes: see
#    docs/benchmarks.md for what the comparison does and does not say.
set -euo pipefail

cd "$(dirname "$0")/.."
EVENTS=${1:-2000000}
FLOWS=${2:-100000}

[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces, conntrack)" >&2; exit 1; }
need_apt=()
[ -x /usr/bin/time ] || need_apt+=(time)
command -v conntrack >/dev/null || need_apt+=(conntrack)
command -v nft >/dev/null || need_apt+=(nftables)
if [ ${#need_apt[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

echo "building pathwatch-bench (release, scratch path .build-bench)..." >&2
swift build -c release --scratch-path .build-bench --product pathwatch-bench >&2
BENCH=$PWD/.build-bench/release/pathwatch-bench

WORK=$(mktemp -d /tmp/pwbench-ct.XXXXXX)
NS=""
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [ -n "$NS" ]; then ip netns del "$NS" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== offline decode: $EVENTS events from the fixtures" >&2
offline=$("$BENCH" conntrack-decode --events "$EVENTS")
echo "$offline" >&2

echo "== live: $FLOWS UDP flows + conntrack -F in a namespace" >&2
NS="pwbench-ct-$$"
ip netns add "$NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" nft -f - <<'EOF'
table inet pwbench {
    chain out {
        type filter hook output priority 0;
        ct state new counter
    }
}
EOF

ip netns exec "$NS" /usr/bin/time -f "%U %S" -o "$WORK/ct.time" \
    conntrack -E -o xml -b 67108864 >/dev/null 2>"$WORK/ct.err" &
TIME_PID=$!
PIDS+=("$TIME_PID")
ip netns exec "$NS" "$BENCH" conntrack-listen --events $((FLOWS * 2)) --idle-ms 3000 >"$WORK/pw.out" 2>&1 &
PW_PID=$!
PIDS+=("$PW_PID")
for _ in $(seq 50); do grep -q '^listening' "$WORK/pw.out" 2>/dev/null && break; sleep 0.1; done
sleep 0.5  # conntrack -E subscribes in well under this

t0=$(date +%s.%N)
ip netns exec "$NS" python3 - "$FLOWS" <<'EOF'
import socket, sys
n = int(sys.argv[1])
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"x", ("127.0.0.1", 10000 + i % 50000))  # fresh source port each time: a new flow
    s.close()
EOF
ip netns exec "$NS" conntrack -F 2>/dev/null
t1=$(date +%s.%N)
echo "generated in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}') s" >&2

wait "$PW_PID" || true
sleep 1
CT_PID=$(pgrep -P "$TIME_PID" || true)
[ -n "$CT_PID" ] && kill -INT "$CT_PID"
wait "$TIME_PID" || true
PIDS=()

pw=$(cat "$WORK/pw.out")
echo "$pw" >&2
echo "conntrack -E: $(cat "$WORK/ct.err")" >&2
read -r ct_user ct_sys < <(grep -E '^[0-9.]+ [0-9.]+$' "$WORK/ct.time" | tail -1)
ct_events=$(grep -oE '[0-9]+ flow events' "$WORK/ct.err" | grep -oE '^[0-9]+' || echo 0)
ct_enobufs=$(grep -c ENOBUFS "$WORK/ct.err" || true)

ip netns del "$NS"
NS=""

field() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k {print $2}'; }
mr=$(grep '^machine-readable:' <<<"$offline")
pmr=$(grep '^machine-readable:' <<<"$pw")
pw_events=$(field events "$pmr"); pw_cpu=$(field cpu_s "$pmr"); pw_over=$(field overruns "$pmr")

echo
echo "kernel $(uname -r), $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
echo
echo "| measurement | events | CPU s (user+sys) | CPU ns/event | events/s per core |"
echo "|---|---:|---:|---:|---:|"
echo "| pathwatch-bench conntrack-decode (fixtures, in memory, decode only) | $(field events "$mr") | — | $(field ns_per_event "$mr") | $(field events_per_s "$mr") |"
awk -v e="$pw_events" -v c="$pw_cpu" -v o="$pw_over" 'BEGIN {
    printf "| pathwatch-bench conntrack-listen (live: recv + decode + flow table + hairpin detector; overruns %d) | %d | %.3f | %.0f | %.0f |\n", o, e, c, (e > 0 ? c / e * 1e9 : 0), (c > 0 ? e / c : 0) }'
awk -v e="$ct_events" -v u="$ct_user" -v s="$ct_sys" -v o="$ct_enobufs" 'BEGIN { c = u + s;
    printf "| conntrack -E -o xml > /dev/null (live: recv + parse + XML; ENOBUFS warnings %d) | %d | %.3f | %.0f | %.0f |\n", o, e, c, (e > 0 ? c / e * 1e9 : 0), (c > 0 ? e / c : 0) }'
