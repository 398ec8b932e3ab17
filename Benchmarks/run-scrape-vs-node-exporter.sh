#!/usr/bin/env bash
# /metrics scrape cost: pathwatch against prometheus-node-exporter, same namespace, same run.
#
#   sudo Benchmarks/run-scrape-vs-node-exporter.sh [SCRAPES] [CONCURRENCY]
#
# Why: every node runs pathwatch and Prometheus scrapes every copy, so what a scrape costs the
# node (latency, bytes, CPU, resident memory) is a per-node tax. The tool an operator would
# otherwise run for the same numbers is node_exporter with its netdev, netstat and conntrack
# collectors, so that is the comparison.
#
# What it does: creates a namespace `pwscrape-<pid>-node` and a peer `pwscrape-<pid>-peer`
# joined by 4 veth pairs (both deleted by an EXIT trap whatever happens), activates conntrack in
# the node namespace (nft `ct state new counter`), starts some traffic (pings over every veth,
# 2,000 UDP flows, 20 open TCP connections), then starts the release agent and
# `prometheus-node-exporter --collector.disable-defaults --collector.netdev
# --collector.netstat --collector.conntrack`, both inside the node namespace on 127.0.0.1.
# Each is scraped SCRAPES times (default 1000) with `hey`, first with one client (sequential,
# keep-alive, as Prometheus scrapes) then with CONCURRENCY clients (default 8), each both with
# compression disabled and with `Accept-Encoding: gzip` (what Prometheus sends). Reported per
# target: p50/p99 latency (from hey's per-request CSV), bytes per scrape, CPU time
# (utime+stime from /proc/PID/stat) per scrape, VmRSS after the scrapes and VmHWM.
# The idle CPU of each process (10 s, no scrapes) is measured first and reported separately.
#
# Needs: prometheus-node-exporter, hey, nftables, curl, python3 (scripts/setup installs them).
set -euo pipefail
{ # Parsed whole before it runs, so editing this file during a run cannot derail the run.
cd "$(dirname "$0")/.."
# shellcheck source=Benchmarks/lib/agent.sh
. Benchmarks/lib/agent.sh

SCRAPES=${1:-1000}
CONCURRENCY=${2:-8}
AGENT_PORT=19469
NE_PORT=19100

pw_init pwscrape
need_apt=()
command -v prometheus-node-exporter >/dev/null || need_apt+=(prometheus-node-exporter)
command -v hey >/dev/null || need_apt+=(hey)
command -v nft >/dev/null || need_apt+=(nftables)
if [ ${#need_apt[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
pw_build

pw_ns_var NODE node
pw_ns_var PEER peer
for i in 0 1 2 3; do
    ip -n "$NODE" link add "v$i" type veth peer name "p$i" netns "$PEER"
    ip -n "$NODE" addr add "10.77.$i.1/24" dev "v$i"
    ip -n "$PEER" addr add "10.77.$i.2/24" dev "p$i"
    ip -n "$NODE" link set "v$i" up
    ip -n "$PEER" link set "p$i" up
done
pw_activate_conntrack "$NODE"

# Traffic: pings on every veth, 20 TCP connections held open, 2,000 UDP flows (kept by
# conntrack for its 30 s / 120 s UDP timeouts: the udp timeout is raised in this namespace only).
ip netns exec "$NODE" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=600
for i in 0 1 2 3; do
    ip netns exec "$NODE" ping -q -i 0.2 "10.77.$i.2" >/dev/null 2>&1 &
    pw_track $!
done
ip netns exec "$PEER" python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5001)); s.listen(64)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' &
pw_track $!
sleep 0.5
ip netns exec "$NODE" python3 -c '
import socket, time
conns = []
for i in range(20):
    c = socket.create_connection(("10.77.%d.2" % (i % 4), 5001)); c.sendall(b"x" * 1000); conns.append(c)
while True:
    time.sleep(1)
    for c in conns: c.sendall(b"y" * 100)
' &
pw_track $!
ip netns exec "$NODE" python3 -c '
import socket
for i in range(2000):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"x", ("10.77.%d.2" % (i % 4), 20000 + i)); s.close()
'

pw_start_agent "$NODE" "$AGENT_PORT" ""
AGENT_PID=$PW_AGENT_PID
ip netns exec "$NODE" prometheus-node-exporter --collector.disable-defaults --collector.netdev \
    --collector.netstat --collector.conntrack --web.listen-address="127.0.0.1:$NE_PORT" \
    >"$PW_WORK/node-exporter.log" 2>&1 &
NE_PID=$!
pw_track "$NE_PID"
for _ in $(seq 100); do
    ip netns exec "$NODE" curl -s -m 1 -o /dev/null "http://127.0.0.1:$NE_PORT/metrics" && break
    sleep 0.1
