#!/usr/bin/env python3
"""Mixed soak traffic for tinyhttpd at a steady rate, and the server's RSS/fd samples.

Used by soak.sh. Two modes:
  soak_load.py --make-root DIR
      writes the document root the traffic expects (see make_root) and exits.
  soak_load.py --port P --pid PID --seconds N --rate R --out DIR
      runs every client kind below against 127.0.0.1:P for N seconds, samples the
      server (VmRSS, smaps_rollup, open fds by kind) every SAMPLE_EVERY seconds,
      then closes every client, waits for the server's sockets to go back to the
      starting count (at most SETTLE_MAX seconds), and writes DIR/samples.tsv and
      DIR/load.json for soak_report.py.

Client kinds (each a thread; all bounded by the deadline, all on 127.0.0.1):
  keepalive   persistent connections, one request at a time from MENU
  pipelined   persistent connections, PIPELINE_DEPTH requests from MENU per write
  close       a new connection per request, `Connection: close`, EOF expected after it
  malformed   a new connection per request: bad framing, bad paths, garbage bytes
  abandoned   connect and vanish, half a head then close (or reset), a download
              closed after a few KiB, a pipelined batch never read
  slow        a head one byte at a time, slower than --head-timeout (408 expected) or
              just fast enough (200 expected); a download not read for longer than
              --send-timeout (the server must drop it)

"Errors" are unexpected statuses (any kind) and connection errors on the kinds that
send only valid traffic (keepalive, pipelined, close). Stdlib only.
"""

import argparse
import json
import os
import random
import select
import socket
import struct
import threading
import time

HOST = "127.0.0.1"
SAMPLE_EVERY = 10.0  # seconds between server samples
SETTLE_MIN = 3.0  # seconds to wait after the clients leave before checking fds
SETTLE_MAX = 15.0  # seconds at most to wait for the sockets to go back
IO_TIMEOUT = 5.0  # seconds any single socket operation may take
PIPELINE_DEPTH = 8
# Files under /s/: more than the server's FILE_CACHE_ENTRIES (1024), so the cache fills and
# cycles; --small-files changes it (the same value for --make-root and the run).
SMALL_FILES = 1500
MAX_EXAMPLES = 20  # error details kept per category

# Fixed files of the document root: name -> size in bytes.
FIXED = {
    "probe.txt": 64,
    "index.html": 1024,
    "1k.bin": 1024,
    "20k.bin": 20 * 1024,  # above the server's 16 KiB inline limit: sendfile
    "256k.bin": 256 * 1024,
    "1m.bin": 1024 * 1024,
    "a.css": 4096,
    # Larger than the server's socket send buffer can grow to (tcp_wmem max, 4 MiB by
    # default), so a client that stops reading it really stalls the server's send.
    "8m.bin": 8 * 1024 * 1024,
}


def small_size(i):
    return 200 + (i * 37) % 1800


def make_root(root):
    os.makedirs(os.path.join(root, "s"), exist_ok=True)
    rnd = random.Random(8)
    for name, size in FIXED.items():
        with open(os.path.join(root, name), "wb") as f:
            f.write(rnd.randbytes(size))
    # A precompressed variant, served for Accept-Encoding: gzip (content is not checked).
    with open(os.path.join(root, "a.css.gz"), "wb") as f:
        f.write(rnd.randbytes(1500))
    for i in range(SMALL_FILES):
        with open(os.path.join(root, "s", "%04d.txt" % i), "wb") as f:
            f.write(b"x" * small_size(i))


