#!/usr/bin/env bash
# Which promises of docs/http.md Hummingbird 2.28.1 keeps with its own settings, measured beside
# pathwatch's endpoint in the same namespace and the same run (issue 16 item 5: "if a measurement
# shows a library cannot keep a promise, name it").
#
#   sudo Benchmarks/run-hummingbird-promises.sh                    # builds both (release), ~2 min after the builds
#   sudo PATHWATCH=.build/debug/pathwatch Benchmarks/run-hummingbird-promises.sh   # an agent already built
#
# Hummingbird is a separate package (Benchmarks/hummingbird-promises), so the agent's build never
# pays for it: a server with `idleTimeout`, `MaximumAvailableConnections`, the decoder's header
# limit, a middleware answering 405 with `Allow` and 413 for a body, nothing of ours in front.
# Both servers get the same limits (4 connections, 10 s idle, 16 KiB heads; pathwatch also its
# 3 s head deadline and 3 s write timeout, which Hummingbird has no setting for) and listen on
# 0.0.0.0 in one throwaway namespace with a veth pair (both ends inside, 10.99.0.1 on one): a
# client from that address is remote, one from 127.0.0.1 is loopback. 65,536 routes on the veth make pathwatch's
# /state about 10 MB, larger than the socket buffers, for the write-timeout check (Hummingbird's
# /state is 8 MiB of filler). Benchmarks/lib/http-promises.py does the checks; this prints the
# table promise x {Hummingbird, pathwatch}.
#
# The namespace `pwhb-<pid>-*` is deleted and every process started is killed by PID on exit.
set -euo pipefail
{
cd "$(dirname "$0")/.."
# shellcheck source=Benchmarks/lib/agent.sh
. Benchmarks/lib/agent.sh
pw_init pwhb
MAXCONN=4 IDLE=10 HEAD=16384 HEAD_TIMEOUT=3 WRITE_TIMEOUT=3
HB_PORT=19481 PW_PORT=19482

echo "building Benchmarks/hummingbird-promises (release)..." >&2
swift build -c release --package-path Benchmarks/hummingbird-promises >&2
HB=$PWD/Benchmarks/hummingbird-promises/.build/release/hummingbird-promises
pw_build

pw_ns_var NS promises
ip -n "$NS" link add veth0 type veth peer name veth1
ip -n "$NS" addr add 10.99.0.1/16 dev veth0
ip -n "$NS" link set veth0 up
ip -n "$NS" link set veth1 up
for ((i = 0; i < 4096; i++)); do echo "route add 10.100.$((i / 256)).$((i % 256))/32 dev veth0"; done \
    | ip -n "$NS" -batch -
# Small TCP buffers in this namespace only, so a 500 kB answer already outgrows them.
ip netns exec "$NS" sysctl -qw net.ipv4.tcp_wmem="4096 16384 65536" net.ipv4.tcp_rmem="4096 16384 65536"

ip netns exec "$NS" "$HB" "$HB_PORT" "$MAXCONN" "$IDLE" "$HEAD" >"$PW_WORK/hummingbird.log" 2>&1 &
pw_track $!
# Started here, not by pw_start_agent: it listens on 0.0.0.0 (the connection-limit check needs a
# remote address) and a debug agent on a loaded machine may take longer than 30 s to be ready.
mkdir -p "$PW_WORK/agent"
cat >"$PW_WORK/agent/config.yaml" <<YAML
http:
  maxConnections: $MAXCONN
  idleTimeoutSeconds: $IDLE
  maxRequestHeadBytes: $HEAD
  requestHeadTimeoutSeconds: $HEAD_TIMEOUT
  writeTimeoutSeconds: $WRITE_TIMEOUT
YAML
ip netns exec "$NS" "$PW_AGENT" run --config "$PW_WORK/agent/config.yaml" --listen "0.0.0.0:$PW_PORT" \
    --log-format json --control-socket "$PW_WORK/agent/control.sock" >"$PW_WORK/agent/agent.log" 2>&1 &
pw_track $!
ready=""
for _ in $(seq 1200); do
    if [ "$(ip netns exec "$NS" curl -s -m 1 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PW_PORT/readyz")" = 200 ] \
        && ip netns exec "$NS" curl -s -m 1 -o /dev/null "http://127.0.0.1:$HB_PORT/healthz"; then
        ready=1
        break
    fi
    sleep 0.1
done
[ -n "$ready" ] || { echo "not ready in 120 s; the agent's log:" >&2; cat "$PW_WORK/agent/agent.log" >&2; exit 1; }

check() { ip netns exec "$NS" python3 Benchmarks/lib/http-promises.py 10.99.0.1 "$1" "$MAXCONN" "$IDLE" "$HEAD" "$HEAD_TIMEOUT" "$WRITE_TIMEOUT" "$2"; }
echo "checking Hummingbird 2.28.1..." >&2
check "$HB_PORT" 0 >"$PW_WORK/hb.jsonl"
echo "checking pathwatch..." >&2
check "$PW_PORT" 1 >"$PW_WORK/pw.jsonl"

python3 - "$PW_WORK/hb.jsonl" "$PW_WORK/pw.jsonl" <<'PY'
import json, sys
hb = [json.loads(l) for l in open(sys.argv[1])]
pw = [json.loads(l) for l in open(sys.argv[2])]
def cell(r): return ("kept" if r["kept"] else "**not kept**") + ": " + r["seen"]
print("| promise (docs/http.md) | Hummingbird 2.28.1, its settings | pathwatch |")
print("|---|---|---|")
for a, b in zip(hb, pw):
    print(f"| {a['promise']} | {cell(a)} | {cell(b)} |")
PY
}
