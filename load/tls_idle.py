#!/usr/bin/env python3
"""Server memory per idle TLS keep-alive connection: open N TLS connections to PORT, one
request each, keep them open, and divide the growth of process PID's RSS by N.
Usage: tls_idle.py PORT PID N CA_PEM. Loopback only."""
import socket
import ssl
import sys
import time

port, pid, n, ca = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
WARM_CONNS = 50


def rss():
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


ctx = ssl.create_default_context(cafile=ca)
conns = []


def open_one():
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
    s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
    s.recv(4096)
    conns.append(s)


for _ in range(WARM_CONNS):
    open_one()
time.sleep(0.5)
before = rss()
for _ in range(n):
    open_one()
time.sleep(1)
print(round((rss() - before) / n))