class Stats:
    """Counters shared by every client thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.responses = 0
        self.by_kind = {}
        self.statuses = {}
        self.errors = {"unexpected_status": 0, "conn_error_valid": 0, "other": 0}
        self.examples = {k: [] for k in self.errors}

    def response(self, kind, status):
        with self.lock:
            self.responses += 1
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
            key = "%s %s" % (kind, status)
            self.statuses[key] = self.statuses.get(key, 0) + 1

    def attempt(self, kind):
        """An exchange that by design ends without a response (abandoned clients)."""
        with self.lock:
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1

    def error(self, category, detail):
        with self.lock:
            self.errors[category] += 1
            if len(self.examples[category]) < MAX_EXAMPLES:
                self.examples[category].append("%.1fs %s" % (time.monotonic() - START, detail))


START = time.monotonic()
STATS = Stats()
ETAGS = {}  # path -> ETag seen in a 200 response


class ProtocolError(Exception):
    pass


class Client:
    """One connection and a reader of HTTP/1.1 responses on it."""

    def __init__(self, port, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(IO_TIMEOUT)
        self.sock.connect((HOST, port))
        self.buf = bytearray()

    def close(self, reset=False):
        if reset:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def _fill(self):
        data = self.sock.recv(262144)
        if not data:
            raise ConnectionError("closed by the server")
        self.buf += data

    def read_response(self, head_only=False):
        """(status, headers, body length); the body is read and discarded."""
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(self.buf) > 65536:
                raise ProtocolError("response head over 64 KiB")
            self._fill()
        lines = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        del self.buf[: end + 4]
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError("bad status line %r" % lines[0])
        status = int(parts[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = 0
        if not head_only and status != 304:
            if "content-length" not in headers:
                raise ProtocolError("%d without Content-Length" % status)
            length = int(headers["content-length"])
        remaining = length
        while remaining:
            if not self.buf:
                self._fill()
            take = min(remaining, len(self.buf))
            del self.buf[:take]
            remaining -= take
        return status, headers, length

    def read_eof(self):
        """True if the server closes (EOF or reset) within IO_TIMEOUT and sends nothing more."""
        try:
            data = self.sock.recv(4096)
        except ConnectionResetError:
            return True
        return not data and not self.buf


def request(method, path, headers=()):
    head = "%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, path, HOST)
    for h in headers:
        head += h + "\r\n"
    return (head + "\r\n").encode()


# --- the request menu of the valid-traffic clients ----------------------------------
# Each item: () -> (request bytes, method, expected status, expected body length or None,
# path whose ETag to remember or None).

def item_small():
    i = random.randrange(SMALL_FILES)
    path = "/s/%04d.txt" % i
    return request("GET", path), "GET", 200, small_size(i), path


def item_small_304():
    path = "/s/%04d.txt" % random.randrange(SMALL_FILES)
    etag = ETAGS.get(path)
    if etag is None:
        return request("GET", path), "GET", 200, None, path
    return request("GET", path, ["If-None-Match: " + etag]), "GET", 304, 0, None


def item_fixed(name):
    return lambda: (request("GET", "/" + name), "GET", 200, FIXED[name], "/" + name)


def item_304(name):
    def make():
        etag = ETAGS["/" + name]
        return request("GET", "/" + name, ["If-None-Match: " + etag]), "GET", 304, 0, None
    return make


def item_304_stale():
    return request("GET", "/1k.bin", ['If-None-Match: "0-0-0"']), "GET", 200, 1024, None


def item_head():
    return request("HEAD", "/20k.bin"), "HEAD", 200, None, None


def item_range():
    start = random.randrange(0, 20 * 1024 - 200)
    h = "Range: bytes=%d-%d" % (start, start + 99)
    return request("GET", "/20k.bin", [h]), "GET", 206, 100, None


def item_suffix_range():
    return request("GET", "/1m.bin", ["Range: bytes=-500"]), "GET", 206, 500, None


def item_multirange():
    h = "Range: bytes=0-9,100-199,%d-" % random.randrange(1000, 20000)
    return request("GET", "/20k.bin", [h]), "GET", 206, None, None


def item_416():
    return request("GET", "/1k.bin", ["Range: bytes=5000-6000"]), "GET", 416, None, None


def item_404():
    return request("GET", "/missing/%d.txt" % random.randrange(100000)), "GET", 404, None, None


def item_dir_403():
    return request("GET", "/s/"), "GET", 403, None, None


def item_dir_301():
    return request("GET", "/s"), "GET", 301, None, None


def item_gzip():
    return request("GET", "/a.css", ["Accept-Encoding: gzip"]), "GET", 200, 1500, None


MENU = [
    (40, item_small),
    (8, item_small_304),
    (6, item_fixed("1k.bin")),
    (4, item_fixed("index.html")),
    (4, item_fixed("20k.bin")),
    (1, item_fixed("256k.bin")),
    (0.3, item_fixed("1m.bin")),
    (6, item_304("1k.bin")),
    (3, item_304("20k.bin")),
    (2, item_304_stale),
    (3, item_head),
    (5, item_range),
    (2, item_suffix_range),
    (4, item_multirange),
    (1, item_416),
    (6, item_404),
    (1, item_dir_403),
    (1, item_dir_301),
    (2, item_gzip),
]
MENU_ITEMS = [make for _, make in MENU]
MENU_WEIGHTS = [w for w, _ in MENU]


def pick():
    return random.choices(MENU_ITEMS, MENU_WEIGHTS)[0]()


def check(kind, want, got, method):
    """Counts a response; an unexpected status or length is an error."""
    raw, _, status, length, remember = want
    got_status, headers, got_length = got
    STATS.response(kind, got_status)
    line = raw.split(b"\r\n", 1)[0].decode("latin-1")
    if got_status != status:
        STATS.error("unexpected_status", "%s: %r -> %d, wanted %d" % (kind, line, got_status, status))
    elif length is not None and method != "HEAD" and got_length != length:
        STATS.error("unexpected_status", "%s: %r -> length %d, wanted %d" % (kind, line, got_length, length))
    elif status == 206 and length is None and not headers.get("content-type", "").startswith("multipart/byteranges"):
        STATS.error("unexpected_status", "%s: %r -> 206 not multipart" % (kind, line))
    elif remember and "etag" in headers:
        ETAGS[remember] = headers["etag"]


class Pacer:
    """Spaces events `1/rate` apart; after a stall it restarts instead of bursting."""

    def __init__(self, rate, deadline, stop):
        self.interval = 1.0 / rate if rate > 0 else None
        self.deadline = deadline
        self.stop = stop
        self.next = time.monotonic() + random.random() * (self.interval or 0)

    def wait(self):
        if self.interval is None or self.stop.is_set():
            return False
        now = time.monotonic()
        if self.next < now - 0.5:
            self.next = now
        if self.next >= self.deadline:
            return False
        if self.next > now:
            time.sleep(self.next - now)
        self.next += self.interval
        return not self.stop.is_set()


def valid_client(kind, port, pacer, depth):
    """keepalive (depth 1) and pipelined (depth > 1) clients; reconnect after an error."""
    client = None
    try:
        while pacer.wait():
            try:
                if client is None:
                    client = Client(port)
                batch = [pick() for _ in range(depth)]
                client.sock.sendall(b"".join(item[0] for item in batch))
                for item in batch:
                    check(kind, item, client.read_response(item[1] == "HEAD"), item[1])
            except (OSError, ProtocolError, ValueError) as e:
                STATS.error("conn_error_valid", "%s: %r" % (kind, e))
                if client:
                    client.close()
                client = None
    finally:
        if client:
            client.close()


def close_client(port, pacer):
    while pacer.wait():
        client = None
        try:
            client = Client(port)
            item = item_small()
            client.sock.sendall(item[0].replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
            check("close", item, client.read_response(), "GET")
            if not client.read_eof():
                STATS.error("unexpected_status", "close: no EOF after Connection: close")
        except (OSError, ProtocolError, ValueError) as e:
            STATS.error("conn_error_valid", "close: %r" % e)
        finally:
            if client:
                client.close()


MALFORMED = [
    ("bare LF", b"GET /1k.bin HTTP/1.1\nHost: x\n\n", {400}),
    ("two Content-Length", b"GET /1k.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", {400}),
    ("CL and TE", b"POST /1k.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", {400}),
    ("no Host", b"GET /1k.bin HTTP/1.1\r\n\r\n", {400}),
    ("space before colon", b"GET /1k.bin HTTP/1.1\r\nHost : x\r\n\r\n", {400}),
    ("CL +5", b"POST /1k.bin HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", {400}),
    # RFC 9112 §6.3: a Transfer-Encoding whose final coding is not chunked is 400.
    ("TE gzip", b"POST /1k.bin HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", {400}),
    ("dot-dot", b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", {400}),
    ("encoded dot-dot", b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", {400}),
    ("NUL in path", b"GET /1k%00.bin HTTP/1.1\r\nHost: x\r\n\r\n", {400}),
    ("relative path", b"GET 1k.bin HTTP/1.1\r\nHost: x\r\n\r\n", {400}),
    ("bad percent", b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", {400}),
    ("long URI", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", {414}),
    ("big head", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: " + b"b" * 9000 + b"\r\n\r\n", {431}),
    ("HTTP/2.0", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", {505}),
    # Well framed, so 501 keeps the connection open (RFC 9110 §9.1): ask for the close.
    ("lowercase method", b"get / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {501}),
    ("two Range", b"GET /1k.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\nRange: bytes=0-1\r\n\r\n", {400}),
    ("TLS hello", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", {400}),
    ("garbage", None, {400}),  # NUL then random bytes, made per request
]


def malformed_client(port, pacer):
    while pacer.wait():
        name, raw, want = random.choice(MALFORMED)
        if raw is None:
            raw = b"\x00" + random.randbytes(random.randrange(1, 2000))
        client = None
        try:
            client = Client(port)
            client.sock.sendall(raw)
            status, _, _ = client.read_response()
            STATS.response("malformed", status)
            if status not in want:
                STATS.error("unexpected_status", "malformed %s -> %d, wanted %s" % (name, status, sorted(want)))
            elif not client.read_eof():
                STATS.error("unexpected_status", "malformed %s: connection not closed" % name)
        except (OSError, ProtocolError, ValueError) as e:
            # A reset after the response is allowed; no response at all is not.
            STATS.error("other", "malformed %s: %r" % (name, e))
        finally:
            if client:
                client.close()


def abandoned_client(port, pacer):
    modes = ["connect-close", "half-head", "half-head-reset", "mid-download", "mid-download-reset", "unread-pipeline"]
    while pacer.wait():
        mode = random.choice(modes)
        client = None
        try:
            client = Client(port, rcvbuf=16384 if mode.startswith("mid") else None)
            if mode.startswith("half-head"):
                client.sock.sendall(b"GET /1k.bin HTTP/1.1\r\nHo")
            elif mode.startswith("mid-download"):
                client.sock.sendall(request("GET", "/1m.bin"))
                got = 0
                want = random.randrange(1, 64) * 1024
                while got < want:
                    data = client.sock.recv(16384)
                    if not data:
                        break
                    got += len(data)
            elif mode == "unread-pipeline":
                client.sock.sendall(b"".join(pick()[0] for _ in range(PIPELINE_DEPTH)))
            STATS.attempt("abandoned")
        except OSError as e:
            STATS.error("other", "abandoned %s: %r" % (mode, e))
        finally:
            if client:
                client.close(reset=mode.endswith("reset"))


def slow_client(port, deadline, stop, head_timeout, send_timeout):
    """Back to back: slow heads (too slow and just fast enough) and stalled readers."""
    head = request("GET", "/probe.txt", ["X-Slow: 1"])
    while not stop.is_set() and time.monotonic() < deadline - 1:
        mode = random.choice(["too-slow", "slow-ok", "stalled-reader"])
        client = None
        try:
            client = Client(port, rcvbuf=4096 if mode == "stalled-reader" else None)
            if mode == "stalled-reader":
                client.sock.sendall(request("GET", "/8m.bin"))
                time.sleep(send_timeout + 2.0)
                total = 0
                try:
                    while True:
                        data = client.sock.recv(262144)
                        if not data:
                            break
                        total += len(data)
                except ConnectionResetError:
                    pass
                STATS.attempt("slow")
                if total >= FIXED["8m.bin"]:
                    STATS.error("unexpected_status", "slow stalled-reader: got the whole body, wanted a drop")
                continue
            # The whole head takes 2.5x the timeout, or a third of it.
            factor = 2.5 if mode == "too-slow" else 0.33
            gap = head_timeout * factor / len(head)
            for i in range(len(head)):
                try:
                    client.sock.send(head[i : i + 1])
                except (BrokenPipeError, ConnectionResetError):
                    break
                if select.select([client.sock], [], [], gap)[0]:
                    break  # answered (408) before the head was complete
            status = client.read_response()[0]
            STATS.response("slow", status)
            want = 408 if mode == "too-slow" else 200
            if status != want:
                STATS.error("unexpected_status", "slow %s -> %d, wanted %d" % (mode, status, want))
        except (OSError, ProtocolError, ValueError) as e:
            STATS.error("other", "slow %s: %r" % (mode, e))
        finally:
            if client:
                client.close()


# --- sampling the server ----------------------------------------------------------

def read_kib(path, field):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def fd_kinds(pid):
    """(all, sockets, regular files, other) open fds of `pid`."""
    base = "/proc/%d/fd" % pid
    sockets = files = other = 0
    for name in os.listdir(base):
        try:
            target = os.readlink(os.path.join(base, name))
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:"):
            sockets += 1
        elif target.startswith("/"):
            files += 1
        else:
            other += 1
    return sockets + files + other, sockets, files, other


def sample(pid, t0):
    total, sockets, files, other = fd_kinds(pid)
    return {
        "t": round(time.monotonic() - t0, 1),
        "rss_kib": read_kib("/proc/%d/status" % pid, "VmRSS"),
        "anon_kib": read_kib("/proc/%d/smaps_rollup" % pid, "Anonymous"),
        "fds": total,
        "sockets": sockets,
        "files": files,
        "other_fds": other,
        "requests": STATS.responses,
    }


def sampler(pid, t0, deadline, stop, rows):
    next_at = t0
    while not stop.is_set() and next_at <= deadline + 0.01:
        delay = next_at - time.monotonic()
        if delay > 0 and stop.wait(delay):
            break
        rows.append(sample(pid, t0))
        next_at += SAMPLE_EVERY


def preflight(port):
    """Learns the fixed files' ETags; fails loudly if the server does not serve them."""
    client = Client(port)
    try:
        for name, size in FIXED.items():
            client.sock.sendall(request("GET", "/" + name))
            status, headers, length = client.read_response()
            if status != 200 or length != size or "etag" not in headers:
                raise SystemExit("soak_load: preflight GET /%s -> %d, %d bytes" % (name, status, length))
            ETAGS["/" + name] = headers["etag"]
    finally:
        client.close()


