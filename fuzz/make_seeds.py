#!/usr/bin/env python3
"""Writes the seed inputs in seeds/<target>/ (run from fuzz/; the output is committed).

request_parser inputs: 4 control bytes, then the request bytes (see the target's doc).
connection inputs: a count byte n, n control bytes, then the client's bytes.
"""
import os

H = b"Host: example.com\r\n"
REQUESTS = {
    "get_root": b"GET / HTTP/1.1\r\n" + H + b"\r\n",
    "head_10_keepalive": b"HEAD /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "pipelined": b"GET /big.bin HTTP/1.1\r\n" + H + b"\r\nGET /sub HTTP/1.1\r\n" + H
    + b"\r\nOPTIONS * HTTP/1.1\r\n" + H + b"\r\nGET /sub/ HTTP/1.1\r\n" + H
    + b"Connection: close\r\n\r\n",
    "chunked_body": b"POST /a.txt HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
    b"5;ext=\"v\"\r\nhello\r\n0\r\nX-Trailer: y\r\n\r\nGET /link.txt HTTP/1.1\r\n" + H + b"\r\n",
    "length_body": b"PUT /a HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n\r\nhello"
    b"GET /hello%20world.txt?q=1 HTTP/1.1\r\n" + H + b"\r\n",
    "bare_lf": b"GET / HTTP/1.1\n" + b"Host: x\n\n",
    "cl_and_te": b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "traversal": b"GET /sub/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\n" + H + b"\r\n",
    "absolute_form": b"GET http://example.com:8080/sub?x=1 HTTP/1.1\r\n" + H + b"\r\n",
    "version_2": b"GET / HTTP/2.0\r\n" + H + b"\r\n",
    "expect_continue": b"POST /a.txt HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\nContent-Length: 4\r\n\r\nbody",
    "partial_head": b"GET /index.html HTTP/1.1\r\nHost: exa",
    "empty_lines_first": b"\r\n\r\nGET /.secret HTTP/1.1\r\n" + H + b"\r\nDELETE /escape/passwd HTTP/1.1\r\n" + H + b"\r\n",
    "tls_hello": bytes.fromhex("16030100a5010000a10303") + b"\x00" * 8,
    "connect": b"CONNECT example.com:443 HTTP/1.1\r\n" + H + b"\r\n",
    "ranges": b"GET /big.bin HTTP/1.1\r\n" + H + b"Range: bytes=0-99,-50,200-\r\n\r\n"
    b"HEAD /a.txt HTTP/1.1\r\n" + H + b"Range: bytes=2-5\r\n\r\n"
    b"GET /a.txt HTTP/1.1\r\n" + H + b"Range: bytes=999-\r\n\r\n",
    "conditional": b"GET /a.txt HTTP/1.1\r\n" + H + b"If-None-Match: *\r\n\r\n"
    b"GET /big.bin HTTP/1.1\r\n" + H + b"If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
    b"If-Range: \"x\"\r\nRange: bytes=1-2\r\n\r\n"
    b"GET /index.html HTTP/1.1\r\n" + H + b"If-Match: \"nope\"\r\n\r\n",
    "accept_encoding": b"GET /a.txt HTTP/1.1\r\n" + H + b"Accept-Encoding: gzip;q=0.5, br\r\n\r\n"
    b"GET /big.bin HTTP/1.1\r\n" + H + b"Accept-Encoding: x-gzip, *;q=0\r\nRange: bytes=0-9\r\n\r\n",
}

def write(target, name, data):
    d = os.path.join("seeds", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

for name, req in REQUESTS.items():
    write("request_parser", name, b"\x00\x00\x00\x00" + req)  # 8 KiB limit, 1-byte reads
    write("connection", name, b"\x00" + req)  # one read
# Other splits and limits.
write("request_parser", "small_limit_reads_7", b"\x41\x06\x06\x06" + REQUESTS["pipelined"])
write("request_parser", "body_limit_16", b"\x08\x1f\x03\x0a" + REQUESTS["chunked_body"])
write("connection", "bytewise", b"\x01\x00" + REQUESTS["chunked_body"])
write("connection", "reads_with_deadlines", b"\x02\x07\x87" + REQUESTS["pipelined"])
write("connection", "timeout_mid_head", b"\x01\xbf" + REQUESTS["partial_head"])
