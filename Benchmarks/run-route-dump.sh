#!/usr/bin/env bash
# Route dump benchmark: pathwatch's full IPv4 route dump + NodeState build against
# `ip -4 route show table all > /dev/null`, on the same table, in the same run.
#
#   sudo Benchmarks/run-route-dump.sh                 # 100k, 500k, 1M routes
#   sudo Benchmarks/run-route-dump.sh 5000 50000      # other sizes
#   ROUTE_VIA=dev sudo Benchmarks/run-route-dump.sh   # /32 routes straight to the veth (pod-style)
#
# Each size gets its own throwaway network namespace (deleted on exit, whatever happens); the
# root namespace's routes are never touched. Needs root, iproute2, swift; installs hyperfine and
# GNU time with apt-get if they are missing.
set -euo pipefail

cd "$(dirname "$0")/.."
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(100000 500000 1000000)
STARTS=${STARTS:-3}               # agent starts per size (start -> ready; the median is reported)
ROUTE_VIA=${ROUTE_VIA:-gateway}   # gateway: "via 10.255.255.2 dev pwb0"; dev: "dev pwb0" (scope link)

[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces, routes)" >&2; exit 1; }

need_apt=()
command -v hyperfine >/dev/null || need_apt+=(hyperfine)
[ -x /usr/bin/time ] || need_apt+=(time)
if [ ${#need_apt[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

echo "building pathwatch and pathwatch-bench (release, scratch path .build-bench)..." >&2
swift build -c release --scratch-path .build-bench --product pathwatch >&2
swift build -c release --scratch-path .build-bench --product pathwatch-bench >&2
BENCH=$PWD/.build-bench/release/pathwatch-bench
AGENT=$PWD/.build-bench/release/pathwatch

WORK=$(mktemp -d /tmp/pwbench.XXXXXX)
NS=""
AGENT_PID=""
cleanup() {
    if [ -n "$AGENT_PID" ]; then kill "$AGENT_PID" 2>/dev/null || true; wait "$AGENT_PID" 2>/dev/null || true; fi
    if [ -n "$NS" ]; then ip netns del "$NS" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

peak_rss_kib() {  # peak RSS (KiB) of a command run in $NS, its stdout discarded
    ip netns exec "$NS" /usr/bin/time -v "$@" 2>"$WORK/time.txt" >/dev/null
    awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt"
}

field() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k {print $2}'; }

# agent_start_ms: starts the release agent in $NS (conntrack off: only the rtnetlink model is
# measured), polls /readyz every 10 ms, prints "MS RSS_KIB" (launch -> first 200, VmRSS then) and
# stops it with SIGTERM. /readyz turns 200 once every first full dump (links, addresses, routes of
# both families, rules) is in the model.
agent_start_ms() {
    printf 'conntrack:\n  enabled: false\n' >"$WORK/agent.yaml"
    local t0 t1 rss
    t0=$(date +%s%N)
    ip netns exec "$NS" "$AGENT" run --config "$WORK/agent.yaml" --listen 127.0.0.1:19469 \
        --control-socket "$WORK/control.sock" --log-level warning 2>>"$WORK/agent.log" &
    AGENT_PID=$!
    until ip netns exec "$NS" curl -s -m 1 -o /dev/null -w '%{http_code}' http://127.0.0.1:19469/readyz 2>/dev/null | grep -q 200; do
        kill -0 "$AGENT_PID" 2>/dev/null || { echo "the agent exited; its log:" >&2; cat "$WORK/agent.log" >&2; exit 1; }
        sleep 0.01
    done
    t1=$(date +%s%N)
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$AGENT_PID/status")
    kill "$AGENT_PID"
    wait "$AGENT_PID" 2>/dev/null || true
    AGENT_PID=""
    echo "$(((t1 - t0) / 1000000)) $rss"
}

# The agent with nothing but lo and one veth: its start-up time and RSS are the baseline the
# per-route figures are taken from.
NS="pwbench-$$-base"
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add pwb0 type veth peer name pwb1
read -r BASE_MS BASE_RSS < <(agent_start_ms)
ip netns del "$NS"
NS=""
echo "== agent with no routes: ready in $BASE_MS ms, VmRSS $BASE_RSS KiB" >&2

ROWS=()
STARTROWS=()
for N in "${SIZES[@]}"; do
    NS="pwbench-$$-$N"
    ip netns add "$NS"
    ip -n "$NS" link set lo up
    ip -n "$NS" link add pwb0 type veth peer name pwb1
    ip -n "$NS" addr add 10.255.255.1/24 dev pwb0
    ip -n "$NS" link set pwb0 up
    ip -n "$NS" link set pwb1 up

    # N distinct /32s from 10.0.0.1 upwards (10.0.0.0/8 holds 16M); awk writes a million lines
    # in well under a second.
    if [ "$ROUTE_VIA" = dev ]; then nh="dev pwb0"; else nh="via 10.255.255.2 dev pwb0"; fi
    awk -v n="$N" -v nh="$nh" 'BEGIN {
        for (i = 1; i <= n; i++) printf "route add 10.%d.%d.%d/32 %s\n", int(i / 65536) % 255, int(i / 256) % 256, i % 256, nh
    }' >"$WORK/routes.batch"
    t0=$(date +%s.%N)
    ip -n "$NS" -batch "$WORK/routes.batch"
    t1=$(date +%s.%N)
    total=$(ip -n "$NS" -4 route show table all | wc -l)
    echo "== $N routes ($ROUTE_VIA) loaded in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s; ip -4 route show table all: $total lines" >&2

    if [ "$N" -ge 1000000 ]; then runs=5; elif [ "$N" -ge 100000 ]; then runs=10; else runs=30; fi

    # iproute2: hyperfine, no shell (-N), output discarded (= "> /dev/null").
    ip netns exec "$NS" hyperfine -N --warmup 2 --runs "$runs" --output=null --style=none \
        --export-json "$WORK/ip.json" "ip -4 route show table all" >&2
    read -r ip_min ip_median ip_mean < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print("%.3f %.3f %.3f" % (r["min"] * 1e3, r["median"] * 1e3, r["mean"] * 1e3))' "$WORK/ip.json")
    echo "== ip -4 route show table all: min $ip_min ms, median $ip_median ms" >&2

    # pathwatch: in-process timings (one warm-up dump is the memory pass).
    out=$(ip netns exec "$NS" "$BENCH" route-dump --repeat "$runs")
    echo "$out" >&2
    mr=$(grep '^machine-readable:' <<<"$out")
    routes=$(field routes "$mr")
    s_min=$(field stream_min_ms "$mr"); s_med=$(field stream_median_ms "$mr")
    c_med=$(field collect_median_ms "$mr"); d_med=$(field decode_median_ms "$mr")
    r_med=$(field raw_median_ms "$mr"); i_med=$(field insert_median_ms "$mr")
    model_kib=$(field model_rss_kib "$mr")

    ip_rss=$(peak_rss_kib ip -4 route show table all)
    pw_rss=$(peak_rss_kib "$BENCH" route-model-memory)

    : >"$WORK/starts"
    for _ in $(seq "$STARTS"); do agent_start_ms >>"$WORK/starts"; done
    start_med=$(awk '{print $1}' "$WORK/starts" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
    start_rss=$(awk '{print $2}' "$WORK/starts" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
    echo "== agent start -> ready: $(tr '\n' ' ' <"$WORK/starts")(ms RSS-KiB per start)" >&2
    start_ratio=$(awk -v a="$start_med" -v b="$ip_median" 'BEGIN {printf "%.2f", a / b}')
    start_net=$(awk -v a="$start_med" -v z="$BASE_MS" -v b="$ip_median" 'BEGIN {printf "%.2f", (a - z) / b}')
    per_route=$(awk -v r="$start_rss" -v z="$BASE_RSS" -v n="$routes" 'BEGIN {printf "%.0f", (r - z) * 1024 / n}')
    STARTROWS+=("| $N | $ip_median | $start_med | **${start_ratio}×** | ${start_net}× | $(awk -v k="$start_rss" 'BEGIN {printf "%.1f", k / 1024}') | $per_route | $(awk -v k="$model_kib" -v n="$routes" 'BEGIN {printf "%.0f", k * 1024 / n}') |")

    a_min=$(field agent_min_ms "$mr"); a_med=$(field agent_median_ms "$mr")
    ratio=$(awk -v a="$a_med" -v b="$ip_median" 'BEGIN {printf "%.2f", a / b}')
    ratio_c=$(awk -v a="$c_med" -v b="$ip_median" 'BEGIN {printf "%.2f", a / b}')
    ratio_s=$(awk -v a="$s_med" -v b="$ip_median" 'BEGIN {printf "%.2f", a / b}')
    ROWS+=("| $N | $routes | $ip_min / $ip_median | $a_min / $a_med | **${ratio}×** | $c_med (${ratio_c}×) | $s_med (${ratio_s}×) | $d_med | $r_med | $i_med | $(awk -v k="$model_kib" 'BEGIN {printf "%.1f", k / 1024}') | $(awk -v k="$ip_rss" 'BEGIN {printf "%.1f", k / 1024}') | $(awk -v k="$pw_rss" 'BEGIN {printf "%.1f", k / 1024}') |")

    ip netns del "$NS"
    NS=""
done

echo
echo "kernel $(uname -r), $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), routes $ROUTE_VIA"
echo
echo "| routes added | IPv4 routes dumped | \`ip -4 route show table all\` min / median ms | pathwatch dump → NodeState (agent path: streamed into a pre-sized model) min / median ms | ratio (median) | [Route] → replaceAll median ms | streamed, not pre-sized, median ms | dump + decode only ms | dump only (no decode) ms | NodeState insert only ms | model RSS MiB | ip peak RSS MiB | pathwatch-bench peak RSS MiB |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
echo "agent with no routes: ready in $BASE_MS ms, VmRSS $((BASE_RSS / 1024)) MiB"
echo
echo "| routes added | \`ip -4 route show table all\` median ms | agent start → ready median ms | ratio | ratio without the empty agent's start-up | agent VmRSS at ready MiB | agent bytes/route (RSS over the empty agent) | model bytes/route (pathwatch-bench) |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${STARTROWS[@]}"