def run(args):
    preflight(args.port)
    pid = args.pid
    stop = threading.Event()
    t0 = time.monotonic()
    deadline = t0 + args.seconds
    rows = []
    r = args.rate
    threads = [threading.Thread(target=sampler, args=(pid, t0, deadline, stop, rows))]
    # Share of the request rate per kind; pipelined counts each request of a batch.
    for _ in range(4):
        threads.append(threading.Thread(target=valid_client, args=("keepalive", args.port, Pacer(r * 0.50 / 4, deadline, stop), 1)))
    for _ in range(2):
        threads.append(threading.Thread(target=valid_client, args=("pipelined", args.port, Pacer(r * 0.25 / 2 / PIPELINE_DEPTH, deadline, stop), PIPELINE_DEPTH)))
    for _ in range(2):
        threads.append(threading.Thread(target=close_client, args=(args.port, Pacer(r * 0.10 / 2, deadline, stop))))
    threads.append(threading.Thread(target=malformed_client, args=(args.port, Pacer(r * 0.10, deadline, stop))))
    threads.append(threading.Thread(target=abandoned_client, args=(args.port, Pacer(r * 0.05, deadline, stop))))
    for _ in range(args.slow):
        threads.append(threading.Thread(target=slow_client, args=(args.port, deadline, stop, args.head_timeout, args.send_timeout)))
    for t in threads:
        t.daemon = True
        t.start()
    try:
        while time.monotonic() < deadline and any(t.is_alive() for t in threads[1:]):
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    stop.set()
    # Every client leaves: threads close their sockets as they return (bounded by IO_TIMEOUT
    # and the stalled readers' send timeout).
    for t in threads:
        t.join(timeout=args.send_timeout + 2 * IO_TIMEOUT)
    stragglers = sum(t.is_alive() for t in threads)
    ended = time.monotonic()

    start_sockets = rows[0]["sockets"] if rows else -1
    time.sleep(SETTLE_MIN)
    final = sample(pid, t0)
    while final["sockets"] != start_sockets and time.monotonic() - ended < SETTLE_MAX:
        time.sleep(0.5)
        final = sample(pid, t0)
    final["settled_after"] = round(time.monotonic() - ended, 1)

    with open(os.path.join(args.out, "samples.tsv"), "w") as f:
        cols = ["t", "rss_kib", "anon_kib", "fds", "sockets", "files", "other_fds", "requests"]
        f.write("\t".join(cols) + "\n")
        for row in rows:
            f.write("\t".join(str(row[c]) for c in cols) + "\n")
    with open(os.path.join(args.out, "load.json"), "w") as f:
        json.dump({
            "seconds": args.seconds,
            "rate": args.rate,
            "responses": STATS.responses,
            "by_kind": STATS.by_kind,
            "statuses": STATS.statuses,
            "errors": STATS.errors,
            "examples": STATS.examples,
            "final": final,
            "stragglers": stragglers,
        }, f, indent=1)


def main():
    global SMALL_FILES
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--make-root", metavar="DIR")
    ap.add_argument("--port", type=int)
    ap.add_argument("--pid", type=int, help="server process to sample")
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--rate", type=float, default=800, help="requests per second, all kinds")
    ap.add_argument("--slow", type=int, default=4, help="concurrent slow clients")
    ap.add_argument("--head-timeout", type=float, default=2, help="the server's --head-timeout")
    ap.add_argument("--send-timeout", type=float, default=3, help="the server's --send-timeout")
    ap.add_argument("--out", metavar="DIR", help="where samples.tsv and load.json go")
    ap.add_argument("--small-files", type=int, default=SMALL_FILES, help="files under /s/")
    args = ap.parse_args()
    SMALL_FILES = max(1, args.small_files)
    if args.make_root:
        make_root(args.make_root)
        return 0
    if not (args.port and args.pid and args.out):
        ap.error("--port, --pid and --out are required")
    run(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
