#!/usr/bin/env python3
"""Open many idle HTTP/1.1 keep-alive connections and hold them open.

Each connection sends one GET, reads the whole response (headers plus
Content-Length body), and then stays open and idle.  Used by bench.sh to
measure the server's memory per idle connection.

Protocol on stdout/stdin (line based, so a shell coprocess can drive it):
  stdout: "opened ok=N failed=M"  once every connection is done or failed
  stdout: "ready"                 right after, connections now idle
  stdin:  "check"                 -> stdout "alive N" (connections the server
                                     has not closed yet)
  stdin:  EOF, or SIGTERM/SIGINT  -> close everything and exit
Progress and errors go to stderr.  Stdlib only.
"""

import argparse
import errno
import resource
import selectors
import signal
import socket
import sys
import time


def raise_nofile_limit():
    """Raise the soft fd limit to the hard limit; we need one fd per conn."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Conn:
    """One client connection moving through connect -> send -> read."""

    __slots__ = ("sock", "out", "buf", "need")

    def __init__(self, sock, request):
        self.sock = sock
        self.out = request
        self.buf = b""
        self.need = None  # total bytes (headers + body) once headers are parsed

    def response_complete(self):
        """True once a full response is buffered; raises on a bad response."""
        if self.need is None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return False
            head = self.buf[:end].decode("latin-1").split("\r\n")
            status = head[0].split(" ", 2)
            if len(status) < 2 or not status[1].startswith("2"):
                raise ValueError("bad status line: %r" % head[0])
            length = None
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if length is None:
                raise ValueError("response without Content-Length")
            self.need = end + 4 + length
        return len(self.buf) >= self.need


def open_batch(host, port, request, count, timeout):
    """Open `count` connections concurrently; return (open socks, failures)."""
    sel = selectors.DefaultSelector()
    pending = 0
    failed = 0
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex((host, port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            failed += 1
            continue
        sel.register(s, selectors.EVENT_WRITE, Conn(s, request))
        pending += 1

    done = []
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for key, events in sel.select(timeout=0.5):
            c = key.data
            try:
                if events & selectors.EVENT_WRITE:
                    err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, "connect failed")
                    sent = c.sock.send(c.out)
                    c.out = c.out[sent:]
                    if not c.out:
                        sel.modify(c.sock, selectors.EVENT_READ, c)
                    continue
                data = c.sock.recv(65536)
                if not data:
                    raise OSError("closed before full response")
                c.buf += data
                if not c.response_complete():
                    continue
                if len(c.buf) > c.need:
                    raise ValueError("extra bytes after response")
                sel.unregister(c.sock)
                c.buf = b""
                done.append(c.sock)
                pending -= 1
            except (OSError, ValueError) as e:
                print("idle_conns: %s" % e, file=sys.stderr)
                sel.unregister(c.sock)
                c.sock.close()
                failed += 1
                pending -= 1
    # Whatever is still pending after the deadline counts as failed.
    for key in list(sel.get_map().values()):
        key.fileobj.close()
        failed += 1
    sel.close()
    return done, failed


def count_alive(socks):
    """Connections with nothing readable (no EOF/RST from the server)."""
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    readable = len(sel.select(timeout=0))
    sel.close()
    return len(socks) - readable


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/1k.bin")
    ap.add_argument("-n", "--count", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=500,
                    help="connections opened concurrently (stay under the "
                         "server's listen backlog)")
    ap.add_argument("--timeout", type=float, default=30.0,
                    help="seconds allowed per batch")
    args = ap.parse_args()

    limit = raise_nofile_limit()
    if args.count + 16 > limit:
        print("idle_conns: fd limit %d too low for %d connections"
              % (limit, args.count), file=sys.stderr)
        return 1

    # Exit the stdin wait cleanly on SIGTERM/SIGINT so the finally block runs.
    def on_signal(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    request = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n"
               % (args.path, args.host, args.port)).encode()
    socks = []
    failed = 0
    try:
        t0 = time.monotonic()
        while len(socks) + failed < args.count:
            n = min(args.batch, args.count - len(socks) - failed)
            opened, bad = open_batch(args.host, args.port, request, n,
                                     args.timeout)
            socks += opened
            failed += bad
        print("idle_conns: %d open, %d failed in %.1fs"
              % (len(socks), failed, time.monotonic() - t0), file=sys.stderr)
        print("opened ok=%d failed=%d" % (len(socks), failed), flush=True)
        print("ready", flush=True)
        for line in sys.stdin:
            if line.strip() == "check":
                print("alive %d" % count_alive(socks), flush=True)
    finally:
        for s in socks:
            s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
