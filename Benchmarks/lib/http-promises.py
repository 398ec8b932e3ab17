"""The promises of docs/http.md, checked from the outside against one HTTP server.

    python3 http-promises.py REMOTE_ADDR PORT MAX_CONNECTIONS IDLE_S HEAD_BYTES HEAD_TIMEOUT_S WRITE_TIMEOUT_S METRICS(0|1)

REMOTE_ADDR is a non-loopback address of the server's host (clients from it count as remote);
127.0.0.1 is the loopback client. Prints one JSON object per promise: {"promise", "kept", "seen"}.
Used by Benchmarks/run-hummingbird-promises.sh, which runs it against Hummingbird and pathwatch
in the same namespace, same run.
"""
import json
import re
import socket
import sys
import time

REMOTE, PORT, MAXCONN, IDLE, HEAD, HEAD_TIMEOUT, WRITE_TIMEOUT, METRICS = sys.argv[1:9]
PORT, MAXCONN, HEAD = int(PORT), int(MAXCONN), int(HEAD)
IDLE, HEAD_TIMEOUT, WRITE_TIMEOUT = float(IDLE), float(HEAD_TIMEOUT), float(WRITE_TIMEOUT)
METRICS = METRICS == "1"
GET = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"


def connect(addr, rcvbuf=None):
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(5)
    s.connect((addr, PORT))
    return s


def read_until_close(s, limit):
    """Everything the server sends until it closes (True) or `limit` seconds pass (False)."""
    data, end = b"", time.monotonic() + limit
    while time.monotonic() < end:
        s.settimeout(max(0.05, end - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def statuses(data):
    return [int(m.group(1)) for m in re.finditer(rb"HTTP/1\.[01] (\d{3})", data)]


def report(promise, kept, seen):
    print(json.dumps({"promise": promise, "kept": kept, "seen": seen}), flush=True)


def over_long_head():
    s = connect("127.0.0.1")
    s.sendall(GET + b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: " + b"a" * (HEAD * 2) + b"\r\n\r\n")
    data, closed = read_until_close(s, 5)
    got = statuses(data)
    report("431 for an over-long head, after the earlier pipelined answer", got == [200, 431] and closed,
           f"statuses {got}, {'closed' if closed else 'left open'}")


def trickled_head():
    s = connect("127.0.0.1")
    start, limit = time.monotonic(), HEAD_TIMEOUT * 3 + 2
    s.sendall(b"GET /healthz HTTP/1.1\r\n")
    data, closed = b"", False
    while time.monotonic() - start < limit and not closed:
        try:
            s.sendall(b"X")
        except OSError:
            closed = True
            break
        more, closed = read_until_close(s, 0.5)
        data += more
    took = time.monotonic() - start
    got = statuses(data)
    kept = got == [408] and closed and took <= HEAD_TIMEOUT + 1.5
    seen = (f"{got or 'no answer'}, closed after {took:.1f} s" if closed
            else f"still open after {took:.1f} s of one byte per 0.5 s, no answer")
    report(f"408 for a head trickled in, within the head deadline ({HEAD_TIMEOUT:g} s)", kept, seen)


def idle_close():
    s = connect("127.0.0.1")
    s.sendall(GET)
    start = time.monotonic()
    data, closed = read_until_close(s, IDLE + 5)
    took = time.monotonic() - start
    kept = closed and IDLE - 1 <= took <= IDLE + 2
    report(f"an idle connection closed after the idle timeout ({IDLE:g} s)", kept,
           f"closed after {took:.1f} s" if closed else f"open after {took:.1f} s")


def connection_limit():
    held = []
    for _ in range(MAXCONN):
        s = connect(REMOTE)
        s.sendall(GET)
        s.settimeout(2)
        s.recv(4096)
        held.append(s)
    extra = connect(REMOTE)
    start = time.monotonic()
    try:
        extra.sendall(GET)
    except OSError:
        pass
    data, closed = read_until_close(extra, 2)
    took = time.monotonic() - start
    refused = closed and not statuses(data)
    report(f"a remote connection beyond {MAXCONN} closed at once", refused and took < 1,
           f"closed after {took:.2f} s, unanswered" if refused
           else (f"answered {statuses(data)}" if statuses(data) else f"neither answered nor closed in {took:.1f} s (waits in the backlog)"))
    probe = connect("127.0.0.1")
    start = time.monotonic()
    probe.sendall(GET)
    data, closed = read_until_close(probe, 2)
    got = statuses(data)
    report("with every slot held, a loopback /healthz is answered (reserve)", got == [200],
           f"{got} after {time.monotonic() - start:.2f} s" if got else "no answer in 2 s")
    for s in held + [extra, probe]:
        s.close()
    time.sleep(0.5)


def write_timeout():
    s = connect("127.0.0.1", rcvbuf=4096)
    s.sendall(b"GET /state HTTP/1.1\r\nHost: t\r\n\r\n")
    start = time.monotonic()
    time.sleep(WRITE_TIMEOUT + 3)  # never read meanwhile
    data, closed = read_until_close(s, 10)
    took = time.monotonic() - start
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length: *(\d+)", head)
    whole = length and len(body) >= int(length.group(1))
    kept = closed and not whole
    report(f"a client that never reads is closed by the write timeout ({WRITE_TIMEOUT:g} s)", kept,
           (f"closed after {len(data)} bytes of the answer (EOF read {took:.1f} s after the request)" if kept
            else f"answer kept for the client: {len(data)} bytes read after {WRITE_TIMEOUT + 3:g} s{', whole' if whole else ''}"))


def body_413():
    s = connect("127.0.0.1")
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello" + GET)
    data, closed = read_until_close(s, 3)
    got = statuses(data)
    report("a request body gets 413 and the connection closed", got == [413] and closed,
           f"statuses {got}, {'closed' if closed else 'left open'}")


def method_405():
    s = connect("127.0.0.1")
    s.sendall(b"DELETE /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    data, _ = read_until_close(s, 3)
    allow = re.search(rb"(?i)\r\nallow: *([^\r]*)", data)
    got = statuses(data)
    report("405 with Allow: GET, HEAD", got == [405] and allow is not None and allow.group(1) == b"GET, HEAD",
           f"statuses {got}, Allow {allow.group(1).decode() if allow else 'missing'}")


def counters():
    if not METRICS:
        report("rejections counted (pathwatch_http_rejections_total{reason})", False, "no counter or hook for these closes")
        return
    s = connect("127.0.0.1")
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    data, _ = read_until_close(s, 5)
    found = dict(re.findall(rb'pathwatch_http_rejections_total\{reason="([a-z_]+)"\} (\d+)', data))
    counts = {k.decode(): int(v) for k, v in found.items()}
    want = ["head_too_large", "head_timeout", "idle_timeout", "connection_limit", "write_timeout", "body_too_large"]
    kept = all(counts.get(k, 0) >= 1 for k in want)
    report("rejections counted (pathwatch_http_rejections_total{reason})", kept, ", ".join(f"{k} {counts.get(k, 0)}" for k in want))


for check in (over_long_head, trickled_head, idle_close, connection_limit, write_timeout, body_413, method_405, counters):
    try:
        check()
    except Exception as error:  # a check that cannot run is a promise not shown kept
        report(check.__name__, False, f"check failed: {error!r}")
