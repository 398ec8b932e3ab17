#!/usr/bin/env bash
# The functions the release agent runs, for lld to lay out first (scripts/build-release links
# with --symbol-ordering-file): those it runs at rest first, then those only start-up ran, then
# those only shutdown ran. The code an idle agent keeps using then lies in the first ~8 MiB of
# `.text` (lld moves each toolchain object's plain `.text` block whole) instead of being scattered
# over 20 MiB (each fault maps its 64 KiB of neighbours), and the
# start-up code it hands back to the kernel once ready (releaseStartupPagesAfterSeconds) is not
# read back between them (docs/benchmarks.md, "Memory at rest", "Start-up pages released").
#
#   sudo Benchmarks/profile-symbol-order.sh            # writes scripts/symbol-order.txt.gz
#   sudo AGENT=PATH IDLE_SECONDS=30 Benchmarks/profile-symbol-order.sh
#
# Needs valgrind (callgrind records every function that runs, not a sample). The agent runs under
# callgrind in a throwaway namespace with a veth to a peer and conntrack active, in three phases
# that callgrind_control dumps apart: start-up (to ready, a few connections to the peer, a first
# scrape of every endpoint, plain and gzip); IDLE_SECONDS at rest (a gzip scrape, /findings and
# a connection every 5 s); SIGTERM. The names are the binary's own symbols, so the order does not
# depend on the order it was linked with; a function added later and not in the file is laid out
# after the listed ones, and a stale file only costs memory, never correctness. Regenerate it
# after larger changes (the memory benchmark shows when it is stale).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=Benchmarks/lib/agent.sh
. Benchmarks/lib/agent.sh
command -v valgrind >/dev/null || { echo "valgrind is missing (apt install valgrind)" >&2; exit 2; }
pw_init pwprof
AGENT_BINARY=${AGENT:-$PWD/.build-release/dist/pathwatch}
[ -x "$AGENT_BINARY" ] || { echo "no release binary at $AGENT_BINARY (scripts/build-release)" >&2; exit 2; }
IDLE_SECONDS=${IDLE_SECONDS:-20}
OUT=${OUT:-scripts/symbol-order.txt.gz}

# valgrind cannot read the toolchain's DWARF ("possibly corrupted debuginfo"); the symbol table
# is all callgrind needs for names.
objcopy --strip-debug "$AGENT_BINARY" "$PW_WORK/pathwatch"
cat >"$PW_WORK/agent" <<EOF
#!/bin/sh
exec valgrind --tool=callgrind --demangle=no --callgrind-out-file=$PW_WORK/callgrind.out "$PW_WORK/pathwatch" "\$@"
EOF
chmod +x "$PW_WORK/agent"
PW_AGENT=$PW_WORK/agent

pw_ns_var NODE node
pw_ns_var PEER peer
pw_veth_pair "$NODE" "$PEER" veth0 10.79.0.1/24 10.79.0.2/24
pw_activate_conntrack "$NODE"

pw_start_agent "$NODE" 19470 ""
scrape() { ip netns exec "$NODE" curl -s -o /dev/null "$@"; }
connect() {
    # Refused at once by the peer (nothing listens): a conntrack NEW and a short-lived socket.
    ip netns exec "$NODE" curl -s -m 1 -o /dev/null http://10.79.0.2:9/ || true
}
# Phase 1, start-up: everything up to ready, and the first request to each endpoint (one-time
# initialisation on the scrape path is start-up too).
for _ in 1 2 3; do connect; done
for path in metrics findings healthz readyz; do scrape "http://127.0.0.1:19470/$path"; done
scrape -H 'Accept-Encoding: gzip' http://127.0.0.1:19470/metrics
sleep 1
callgrind_control -d "$PW_AGENT_PID" >/dev/null 2>&1
# Phase 2, at rest: what a node's agent does all day (Prometheus' gzip scrapes, a flow now and
# then, the periodic samples); the functions that run here are laid out first.
end=$((SECONDS + IDLE_SECONDS))
while [ "$SECONDS" -lt "$end" ]; do
    scrape -H 'Accept-Encoding: gzip' http://127.0.0.1:19470/metrics
    scrape http://127.0.0.1:19470/findings
    connect
    sleep 5
done
callgrind_control -d "$PW_AGENT_PID" >/dev/null 2>&1

# Phase 3, SIGTERM: valgrind passes it on, the agent stops cleanly and callgrind writes the rest.
kill "$PW_AGENT_PID"
for _ in $(seq 300); do pw_ours "$PW_AGENT_PID" || break; sleep 0.1; done
pw_untrack "$PW_AGENT_PID"
out=$PW_WORK/callgrind.out
[ -s "$out" ] && [ -s "$out.1" ] && [ -s "$out.2" ] || {
    echo "callgrind wrote no profile in three parts; the agent's log:" >&2
    cat "$(pw_agent_log "$NODE")" >&2
    exit 1
}

# At rest first, then start-up, then shutdown (Benchmarks/lib/callgrind-phases.py): the pages an
# agent keeps using are contiguous, and the start-up ones it pages out once ready
# (docs/benchmarks.md, "Start-up pages released") are not read back between them.
python3 Benchmarks/lib/callgrind-phases.py "$out.2" "$out.1" "$out" >"$PW_WORK/order.txt" 2>"$PW_WORK/parts.txt"
count=$(wc -l <"$PW_WORK/order.txt")
read -r rest startup shutdown < <(sed 's/.*: //' "$PW_WORK/parts.txt")
[ "$count" -gt 1000 ] || { echo "only $count functions recorded; the profile looks incomplete" >&2; exit 1; }
gzip -9 -n -c "$PW_WORK/order.txt" >"$OUT"
echo "$count functions ($rest at rest, then $startup start-up, $shutdown shutdown only) -> $OUT"
