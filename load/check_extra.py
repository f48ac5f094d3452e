#!/usr/bin/env python3
"""Scenario-specific sanity checks for bench.sh scenarios 8-11.

Usage: check_extra.py HOST PORT ROOT KIND LABEL

KIND is one of:
  range  GET /cold/big.bin with "Range: bytes=1048576-2097151": 206 and
         exactly that MiB of the file
  js     GET /js/app.js with "Accept-Encoding: gzip, br": the body must
         decode (gzip with python's gzip module, br with the brotli command)
         to the file. An identity response is an error for nginx and
         lighttpd; for tinyhttpd it prints a NOTE (it does not compress yet)
         and needs the plain file. Also GET without Accept-Encoding: the
         plain file. Prints "encoding=gzip|br|identity" on stdout.
  many   GET the first and the last of /many/dXX/fNNNNN.bin: the files

Exits non-zero with a message on a failed check.
"""

import gzip
import http.client
import os
import shutil
import subprocess
import sys


def get(host, port, path, headers=None):
    c = http.client.HTTPConnection(host, port, timeout=10)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r, body


def read_file(root, path, start=0, length=None):
    with open(os.path.join(root, path.lstrip("/")), "rb") as f:
        f.seek(start)
        return f.read() if length is None else f.read(length)


def check_range(host, port, root):
    path, start, n = "/cold/big.bin", 1 << 20, 1 << 20
    r, body = get(host, port, path, {"Range": "bytes=%d-%d" % (start, start + n - 1)})
    if r.status != 206 or body != read_file(root, path, start, n):
        sys.exit("GET %s (range): status %d, %d bytes (want 206, %d bytes)"
                 % (path, r.status, len(body), n))


def check_js(host, port, root, label):
    path = "/js/app.js"
    want = read_file(root, path)
    r, body = get(host, port, path)
    if r.status != 200 or body != want:
        sys.exit("GET %s: status %d, %d bytes (want 200, %d bytes)"
                 % (path, r.status, len(body), len(want)))
    r, body = get(host, port, path, {"Accept-Encoding": "gzip, br"})
    if r.status != 200:
        sys.exit("GET %s (gzip, br): status %d" % (path, r.status))
    enc = (r.getheader("Content-Encoding") or "identity").strip().lower()
    if enc == "identity":
        if not label.startswith("tinyhttpd"):
            sys.exit("GET %s (gzip, br): %s sent no Content-Encoding" % (path, label))
        print("NOTE: %s served %s uncompressed (identity) to Accept-Encoding: "
              "gzip, br; it does not compress yet" % (label, path), file=sys.stderr)
        plain = body
    elif enc == "gzip":
        plain = gzip.decompress(body)
    elif enc == "br":
        if not shutil.which("brotli"):
            sys.exit("GET %s: Content-Encoding br but no brotli command to "
                     "decode it (apt-get install brotli)" % path)
        plain = subprocess.run(["brotli", "-d", "-c"], input=body,
                               capture_output=True, check=True).stdout
    else:
        sys.exit("GET %s: unexpected Content-Encoding %r" % (path, enc))
    if plain != want:
        sys.exit("GET %s (%s): decodes to %d bytes that differ from the file "
                 "(%d bytes)" % (path, enc, len(plain), len(want)))
    print("encoding=%s wire_bytes=%d" % (enc, len(body)))


def check_many(host, port, root):
    base = os.path.join(root, "many")
    dirs = sorted(d for d in os.listdir(base) if d.startswith("d"))
    count = sum(len(os.listdir(os.path.join(base, d))) for d in dirs)
    for i in (0, count - 1):
        path = "/many/d%02d/f%05d.bin" % (i % len(dirs), i)
        want = read_file(root, path)
        r, body = get(host, port, path)
        if r.status != 200 or body != want:
            sys.exit("GET %s: status %d, %d bytes (want 200, %d bytes)"
                     % (path, r.status, len(body), len(want)))


def main():
    host, port, root, kind, label = sys.argv[1:6]
    port = int(port)
    if kind == "range":
        check_range(host, port, root)
    elif kind == "js":
        check_js(host, port, root, label)
    elif kind == "many":
        check_many(host, port, root)
    else:
        sys.exit("unknown check " + kind)


if __name__ == "__main__":
    main()
