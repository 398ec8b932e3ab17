#!/usr/bin/env bash
# Resource bounds of the real agent: idle cost, memory per conntrack flow, memory under a SYN
# flood of unique sources, and file descriptors over the whole run.
#
#   sudo Benchmarks/run-resource-bounds.sh                 # everything (~4 min)
#   sudo IDLE_SECONDS=60 FLOWS="50000 100000 200000" FLOOD_SECONDS=60 Benchmarks/run-resource-bounds.sh
#   sudo HAIRPIN_MAX=16384 PHASES=flood Benchmarks/run-resource-bounds.sh
#   sudo FLOOD_PPS=0 PHASES=flood Benchmarks/run-resource-bounds.sh   # hping3 --flood, no limit
#
# Why: the agent runs on every node as root for months. Its memory must be bounded by things
# the operator sees and configures (the conntrack table, `hairpin.maxTrackedFlows`), not by
# traffic, and an idle agent must cost next to nothing. Each phase prints a table; fds are
# sampled in every phase, so a leak of sockets or files shows as a rising count.
#
# Phases (PHASES, default "idle flows model flood"):
#   idle   the agent in a namespace with one veth and conntrack active, nothing happening:
#          VmRSS, CPU and fds every 5 s for IDLE_SECONDS (default 60).
#   flows  real UDP flows in the agent's namespace, to a peer namespace (unreplied; the UDP
#          conntrack timeout is raised in that namespace only so they stay): the agent's VmRSS at
#          each count in FLOWS (default "50000 100000 200000"; the kernel's nf_conntrack_max, a
#          root-namespace sysctl we do not touch, is the ceiling), then after `conntrack -F`,
#          and its CPU over 10 s of holding each table with nothing changing.
#   model  `pathwatch-bench flow-memory`: 1,000,000 synthetic decoded flows through the same
#          ConntrackTable + HairpinDetector code, in process, for the size the kernel here cannot
#          hold (remote sources; local sources, which all enter the hairpin correlator; and the
#          replaceAll of a 1M-flow dump after an overrun).
#   flood  hping3 SYN floods from four pod addresses (node-local endpoints: /32 routes to a veth)
#          with incrementing source ports, to a frontend that never answers, forwarded by the
#          agent's namespace: every SYN is a new conntrack flow and a new entry for the hairpin
#          correlator, whose bound is `hairpin.maxTrackedFlows` (HAIRPIN_MAX, default 65536).
#          FLOOD_PPS SYNs/s per source (default 5000, so 20k/s; 0 = `hping3 --flood`, as fast as
#          it can). The correlator keeps an outbound flow for `hairpin.windowSeconds`, set to
#          HAIRPIN_WINDOW (default 10) so that 20k unique sources/s would need 200k entries: the
#          bound, not the window, is what holds memory. The SYN_SENT timeout is lowered to 5 s in
#          that namespace only, so the kernel table (nf_conntrack_max) does not fill at 20k/s.
#          Samples every 5 s for FLOOD_SECONDS (default 60), then 20 s after it stops.
#
# Namespaces `pwres-<pid>-*` are deleted and every process started is killed by PID on exit.
set -euo pipefail
{ # Parsed whole before it runs, so editing this file during a run cannot derail the run.
cd "$(dirname "$0")/.."
# shellcheck source=Benchmarks/lib/agent.sh
. Benchmarks/lib/agent.sh

PHASES=${PHASES:-idle flows model flood}
IDLE_SECONDS=${IDLE_SECONDS:-60}
FLOWS=${FLOWS:-50000 100000 200000}
FLOOD_SECONDS=${FLOOD_SECONDS:-60}
HAIRPIN_MAX=${HAIRPIN_MAX:-65536}
HAIRPIN_WINDOW=${HAIRPIN_WINDOW:-10}
FLOOD_PPS=${FLOOD_PPS:-5000}
MODEL_FLOWS=${MODEL_FLOWS:-1000000}

pw_init pwres
need_apt=()
command -v hping3 >/dev/null || need_apt+=(hping3)
command -v conntrack >/dev/null || need_apt+=(conntrack)
command -v nft >/dev/null || need_apt+=(nftables)
if [ ${#need_apt[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
pw_build

FD_MIN=""
FD_MAX=""
note_fds() {
    local n=$1
    if [ -z "$FD_MIN" ] || [ "$n" -lt "$FD_MIN" ]; then FD_MIN=$n; fi
    if [ -z "$FD_MAX" ] || [ "$n" -gt "$FD_MAX" ]; then FD_MAX=$n; fi
}
metric() { # NS PORT NAME: a metric's value (first series) from /metrics
    ip netns exec "$1" curl -s -m 5 "http://127.0.0.1:$2/metrics" | awk -v n="$3" '$1 == n || index($1, n "{") == 1 {print $2; exit}'
}
summary=()
# hold_cpu PID: the agent's CPU over 10 s with nothing changing, in ms/s: what holding the
# current table costs (the live-traffic scan walks every flow each liveTrafficScanSeconds).
hold_cpu() {
    local c0 c1
    c0=$(pw_cpu_ticks "$1"); sleep 10; c1=$(pw_cpu_ticks "$1")
    awk -v d=$((c1 - c0)) -v hz="$PW_HZ" 'BEGIN {printf "%.1f", d / hz * 1000 / 10}'
}

echo "nf_conntrack_max (root namespace, read only): $(sysctl -n net.netfilter.nf_conntrack_max)" >&2

if [[ " $PHASES " == *" idle "* ]]; then
    pw_ns_var IDLE idle
    ip -n "$IDLE" link add eth0 type veth peer name eth1
    ip -n "$IDLE" addr add 10.66.0.1/24 dev eth0
    ip -n "$IDLE" link set eth0 up
    ip -n "$IDLE" link set eth1 up
    pw_activate_conntrack "$IDLE"
    pw_start_agent "$IDLE" 19471 ""
    pid=$PW_AGENT_PID
    sleep 5
    echo
    echo "### idle agent ($IDLE_SECONDS s, samples every 5 s)"
    echo
    echo "| t s | VmRSS MiB | CPU s total | fds | threads |"
    echo "|---:|---:|---:|---:|---:|"
    c0=$(pw_cpu_ticks "$pid")
    r0=$(pw_rss_kib "$pid")
    for ((t = 0; t <= IDLE_SECONDS; t += 5)); do
        f=$(pw_fds "$pid"); note_fds "$f"
        echo "| $t | $(awk -v k="$(pw_rss_kib "$pid")" 'BEGIN {printf "%.1f", k / 1024}') | $(awk -v c="$(pw_cpu_ticks "$pid")" -v hz="$PW_HZ" 'BEGIN {printf "%.2f", c / hz}') | $f | $(pw_threads "$pid") |"
        [ "$t" -lt "$IDLE_SECONDS" ] && sleep 5
    done
    c1=$(pw_cpu_ticks "$pid")
    r1=$(pw_rss_kib "$pid")
    summary+=("idle: VmRSS $((r0 / 1024)) -> $((r1 / 1024)) MiB, CPU $(awk -v d=$((c1 - c0)) -v hz="$PW_HZ" -v s="$IDLE_SECONDS" 'BEGIN {printf "%.2f ms/s (%.3f %% of a core)", d / hz * 1000 / s, d / hz / s * 100}')")
    kill "$pid"; wait "$pid" 2>/dev/null || true; pw_untrack "$pid"
fi

if [[ " $PHASES " == *" flows "* ]]; then
    pw_ns_var FNODE fnode
    pw_ns_var FPEER fpeer
    ip -n "$FNODE" link add eth0 type veth peer name eth0 netns "$FPEER"
    ip -n "$FNODE" addr add 10.67.0.1/24 dev eth0
    ip -n "$FPEER" addr add 10.67.0.2/24 dev eth0
    ip -n "$FNODE" link set eth0 up
    ip -n "$FPEER" link set eth0 up
    # The peer drops them: unreplied flows, as a node's outbound connections to a dead service.
    ip netns exec "$FPEER" nft add table inet pwdrop
    ip netns exec "$FPEER" nft add chain inet pwdrop in '{ type filter hook input priority 0; policy drop; }'
    pw_activate_conntrack "$FNODE"
    ip netns exec "$FNODE" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=3600
    pw_start_agent "$FNODE" 19472 ""
    pid=$PW_AGENT_PID
    sleep 3
    base=$(pw_rss_kib "$pid")
    echo
    echo "### real conntrack flows (UDP, unreplied, in the agent's namespace)"
    echo
    echo "| flows in the kernel table | pathwatch_conntrack_flows | VmRSS MiB | growth MiB | bytes/flow | VmHWM MiB | fds | overruns | CPU ms/s holding them |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    echo "| 0 | $(metric "$FNODE" 19472 pathwatch_conntrack_flows) | $(awk -v k="$base" 'BEGIN {printf "%.1f", k / 1024}') | 0 | — | $(($(pw_hwm_kib "$pid") / 1024)) | $(pw_fds "$pid") | 0 | $(hold_cpu "$pid") |"
    made=0
    for n in $FLOWS; do
        # A fresh socket (a fresh source port) and another destination port per flow, one peer
        # address (one neighbour entry).
        ip netns exec "$FNODE" python3 - "$made" "$n" <<'EOF'
import socket, sys
start, end = int(sys.argv[1]), int(sys.argv[2])
for i in range(start, end):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"x", ("10.67.0.2", 1024 + i % 64000))
    s.close()
EOF
        made=$n
        sleep 5
        kernel=$(ip netns exec "$FNODE" conntrack -C)
        rss=$(pw_rss_kib "$pid")
        f=$(pw_fds "$pid"); note_fds "$f"
        over=$(ip netns exec "$FNODE" curl -s "http://127.0.0.1:19472/metrics" | awk '/^pathwatch_netlink_overruns_total\{.*conntrack/ {print $2}')
        echo "| $kernel | $(metric "$FNODE" 19472 pathwatch_conntrack_flows) | $(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}') | $(awk -v k=$((rss - base)) 'BEGIN {printf "%.1f", k / 1024}') | $(awk -v k=$((rss - base)) -v n="$kernel" 'BEGIN {printf "%.0f", k * 1024 / n}') | $(($(pw_hwm_kib "$pid") / 1024)) | $f | ${over:-0} | $(hold_cpu "$pid") |"
    done
    ip netns exec "$FNODE" conntrack -F 2>/dev/null
    sleep 5
    rss=$(pw_rss_kib "$pid")
    echo "| 0 (after conntrack -F) | $(metric "$FNODE" 19472 pathwatch_conntrack_flows) | $(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}') | $(awk -v k=$((rss - base)) 'BEGIN {printf "%.1f", k / 1024}') | — | $(($(pw_hwm_kib "$pid") / 1024)) | $(pw_fds "$pid") | |"
    kill "$pid"; wait "$pid" 2>/dev/null || true; pw_untrack "$pid"
fi

if [[ " $PHASES " == *" model "* ]]; then
    echo
    echo "### flow model in process ($MODEL_FLOWS synthetic flows, pathwatch-bench flow-memory)"
    echo
    echo "| case | flows in table | hairpin tracked | VmRSS growth MiB | bytes/flow | VmHWM MiB | CPU ns/flow |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for mode in remote local resync; do
        args=(--flows "$MODEL_FLOWS")
        [ "$mode" = local ] && args+=(--local-sources yes)
        [ "$mode" = resync ] && args+=(--resync yes)
        out=$("$PW_BENCH" flow-memory "${args[@]}")
        mr=$(grep '^machine-readable:' <<<"$out")
        field() { tr ' ' '\n' <<<"$mr" | awk -F= -v k="$1" '$1 == k {print $2}'; }
        echo "| $mode | $(field flows) | $(field tracked) | $(awk -v k="$(field rss_growth_kib)" 'BEGIN {printf "%.1f", k / 1024}') | $(field bytes_per_flow) | $(($(field hwm_kib) / 1024)) | $(awk -v c="$(field cpu_s)" -v n="$MODEL_FLOWS" 'BEGIN {printf "%.0f", c / n * 1e9}') |"
    done
fi

if [[ " $PHASES " == *" flood "* ]]; then
    pw_ns_var NODE node
    pw_ns_var POD pod
    pw_ns_var FAR far
    ip netns exec "$NODE" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
    ip netns exec "$NODE" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_syn_sent=5
    # Pod side: four pod addresses behind one veth, /32 routes in the node (node-local endpoints).
    ip -n "$NODE" link add eni0 type veth peer name eth0 netns "$POD"
    ip -n "$NODE" addr add 169.254.1.1/32 dev eni0
    ip -n "$NODE" link set eni0 up
    ip -n "$POD" link set eth0 up
    for a in 20 21 22 23; do
        ip -n "$POD" addr add "10.0.1.$a/32" dev eth0
        ip -n "$NODE" route add "10.0.1.$a/32" dev eni0
    done
    ip -n "$POD" route add 169.254.1.1/32 dev eth0
    ip -n "$POD" route add default via 169.254.1.1 dev eth0
    # The far side: the frontend 10.0.9.9 is routed there and never answers (no forwarding).
    ip -n "$NODE" link add lb0 type veth peer name eth0 netns "$FAR"
    ip -n "$NODE" addr add 10.0.0.1/24 dev lb0
    ip -n "$FAR" addr add 10.0.0.2/24 dev eth0
    ip -n "$NODE" link set lb0 up
    ip -n "$FAR" link set eth0 up
    ip -n "$NODE" route add 10.0.9.9/32 via 10.0.0.2
    pw_activate_conntrack "$NODE"
    pw_start_agent "$NODE" 19473 "hairpin:
  maxTrackedFlows: $HAIRPIN_MAX
  windowSeconds: $HAIRPIN_WINDOW"
    pid=$PW_AGENT_PID
    sleep 3
    base=$(pw_rss_kib "$pid")
    echo
    rate="$FLOOD_PPS SYN/s per source"
    [ "$FLOOD_PPS" = 0 ] && rate="hping3 --flood"
    echo "### SYN flood of unique node-local sources, 4 sources, $rate (hairpin.maxTrackedFlows: $HAIRPIN_MAX, hairpin.windowSeconds: $HAIRPIN_WINDOW, $FLOOD_SECONDS s)"
    echo
    echo "| t s | NEW events the agent saw | conntrack entries | pathwatch_hairpin_tracked_flows | pathwatch_conntrack_flows | VmRSS MiB | VmHWM MiB | agent CPU s | fds | conntrack overruns |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    flood_pids=()
    for a in 20 21 22 23; do
        pace=(--flood)
        [ "$FLOOD_PPS" = 0 ] || pace=(-i "u$((1000000 / FLOOD_PPS))")
        ip netns exec "$POD" hping3 -q -S -p 80 "${pace[@]}" -a "10.0.1.$a" 10.0.9.9 >/dev/null 2>&1 &
        flood_pids+=($!)
        pw_track $!
    done
    sample() {
        local t=$1 m new ct tracked flows over
        m=$(ip netns exec "$NODE" curl -s -m 5 "http://127.0.0.1:19473/metrics")
        new=$(awk '/^pathwatch_conntrack_events_total\{.*new/ {print $2; exit}' <<<"$m")
        tracked=$(awk '$1 == "pathwatch_hairpin_tracked_flows" {print $2}' <<<"$m")
        flows=$(awk '$1 == "pathwatch_conntrack_flows" {print $2}' <<<"$m")
        over=$(awk '/^pathwatch_netlink_overruns_total\{.*conntrack/ {print $2}' <<<"$m")
        ct=$(ip netns exec "$NODE" conntrack -C)
        local f; f=$(pw_fds "$pid"); note_fds "$f"
        echo "| $t | ${new:-?} | $ct | ${tracked:-?} | ${flows:-?} | $(awk -v k="$(pw_rss_kib "$pid")" 'BEGIN {printf "%.1f", k / 1024}') | $(($(pw_hwm_kib "$pid") / 1024)) | $(awk -v c="$(pw_cpu_ticks "$pid")" -v hz="$PW_HZ" 'BEGIN {printf "%.1f", c / hz}') | $f | ${over:-0} |"
    }
    for ((t = 0; t <= FLOOD_SECONDS; t += 5)); do
        sample "$t"
        [ "$t" -lt "$FLOOD_SECONDS" ] && sleep 5
    done
    for p in "${flood_pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; pw_untrack "$p"; done
    sleep 10
    sample "$((FLOOD_SECONDS + 10)) (stopped)"
    sleep 10
    sample "$((FLOOD_SECONDS + 20)) (stopped)"
    grep -c '"conntrack events were lost' "$(pw_agent_log "$NODE")" >/dev/null 2>&1 &&
        echo "(agent log: $(grep -c 'conntrack events were lost' "$(pw_agent_log "$NODE")") overrun re-dumps)"
    kill "$pid"; wait "$pid" 2>/dev/null || true; pw_untrack "$pid"
fi

echo
echo "kernel $(uname -r), $(nproc) CPUs (shared), nf_conntrack_max $(sysctl -n net.netfilter.nf_conntrack_max)"
for line in "${summary[@]}"; do echo "$line"; done
[ -n "$FD_MIN" ] && echo "agent fds over every sample of this run: min $FD_MIN, max $FD_MAX"
exit 0
}
