#!/usr/bin/env bash
# Memory at rest: the release agent and node_exporter idle side by side in one namespace, then
# where each one's resident pages go (/proc/PID/smaps and pagemap, Benchmarks/lib/resident-pages.py).
#
#   sudo Benchmarks/run-idle-memory.sh                       # the release binary of scripts/build-release
#   sudo AGENT=PATH IDLE_SECONDS=60 Benchmarks/run-idle-memory.sh
#
# One namespace with a veth to a peer and conntrack active (as in run-scrape-vs-node-exporter.sh,
# without traffic); node_exporter 1.5 with the netdev, netstat and conntrack collectors. Both are
# scraped once (Prometheus would), then left alone for IDLE_SECONDS before they are read.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=Benchmarks/lib/agent.sh
. Benchmarks/lib/agent.sh
pw_init pwmem
PW_AGENT=${AGENT:-$PWD/.build-release/dist/pathwatch}
[ -x "$PW_AGENT" ] || { echo "no release binary at $PW_AGENT (scripts/build-release)" >&2; exit 2; }
command -v prometheus-node-exporter >/dev/null || { echo "prometheus-node-exporter is missing (scripts/setup)" >&2; exit 2; }
IDLE_SECONDS=${IDLE_SECONDS:-30}

pw_ns_var NODE node
pw_ns_var PEER peer
pw_veth_pair "$NODE" "$PEER" veth0 10.78.0.1/24 10.78.0.2/24
pw_activate_conntrack "$NODE"

# Both binaries start from a cold page cache (their clean pages evicted, as after a reboot): how
# many neighbouring pages a fault maps depends on how the file came into the cache (written by
# the linker, read by strip, read ahead), and without this the same binary measured 1-2 MiB apart
# from one run to the next.
for f in "$PW_AGENT" "$(readlink -f "$(command -v prometheus-node-exporter)")"; do
    python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$f"
done
pw_start_agent "$NODE" 19469 ""
AGENT_PID=$PW_AGENT_PID
ip netns exec "$NODE" prometheus-node-exporter --collector.disable-defaults --collector.netdev \
    --collector.netstat --collector.conntrack --web.listen-address=127.0.0.1:19100 >"$PW_WORK/ne.log" 2>&1 &
NE_PID=$!
pw_track "$NE_PID"
for _ in $(seq 100); do ip netns exec "$NODE" curl -s -m 1 -o /dev/null http://127.0.0.1:19100/metrics && break; sleep 0.1; done
scrape() {
    ip netns exec "$NODE" curl -s -o /dev/null http://127.0.0.1:19469/metrics
    ip netns exec "$NODE" curl -s -o /dev/null http://127.0.0.1:19100/metrics
}
scrape
# The working set at rest: the kernel's accessed bits are cleared once start-up is over, so
# `Referenced` at the end counts only the pages touched while idle and by one more scrape in the
# middle (what Prometheus does every 15-60 s); resident pages outside it were touched only at
# start-up, or mapped beside a touched page by fault-around, and are the first reclaimed.
for pid in "$AGENT_PID" "$NE_PID"; do echo 1 >"/proc/$pid/clear_refs"; done
sleep "$(awk -v s="$IDLE_SECONDS" 'BEGIN { print s / 2 }')"
scrape
sleep "$(awk -v s="$IDLE_SECONDS" 'BEGIN { print s / 2 }')"

rollup() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/smaps_rollup"; }
echo "binary: $PW_AGENT ($(stat -c %s "$PW_AGENT") bytes), idle ${IDLE_SECONDS} s, kernel $(uname -r)"
echo
echo "| process | VmRSS KiB | PSS KiB | PSS file-backed KiB | PSS anonymous KiB | referenced at rest KiB | threads |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for p in "pathwatch:$AGENT_PID" "node_exporter:$NE_PID"; do
    name=${p%%:*} pid=${p##*:}
    echo "| $name | $(pw_rss_kib "$pid") | $(rollup "$pid" Pss) | $(rollup "$pid" Pss_File) | $(rollup "$pid" Pss_Anon) | $(rollup "$pid" Referenced) | $(pw_threads "$pid") |"
done
echo
echo "pathwatch, by where the pages are:"
echo
python3 Benchmarks/lib/resident-pages.py "$AGENT_PID" "$PW_AGENT"
echo
echo "node_exporter, by where the pages are:"
echo
python3 Benchmarks/lib/resident-pages.py "$NE_PID" "$(readlink -f "$(command -v prometheus-node-exporter)")"
