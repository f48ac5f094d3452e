#!/usr/bin/env python3
"""Page-cache control for bench.sh scenario 8 (python3 stdlib only).

  pagecache.py evict FILE      fsync FILE, then POSIX_FADV_DONTNEED on all of
                               it, so the next reads come from the disk
  pagecache.py evict-loop FILE SECONDS INTERVAL
                               evict FILE every INTERVAL seconds for SECONDS
                               seconds, so it stays cold while a run reads
                               it (a fast disk, or a VM disk cached by the
                               host, would otherwise have it all cached
                               within a second)
  pagecache.py resident FILE   print the percentage of FILE's pages in the
                               page cache (fincore from util-linux when it
                               is installed, else mincore(2) through ctypes)

Only clean pages can be dropped, hence the fsync (bench.sh also runs sync).
On tmpfs nothing can be evicted: the file is its page cache.
"""

import ctypes
import ctypes.util
import mmap
import os
import shutil
import subprocess
import sys


def evict(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def resident_fincore(path):
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "--raw",
                          "--output", "RES,SIZE", path],
                         capture_output=True, text=True, check=True).stdout.split()
    res, size = int(out[0]), int(out[1])
    return 100.0 * res / size if size else 0.0


def resident_mincore(path):
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                          ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    size = os.path.getsize(path)
    if size == 0:
        return 0.0
    page = mmap.PAGESIZE
    pages = (size + page - 1) // page
    fd = os.open(path, os.O_RDONLY)
    try:
        addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            raise OSError(ctypes.get_errno(), "mmap")
        try:
            vec = (ctypes.c_ubyte * pages)()
            if libc.mincore(addr, size, vec) != 0:
                raise OSError(ctypes.get_errno(), "mincore")
            resident = sum(1 for v in bytes(vec) if v & 1)
        finally:
            libc.munmap(addr, size)
    finally:
        os.close(fd)
    return 100.0 * resident / pages


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("evict", "evict-loop", "resident"):
        sys.exit(__doc__)
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "evict":
        evict(path)
    elif cmd == "evict-loop":
        import time
        end = time.monotonic() + float(sys.argv[3])
        interval = float(sys.argv[4])
        while time.monotonic() < end:
            evict(path)
            time.sleep(interval)
    elif shutil.which("fincore"):
        print("%.1f" % resident_fincore(path))
    else:
        print("%.1f" % resident_mincore(path))


if __name__ == "__main__":
    main()
