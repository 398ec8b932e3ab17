#!/usr/bin/env bash
# Idle CPU of the agent, and which of its threads still wake: the agent alone in a namespace
# (one veth, conntrack active, the probe installed), nothing happening, CPU from
# /proc/PID/stat and /proc/PID/task/*/stat over IDLE_SECONDS after a settling period.
#
#   sudo Benchmarks/run-idle-cpu.sh                          # the release binary of scripts/build-release
#   sudo AGENT=PATH IDLE_SECONDS=120 Benchmarks/run-idle-cpu.sh
#
# The total is also given in clock ticks (/proc/PID/stat, CLK_TCK 10 ms here: over 60 s one tick
# is 0.17 ms/s); the per-thread figures come from /proc/PID/task/TID/schedstat (nanoseconds), so a
# thread that wakes for 50 µs a second shows. Threads are listed in creation order: main,
# dispatch, NIO, then one per watcher in the order the services start (rtnetlink, conntrack,
# self-sourced SYN, path sampler, metadata discovery, repairer, control socket).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=Benchmarks/lib/agent.sh
. Benchmarks/lib/agent.sh
pw_init pwidle
PW_AGENT=${AGENT:-$PWD/.build-release/dist/pathwatch}
[ -x "$PW_AGENT" ] || { echo "no agent binary at $PW_AGENT (scripts/build-release, or AGENT=PATH)" >&2; exit 2; }
IDLE_SECONDS=${IDLE_SECONDS:-60}
SETTLE_SECONDS=${SETTLE_SECONDS:-8}
HZ=$(getconf CLK_TCK)

pw_ns_var NODE node
pw_ns_var PEER peer
pw_veth_pair "$NODE" "$PEER" veth0 10.79.0.1/24 10.79.0.2/24
pw_activate_conntrack "$NODE"

pw_start_agent "$NODE" 19473 ""
pid=$PW_AGENT_PID
sleep "$SETTLE_SECONDS"
ip netns exec "$NODE" curl -s "http://127.0.0.1:19473/readyz" | sed -n 2p

ticks() { awk '{print $14 + $15}' "$1"; }
declare -A before
for t in /proc/"$pid"/task/*; do before[$t]=$(awk '{print $1}' "$t/schedstat"); done
c0=$(ticks "/proc/$pid/stat")
sleep "$IDLE_SECONDS"
c1=$(ticks "/proc/$pid/stat")

echo "binary: $PW_AGENT, idle ${IDLE_SECONDS} s after ${SETTLE_SECONDS} s, kernel $(uname -r), CLK_TCK $HZ"
echo
awk -v d=$((c1 - c0)) -v hz="$HZ" -v s="$IDLE_SECONDS" \
    'BEGIN {printf "idle CPU: %d ticks = %.2f ms/s (%.3f %% of a core)\n", d, d / hz * 1000 / s, d / hz / s * 100}'
echo
echo "| thread (tid, name) | CPU µs/s |"
echo "|---|---:|"
total=0
for t in /proc/"$pid"/task/*; do
    [ -r "$t/schedstat" ] || continue
    now=$(awk '{print $1}' "$t/schedstat")
    was=${before[$t]:-0}
    total=$((total + now - was))
    echo "| $(basename "$t") $(cat "$t/comm") | $(((now - was) / 1000 / IDLE_SECONDS)) |"
done
echo "| all threads (schedstat) | $((total / 1000 / IDLE_SECONDS)) |"
