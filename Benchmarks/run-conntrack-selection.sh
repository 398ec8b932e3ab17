#!/usr/bin/env bash
# What the agent pays for conntrack, against `conntrack -E -e NEW` (conntrack-tools, the tool an
# operator would leave running instead) over the same bursts, in the same run.
#
#   sudo Benchmarks/run-conntrack-selection.sh                      # all three phases (~3 min)
#   sudo REMOTE_FLOWS=150000 LOCAL_FLOWS=150000 TRACKED=100000 Benchmarks/run-conntrack-selection.sh
#   sudo PHASES=remote Benchmarks/run-conntrack-selection.sh
#
# Phases (PHASES, default "remote local memory"):
#   remote  UDP flood from random remote sources into the node (a server's inbound load:
#           hping3 --rand-source, REMOTE_FLOWS datagrams): no detector reads these flows, so
#           the kernel's event filter keeps them; CPU of the agent and of conntrack -E over the
#           burst, and the agent's NEW events against the kernel's count.
#   local   UDP flood from the node's own address (LOCAL_FLOWS datagrams, one flow each): every
#           NEW event must reach the agent (`pathwatch_conntrack_events_total{type="new"}` against
#           the lines conntrack -E printed); CPU per event of both.
#   memory  TRACKED unreplied node-sourced UDP flows held in the table (UDP timeout raised in
#           the node's namespace only): the agent's VmRSS growth per tracked flow.
#
# Namespaces `pwsel-<pid>-*` are deleted and every process started is killed by PID on exit.
set -euo pipefail
{ # Parsed whole before it runs.
cd "$(dirname "$0")/.."
# shellcheck source=Benchmarks/lib/agent.sh
. Benchmarks/lib/agent.sh

PHASES=${PHASES:-remote local memory}
REMOTE_FLOWS=${REMOTE_FLOWS:-150000}
LOCAL_FLOWS=${LOCAL_FLOWS:-150000}
TRACKED=${TRACKED:-100000}

pw_init pwsel
for tool in hping3 conntrack nft; do command -v "$tool" >/dev/null || { echo "needs $tool (scripts/setup installs it)" >&2; exit 1; }; done
pw_build

pw_ns_var NODE node
pw_ns_var CLIENT client
ip -n "$NODE" link add eth0 type veth peer name eth0 netns "$CLIENT"
ip -n "$NODE" addr add 10.0.7.1/16 dev eth0
ip -n "$CLIENT" addr add 10.0.7.2/16 dev eth0
ip -n "$NODE" link set eth0 up
ip -n "$CLIENT" link set eth0 up
ip -n "$CLIENT" route add default dev eth0
ip -n "$NODE" route add default via 10.0.7.2
pw_activate_conntrack "$NODE"
# Short UDP timeouts in the node's namespace only, so floods do not fill the kernel's
# nf_conntrack_max (a root-namespace setting this script does not touch).
ip netns exec "$NODE" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=5 net.netfilter.nf_conntrack_udp_timeout_stream=5
ip netns exec "$CLIENT" ping -c 1 -W 1 10.0.7.1 >/dev/null

PORT=19581
pw_start_agent "$NODE" "$PORT" $'conntrack:\n  receiveBufferBytes: 67108864\n  maxTrackedFlows: 1000000'
AGENT=$PW_AGENT_PID
metric() { ip netns exec "$NODE" curl -s -m 5 "http://127.0.0.1:$PORT/metrics" | awk -v n="$1" '$1 == n {print $2; exit}'; }
new_events() { metric 'pathwatch_conntrack_events_total{type="new"}'; }
rows=()

# burst LABEL NS COMMAND...: runs COMMAND in NS while conntrack -E -e NEW listens in the node;
# prints one table row comparing both.
burst() {
    local label=$1 ns=$2
    shift 2
    local out=$PW_WORK/ctE.out
    ip netns exec "$NODE" conntrack -E -e NEW -b 67108864 >"$out" 2>"$PW_WORK/ctE.err" &
    local ct=$!
    pw_track "$ct"
    sleep 0.5
    local a0 c0 e0 t0 a1 c1 e1 lines
    a0=$(pw_cpu_ticks "$AGENT"); c0=$(pw_cpu_ticks "$ct"); e0=$(new_events)
    t0=$(date +%s.%N)
    ip netns exec "$ns" "$@" >/dev/null 2>&1 || true
    sleep 2  # both drain their queues
    a1=$(pw_cpu_ticks "$AGENT"); c1=$(pw_cpu_ticks "$ct"); e1=$(new_events)
    kill "$ct" 2>/dev/null || true
    wait "$ct" 2>/dev/null || true
    pw_untrack "$ct"
    lines=$(grep -c '\[NEW\]' "$out" || true)
    rows+=("$(awk -v l="$label" -v a=$((a1 - a0)) -v c=$((c1 - c0)) -v hz="$PW_HZ" -v n="$lines" -v e="$(awk -v x="$e1" -v y="$e0" 'BEGIN {print x - y}')" \
        'BEGIN { ams = a / hz * 1000; cms = c / hz * 1000;
                 printf "| %s | %d | %d | %.0f | %.0f | %s | %s |", l, n, e, ams, cms, (c > 0 ? sprintf("%.3f", a / c) : "n/a"),
                 (e > 0 && n > 0 ? sprintf("%.2f", (ams / e) / (cms / n)) : "n/a") }')")
    echo "${rows[-1]}" >&2
}

for phase in $PHASES; do
    case $phase in
    remote)
        burst "remote sources into the node (hping3 --udp --rand-source)" "$CLIENT" \
            hping3 --udp --rand-source -p 9 -c "$REMOTE_FLOWS" -i u4 10.0.7.1
        ;;
    local)
        burst "from the node's own address (hping3 --udp, incrementing source port)" "$NODE" \
            hping3 --udp -a 10.0.7.1 -s 1024 -p 9 -c "$LOCAL_FLOWS" -i u4 10.0.7.2
        ;;
    memory)
        ip netns exec "$NODE" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=600
        r0=$(pw_rss_kib "$AGENT")
        ip netns exec "$NODE" python3 -c "
import socket
n = $TRACKED
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('10.0.7.1', 1024 + i % 60000))
    s.sendto(b'x', ('10.0.%d.%d' % (8 + i // 60000 // 250, 2 + (i // 60000) % 250), 9))
    s.close()
"
        sleep 3
        r1=$(pw_rss_kib "$AGENT")
        tracked=$(metric pathwatch_conntrack_tracked_flows)
        memory_row=$(awk -v r0="$r0" -v r1="$r1" -v t="$tracked" 'BEGIN {printf "| %d | %.1f | %.1f | %.0f |", t, r0 / 1024, r1 / 1024, (t > 0 ? (r1 - r0) * 1024 / t : 0)}')
        echo "$memory_row" >&2
        ip netns exec "$NODE" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=5
        ;;
    esac
done

echo
echo "| burst | NEW (conntrack -E) | NEW (pathwatch) | pathwatch CPU ms | conntrack -E CPU ms | CPU ratio | CPU per event ratio |"
echo "|---|---|---|---|---|---|---|"
for row in "${rows[@]}"; do echo "$row"; done
if [ -n "${memory_row:-}" ]; then
    echo
    echo "| tracked flows | VmRSS before MiB | VmRSS after MiB | bytes per tracked flow |"
    echo "|---|---|---|---|"
    echo "$memory_row"
fi
exit 0
}
