#!/usr/bin/env python3
"""Helpers for load/cluster.sh (python3 stdlib only, loopback only).

  ports N                          N free TCP ports on 127.0.0.1, one a line
  status SOCK                      "server status" for each replica, from HAProxy's stats socket
  wait SOCK SERVER WANT SECS [T0]  poll every 20 ms until SERVER's status is WANT (UP or DOWN);
                                   prints the milliseconds since T0 (ns since the epoch, as
                                   `date +%s%N`; default: now); exit 1 after SECS
  counters SOCK SERVER             "stot=.. econ=.. eresp=.. wretr=.. wredis=.." of one server
  totals SOCK                      "retries redispatches" summed over the replicas
  client PORT N SRC AGENT          N GETs of / through HAProxy at 127.0.0.1:PORT, each on its own
                                   connection bound to source address SRC, with User-Agent AGENT;
                                   prints "ok=N failed=M"
  logcheck AGENT SRC OTHER LOG...  access logs: every line whose User-Agent is AGENT must name
                                   client SRC, every other line client OTHER; prints one line per
                                   log and exit 1 on a wrong address or a log without AGENT
"""

import socket
import sys
import time

BACKEND = "replicas"
POLL_SECONDS = 0.02
SOCKET_TIMEOUT_SECONDS = 2.0


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def admin(sock_path, command):
    """One command on HAProxy's stats socket (non-interactive mode: it closes after answering)."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(SOCKET_TIMEOUT_SECONDS)
        s.connect(sock_path)
        s.sendall(command.encode() + b"\n")
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks).decode()


def servers(sock_path):
    """{server name: row dict} of the backend's servers, from `show stat`."""
    lines = admin(sock_path, "show stat").splitlines()
    header = lines[0].lstrip("# ").split(",")
    rows = {}
    for line in lines[1:]:
        row = dict(zip(header, line.split(",")))
        if row.get("pxname") == BACKEND and row.get("svname") not in ("FRONTEND", "BACKEND"):
            rows[row["svname"]] = row
    return rows


def wait_status(sock_path, server, want, limit, t0_ns):
    start = time.time_ns() if t0_ns is None else t0_ns
    while True:
        status = servers(sock_path)[server]["status"]
        elapsed = (time.time_ns() - start) / 1e9
        if status == want:
            print(int(elapsed * 1000))
            return 0
        if elapsed > limit:
            print(f"timeout: {server} still {status!r} after {limit} s", file=sys.stderr)
            return 1
        time.sleep(POLL_SECONDS)


def client(port, n, src, agent):
    ok = failed = 0
    request = f"GET / HTTP/1.1\r\nHost: cluster\r\nUser-Agent: {agent}\r\nConnection: close\r\n\r\n"
    for _ in range(n):
        try:
            with socket.socket() as s:
                s.settimeout(SOCKET_TIMEOUT_SECONDS)
                s.bind((src, 0))
                s.connect(("127.0.0.1", port))
                s.sendall(request.encode())
                reply = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    reply += chunk
            if reply.startswith(b"HTTP/1.1 200 "):
                ok += 1
            else:
                failed += 1
        except OSError:
            failed += 1
    print(f"ok={ok} failed={failed}")
    return 0 if failed == 0 else 1


def logcheck(agent, src, other, logs):
    bad = 0
    for path in logs:
        probes = others = wrong = 0
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                client_addr = line.split(" ", 1)[0]
                if line.rstrip("\n").split('"')[-2:-1] == [agent]:
                    probes += 1
                    wrong += client_addr != src
                else:
                    others += 1
                    wrong += client_addr != other
        print(f"{path}: {probes} probe lines, {others} other lines, {wrong} with a wrong client")
        bad += wrong + (probes == 0)
    return 0 if bad == 0 else 1


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "ports":
        print("\n".join(map(str, free_ports(int(args[0])))))
        return 0
    if cmd == "status":
        for name, row in servers(args[0]).items():
            print(name, row["status"])
        return 0
    if cmd == "wait":
        t0_ns = int(args[4]) if len(args) > 4 else None
        return wait_status(args[0], args[1], args[2], float(args[3]), t0_ns)
    if cmd == "counters":
        row = servers(args[0])[args[1]]
        print(" ".join(f"{k}={row[k] or 0}" for k in ("stot", "econ", "eresp", "wretr", "wredis")))
        return 0
    if cmd == "totals":
        rows = servers(args[0]).values()
        print(sum(int(r["wretr"] or 0) for r in rows), sum(int(r["wredis"] or 0) for r in rows))
        return 0
    if cmd == "client":
        return client(int(args[0]), int(args[1]), args[2], args[3])
    if cmd == "logcheck":
        return logcheck(args[0], args[1], args[2], args[3:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