done
flows=$(ip netns exec "$NODE" conntrack -C 2>/dev/null || echo "?")
echo "node namespace: 4 veths, conntrack entries: $flows" >&2
# One scrape each to warm up (first-scrape allocations), then 10 s idle for the idle CPU rate.
for url in "http://127.0.0.1:$AGENT_PORT/metrics" "http://127.0.0.1:$NE_PORT/metrics"; do
    ip netns exec "$NODE" curl -s -o /dev/null "$url"
done
a0=$(pw_cpu_ticks "$AGENT_PID"); n0=$(pw_cpu_ticks "$NE_PID")
sleep 10
a1=$(pw_cpu_ticks "$AGENT_PID"); n1=$(pw_cpu_ticks "$NE_PID")
idle_agent=$(awk -v d=$((a1 - a0)) -v hz="$PW_HZ" 'BEGIN {printf "%.1f", d / hz * 1000 / 10}')
idle_ne=$(awk -v d=$((n1 - n0)) -v hz="$PW_HZ" 'BEGIN {printf "%.1f", d / hz * 1000 / 10}')
rss_idle_agent=$(pw_rss_kib "$AGENT_PID"); rss_idle_ne=$(pw_rss_kib "$NE_PID")

bytes() { # URL GZIP(0/1): bytes on the wire of one scrape
    local h=()
    [ "$2" = 1 ] && h=(-H 'Accept-Encoding: gzip')
    ip netns exec "$NODE" curl -s "${h[@]}" -o /dev/null -w '%{size_download}' "$1"
}
series() { ip netns exec "$NODE" curl -s "$1" | grep -vc '^#'; }

rows=()
run() { # NAME PID URL CONCURRENCY GZIP
    local name=$1 pid=$2 url=$3 c=$4 gz=$5 extra=() csv=$PW_WORK/hey.csv
    [ "$gz" = 0 ] && extra=(-disable-compression)
    local t0 t1
    t0=$(pw_cpu_ticks "$pid")
    ip netns exec "$NODE" hey -n "$SCRAPES" -c "$c" -t 10 -o csv "${extra[@]}" "$url" >"$csv"
    t1=$(pw_cpu_ticks "$pid")
    local ok p50 p99
    ok=$(awk -F, 'NR > 1 && $7 == 200' "$csv" | wc -l)
    p50=$(awk -F, 'NR > 1 {print $1 * 1000}' "$csv" | pw_percentile 50)
    p99=$(awk -F, 'NR > 1 {print $1 * 1000}' "$csv" | pw_percentile 99)
    local b cpu
    b=$(bytes "$url" "$gz")
    cpu=$(awk -v d=$((t1 - t0)) -v hz="$PW_HZ" -v n="$SCRAPES" 'BEGIN {printf "%.3f", d / hz * 1000 / n}')
    rows+=("| $name | $c | $([ "$gz" = 1 ] && echo "gzip asked" || echo plain) | $ok/$SCRAPES | $(printf '%.2f' "$p50") | $(printf '%.2f' "$p99") | $b | $cpu | $(($(pw_rss_kib "$pid") / 1024)) |")
    echo "${rows[-1]}" >&2
}

for gz in 0 1; do
    for c in 1 "$CONCURRENCY"; do
        run pathwatch "$AGENT_PID" "http://127.0.0.1:$AGENT_PORT/metrics" "$c" "$gz"
        run node_exporter "$NE_PID" "http://127.0.0.1:$NE_PORT/metrics" "$c" "$gz"
    done
done

agent_series=$(series "http://127.0.0.1:$AGENT_PORT/metrics")
ne_series=$(series "http://127.0.0.1:$NE_PORT/metrics")

echo
echo "kernel $(uname -r), $(nproc) CPUs, $(prometheus-node-exporter --version 2>&1 | head -1), hey $(dpkg-query -W -f='${Version}' hey 2>/dev/null)"
echo "node namespace: 4 veths + lo, conntrack entries at start: $flows; $SCRAPES scrapes per row"
echo
echo "| target | clients | encoding | 200 OK | p50 ms | p99 ms | bytes/scrape | CPU ms/scrape | VmRSS MiB after |"
echo "|---|---:|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
echo "| target | series (non-comment lines) | idle CPU ms/s | VmRSS MiB idle | VmHWM MiB (peak) | threads |"
echo "|---|---:|---:|---:|---:|---:|"
echo "| pathwatch | $agent_series | $idle_agent | $((rss_idle_agent / 1024)) | $(($(pw_hwm_kib "$AGENT_PID") / 1024)) | $(pw_threads "$AGENT_PID") |"
echo "| node_exporter | $ne_series | $idle_ne | $((rss_idle_ne / 1024)) | $(($(pw_hwm_kib "$NE_PID") / 1024)) | $(pw_threads "$NE_PID") |"
exit 0
}
