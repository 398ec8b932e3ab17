#!/usr/bin/env bash
# Socket sampling benchmark: pathwatch's TCP socket sample (sock_diag dump of established IPv4
# and IPv6 sockets with tcp_info, decoded and aggregated per path class) against
# `ss -tin > /dev/null`, on the same sockets, in the same run.
#
#   sudo Benchmarks/run-socket-sampling.sh                # 1k, 10k, 100k connections
#   sudo Benchmarks/run-socket-sampling.sh 5000 50000     # other sizes
#   REPEAT=20 sudo Benchmarks/run-socket-sampling.sh
#
# N connections are 2N established sockets (both ends live on the namespace's loopback). Each
# size gets its own throwaway network namespace (deleted on exit, whatever happens); the root
# namespace is never touched. Needs root, iproute2 (ss), swift.
set -euo pipefail

cd "$(dirname "$0")/.."
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000 10000 100000)
REPEAT=${REPEAT:-10}

[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)" >&2; exit 1; }
command -v ss >/dev/null || { echo "ss (iproute2) is needed" >&2; exit 1; }

echo "building pathwatch-bench (release, scratch path .build-bench)..." >&2
swift build -c release --scratch-path .build-bench --product pathwatch-bench >&2
BENCH=$PWD/.build-bench/release/pathwatch-bench

NS=""
cleanup() { if [ -n "$NS" ]; then ip netns del "$NS" 2>/dev/null || true; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "kernel $(uname -r), $(nproc) CPUs, $(ss -V)"
first=1
for n in "${SIZES[@]}"; do
    NS="pwbs-$$-$n"
    ip netns add "$NS"
    ip netns exec "$NS" ip link set lo up
    ip netns exec "$NS" sysctl -q -w net.ipv4.ip_local_port_range="1024 59999" net.core.somaxconn=4096
    out=$(ip netns exec "$NS" "$BENCH" socket-sampling --sockets "$n" --repeat "$REPEAT")
    echo "$out" | head -1 >&2
    if [ $first = 1 ]; then echo "$out" | sed -n 2p; echo "|---|---|---|---|---|---|"; first=0; fi
    echo "$out" | sed -n 3p
    ip netns del "$NS"
    NS=""
done
