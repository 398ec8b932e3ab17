#!/usr/bin/env bash
# The functions the release agent runs from start-up to rest, for lld to lay out first
# (scripts/build-release links with --symbol-ordering-file): grouped at the front of `.text`, the
# code an idle agent has touched fills a few hundred contiguous pages instead of being scattered
# over 20 MiB, each fault mapping its 64 KiB of neighbours (docs/benchmarks.md, "Memory at rest").
#
#   sudo Benchmarks/profile-symbol-order.sh            # writes scripts/symbol-order.txt.gz
#   sudo AGENT=PATH IDLE_SECONDS=30 Benchmarks/profile-symbol-order.sh
#
# Needs valgrind (callgrind records every function that runs, not a sample). The agent runs under
# callgrind in a throwaway namespace with a veth to a peer and conntrack active: start-up, a few
# connections to the peer (conntrack events, the socket sample), scrapes of every endpoint (plain
# and gzip), then IDLE_SECONDS at rest, then SIGTERM. The names are the binary's own symbols, so
# the order does not depend on the order it was linked with; a function added later and not in
# the file is laid out after the listed ones, and a stale file only costs memory, never
# correctness. Regenerate it after larger changes (the memory benchmark shows when it is stale).
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
for _ in 1 2 3; do
    # Refused at once by the peer (nothing listens): a conntrack NEW and a short-lived socket.
    ip netns exec "$NODE" curl -s -m 1 -o /dev/null http://10.79.0.2:9/ || true
done
for path in metrics findings healthz readyz; do
    ip netns exec "$NODE" curl -s -o /dev/null "http://127.0.0.1:19470/$path"
done
ip netns exec "$NODE" curl -s -o /dev/null -H 'Accept-Encoding: gzip' http://127.0.0.1:19470/metrics
sleep "$IDLE_SECONDS"
ip netns exec "$NODE" curl -s -o /dev/null -H 'Accept-Encoding: gzip' http://127.0.0.1:19470/metrics

# SIGTERM: valgrind passes it on, the agent stops cleanly and callgrind writes its profile.
kill "$PW_AGENT_PID"
for _ in $(seq 300); do pw_ours "$PW_AGENT_PID" || break; sleep 0.1; done
pw_untrack "$PW_AGENT_PID"
[ -s "$PW_WORK/callgrind.out" ] || { echo "callgrind wrote no profile; the agent's log:" >&2; cat "$(pw_agent_log "$NODE")" >&2; exit 1; }

# Every function callgrind named (fn= for those that ran, cfn= for those called), sorted by
# name, which groups each module's functions (mangled names start with the module) and keeps the
# file's diffs readable; the order in which they first ran measured the same or up to 1 MiB
# worse. Addresses without a symbol and callgrind's own entries are left out.
grep -E '^c?fn=\([0-9]+\) ' "$PW_WORK/callgrind.out" | sed -E 's/^c?fn=\([0-9]+\) //' |
    grep -vE '^(0x[0-9a-f]+|\(below main\))$' | LC_ALL=C sort -u >"$PW_WORK/order.txt"
count=$(wc -l <"$PW_WORK/order.txt")
[ "$count" -gt 1000 ] || { echo "only $count functions recorded; the profile looks incomplete" >&2; exit 1; }
gzip -9 -n -c "$PW_WORK/order.txt" >"$OUT"
echo "$count functions -> $OUT"
