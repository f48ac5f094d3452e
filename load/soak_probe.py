#!/usr/bin/env python3
"""The soak test's probe: once a second, a fresh keep-alive GET of a small file on its
own connection, timed from connect to the last body byte.

  soak_probe.py --port P --seconds N --out FILE.json [--path /probe.txt]

Runs exactly N probes (one per second, on a fixed schedule), then writes FILE.json:
count, max and median latency (ms), probes over SLOW_MS, failures with their times and
causes. A probe that gets no complete 200 within FAIL_AFTER seconds is a failure. Runs
as its own process so the load generator's threads cannot delay it. Stdlib only.
"""

import argparse
import json
import socket
import time

SLOW_MS = 100.0
FAIL_AFTER = 2.0  # seconds
MAX_EXAMPLES = 20


def probe(port, path):
    """Latency in ms of one GET; raises on any failure."""
    t = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=FAIL_AFTER) as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % path).encode())
        buf = b""
        need = None
        while need is None or len(buf) < need:
            if time.perf_counter() - t > FAIL_AFTER:
                raise TimeoutError("no complete response in %.1f s" % FAIL_AFTER)
            data = s.recv(65536)
            if not data:
                raise ConnectionError("closed by the server")
            buf += data
            end = buf.find(b"\r\n\r\n")
            if need is None and end >= 0:
                head = buf[:end].decode("latin-1").split("\r\n")
                if head[0].split(" ")[1:2] != ["200"]:
                    raise ValueError("status line %r" % head[0])
                length = [l.split(":", 1)[1] for l in head[1:] if l.lower().startswith("content-length:")]
                if not length:
                    raise ValueError("no Content-Length")
                need = end + 4 + int(length[0])
    return (time.perf_counter() - t) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--seconds", type=int, required=True)
    ap.add_argument("--path", default="/probe.txt")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    t0 = time.monotonic()
    latencies = []
    slow = []
    failures = []
    for i in range(args.seconds):
        delay = t0 + i - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        try:
            ms = probe(args.port, args.path)
        except (OSError, ValueError, IndexError) as e:
            if len(failures) < MAX_EXAMPLES:
                failures.append("%ds %r" % (i, e))
            latencies.append(None)
            continue
        latencies.append(ms)
        if ms > SLOW_MS and len(slow) < MAX_EXAMPLES:
            slow.append("%ds %.1f ms" % (i, ms))

    ok = sorted(ms for ms in latencies if ms is not None)
    with open(args.out, "w") as f:
        json.dump({
            "probes": len(latencies),
            "failures": sum(ms is None for ms in latencies),
            "failure_examples": failures,
            "over_ms": SLOW_MS,
            "over": sum(1 for ms in ok if ms > SLOW_MS),
            "over_examples": slow,
            "max_ms": round(ok[-1], 2) if ok else None,
            "median_ms": round(ok[len(ok) // 2], 2) if ok else None,
        }, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
