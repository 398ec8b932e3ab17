# shellcheck shell=bash
# Shared by Benchmarks/run-scrape-vs-node-exporter.sh, Benchmarks/run-resource-bounds.sh and
# scripts/soak (sourced, not run): throwaway namespaces, the release agent started in one of them,
# and /proc readings of processes by PID.
#
# Why a library: the three scripts must clean up the same way (every namespace they created is
# deleted and every process they started is killed by PID, also on Ctrl-C or an error) and must
# read RSS, CPU and fd counts the same way, or their numbers could not be compared.
#
# The caller sets `set -euo pipefail` and calls `pw_init PREFIX` first; it installs the EXIT trap.

PW_NAMESPACES=()
PW_PIDS=()
PW_WORK=""
PW_PREFIX=""

# pw_ours PID: true while PID is still a child of this script (not exited and reused by
# another process), so a signal never reaches anything the script did not start.
pw_ours() { [ -r "/proc/$1/stat" ] && [ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $2}')" = "$$" ]; }

pw_cleanup() {
    local pid ns
    # Processes first (newest first), so nothing keeps using a namespace that is being deleted.
    for ((i = ${#PW_PIDS[@]} - 1; i >= 0; i--)); do
        pid=${PW_PIDS[$i]}
        if pw_ours "$pid"; then kill "$pid" 2>/dev/null || true; fi
    done
    for pid in "${PW_PIDS[@]}"; do
        for _ in $(seq 50); do pw_ours "$pid" || break; sleep 0.1; done
        if pw_ours "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
    for ns in "${PW_NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    if [ -n "$PW_WORK" ] && [ -z "${PW_KEEP_WORK:-}" ]; then rm -rf "$PW_WORK"; fi
}

# pw_init PREFIX: root check, work directory, traps. Namespaces are named PREFIX-<pid>-<label>.
pw_init() {
    [ "$(id -u)" = 0 ] || { echo "run as root (network namespaces, conntrack)" >&2; exit 1; }
    PW_PREFIX="$1-$$"
    PW_WORK=$(mktemp -d "/tmp/$1.XXXXXX")
    trap pw_cleanup EXIT
    trap 'exit 130' INT TERM
}

# pw_track PID: the cleanup kills it.
pw_track() { PW_PIDS+=("$1"); }

# pw_untrack PID: stopped by the caller already.
pw_untrack() {
    local keep=() p
    for p in "${PW_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    PW_PIDS=("${keep[@]}")
}

# pw_ns_var VAR LABEL: creates the namespace PREFIX-LABEL with lo up, registers it for deletion
# and stores its name in VAR (not printed: a command substitution runs in a subshell, which could
# not add it to the cleanup list).
pw_ns_var() {
    local var=$1 label=$2 name
    name="${PW_PREFIX}-${label}"
    name=${name:0:30}
    ip netns add "$name"
    PW_NAMESPACES+=("$name")
    ip -n "$name" link set lo up
    printf -v "$var" '%s' "$name"
}

# pw_veth_pair NS_A NS_B IFNAME ADDR_A ADDR_B: a veth named IFNAME in both namespaces, up, with
# ADDR_A/ADDR_B (CIDR) on each end: the node and its peer of the idle and profile scripts.
pw_veth_pair() {
    local a=$1 b=$2 name=$3
    ip -n "$a" link add "$name" type veth peer name "$name" netns "$b"
    ip -n "$a" addr add "$4" dev "$name"
    ip -n "$b" addr add "$5" dev "$name"
    ip -n "$a" link set "$name" up
    ip -n "$b" link set "$name" up
}

# pw_activate_conntrack NS: conntrack stays off in a namespace until a rule uses it.
pw_activate_conntrack() {
    ip netns exec "$1" nft -f - <<'EOF'
table inet pwbench {
    chain out { type filter hook output priority 0; ct state new counter; }
    chain pre { type filter hook prerouting priority 0; ct state new counter; }
}
EOF
}

# pw_build: the release agent (and pathwatch-bench), scratch path .build-bench as the other
# benchmarks use, so an incremental build is all it costs after the first time. PATHWATCH=FILE
# uses an agent built already instead (e.g. .build/debug/pathwatch: bytes and behaviour are the
# same, CPU figures are not release figures) and builds nothing.
pw_build() {
    if [ -n "${PATHWATCH:-}" ]; then
        PW_AGENT=$(realpath "$PATHWATCH")
        return 0
    fi
    echo "building pathwatch and pathwatch-bench (release, scratch path .build-bench)..." >&2
    swift build -c release --scratch-path .build-bench --product pathwatch >&2
    swift build -c release --scratch-path .build-bench --product pathwatch-bench >&2
    PW_AGENT=$PWD/.build-bench/release/pathwatch
    # shellcheck disable=SC2034 # for the callers
    PW_BENCH=$PWD/.build-bench/release/pathwatch-bench
}

# pw_start_agent NS PORT [CONFIG_YAML]: starts the agent in NS listening on 127.0.0.1:PORT, waits
# for /readyz, sets PW_AGENT_PID. `ip netns exec` execs the agent, so the PID is the agent's own.
pw_start_agent() {
    local ns=$1 port=$2 config=${3:-}
    local dir=$PW_WORK/agent-$ns
    mkdir -p "$dir"
    printf '%s\n' "$config" >"$dir/config.yaml"
    ip netns exec "$ns" "$PW_AGENT" run --config "$dir/config.yaml" --listen "127.0.0.1:$port" \
        --log-format json --control-socket "$dir/control.sock" >"$dir/agent.log" 2>&1 &
    PW_AGENT_PID=$!
    pw_track "$PW_AGENT_PID"
    for _ in $(seq 300); do
        if ip netns exec "$ns" curl -s -m 1 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" 2>/dev/null | grep -q 200; then
            return 0
        fi
        kill -0 "$PW_AGENT_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "the agent did not become ready; its log:" >&2
    cat "$dir/agent.log" >&2
    exit 1
}

# pw_agent_log NS: path of the agent's log.
pw_agent_log() { echo "$PW_WORK/agent-$1/agent.log"; }

# /proc readings of one PID. KiB for memory, clock ticks for CPU.
pw_rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
pw_hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
pw_fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
pw_threads() { awk '/^Threads:/ {print $2}' "/proc/$1/status"; }
# utime + stime in clock ticks: fields 14 and 15 of /proc/PID/stat, counted after the `)` that
# ends the command name (which may contain spaces).
pw_cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
# shellcheck disable=SC2034 # for the callers
PW_HZ=$(getconf CLK_TCK)

# pw_median: median of the numbers on stdin (one per line).
pw_median() { sort -n | awk '{v[NR] = $1} END {if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# pw_percentile P: the P-th percentile (nearest rank) of the numbers on stdin.
pw_percentile() { sort -n | awk -v p="$1" '{v[NR] = $1} END {if (NR == 0) {print 0; exit} r = int(p / 100 * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR; print v[r]}'; }
