#!/usr/bin/env python3
"""The soak test's report and verdict, from soak_load.py's and soak_probe.py's files.

  soak_report.py DIR [--warmup S] [--max-slope KIB_PER_MIN] [--access-log FILE]

Reads DIR/samples.tsv, DIR/load.json, DIR/probe.json, DIR/smaps_start.txt and
DIR/smaps_end.txt (the last two optional), prints the report and exits 1 on FAIL.
Stdlib only.
"""

import argparse
import json
import os

# The server's open-file cache keeps each entry's file open, and its precompressed variants
# (.br, .gz): at most FILE_CACHE_ENTRIES (1024) entries of 3 files.
CACHED_FILES_MAX = 3 * 1024


def slope_per_min(points):
    """Least-squares slope of (seconds, KiB) points, in KiB per minute."""
    n = len(points)
    if n < 2:
        return None
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    sxx = sum((t - mx) ** 2 for t, _ in points)
    if sxx == 0:
        return None
    sxy = sum((t - mx) * (v - my) for t, v in points)
    return sxy / sxx * 60


def rollup(path):
    """smaps_rollup fields in KiB, or {} if the file is missing."""
    fields = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[2] == "kB":
                    fields[parts[0].rstrip(":")] = int(parts[1])
    return fields


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--warmup", type=float, default=60, help="seconds left out of the RSS slope")
    ap.add_argument("--max-slope", type=float, default=32, help="KiB/min of RSS growth that fails")
    ap.add_argument("--access-log", help="the server's access log, to count its lines")
    ap.add_argument("--server-alive", default="yes", help="'no' if the server died during the run")
    args = ap.parse_args()

    with open(os.path.join(args.dir, "samples.tsv")) as f:
        lines = f.read().split("\n")
    cols = lines[0].split("\t")
    rows = [dict(zip(cols, map(float, line.split("\t")))) for line in lines[1:] if line]
    with open(os.path.join(args.dir, "load.json")) as f:
        load = json.load(f)
    try:
        with open(os.path.join(args.dir, "probe.json")) as f:
            probe = json.load(f)
    except OSError:
        probe = None
    final = load["final"]

    print("== soak: %d s at %g req/s ==" % (load["seconds"], load["rate"]))
    print("%7s %9s %9s %6s %8s %6s %10s" % ("t (s)", "RSS KiB", "anon KiB", "fds", "sockets", "files", "requests"))
    for r in rows:
        print("%7.0f %9d %9d %6d %8d %6d %10d" % (r["t"], r["rss_kib"], r["anon_kib"], r["fds"], r["sockets"], r["files"], r["requests"]))
    print("%7s %9d %9d %6d %8d %6d %10d   (after the clients left, +%.1f s)" % (
        "end", final["rss_kib"], final["anon_kib"], final["fds"], final["sockets"], final["files"],
        final["requests"], final["settled_after"]))

    steady = [(r["t"], r["rss_kib"]) for r in rows if r["t"] >= args.warmup]
    slope = slope_per_min(steady)
    anon_slope = slope_per_min([(r["t"], r["anon_kib"]) for r in rows if r["t"] >= args.warmup])
    print()
    if slope is None:
        print("RSS slope after %.0f s: n/a (fewer than 2 samples after the warm-up)" % args.warmup)
    else:
        print("RSS slope after %.0f s: %+.1f KiB/min (anonymous memory: %+.1f KiB/min), over %d samples"
              % (args.warmup, slope, anon_slope, len(steady)))
    start = rows[0] if rows else None
    if start:
        peak = max(rows + [final], key=lambda r: r["fds"])
        peak_sockets = max(r["sockets"] for r in rows + [final])
        print("fds: start %d / peak %d / end %d; sockets: start %d / peak %d / end %d;"
              " regular files: start %d / end %d (the difference is the open-file cache)"
              % (start["fds"], peak["fds"], final["fds"], start["sockets"], peak_sockets,
                 final["sockets"], start["files"], final["files"]))
    s0, s1 = rollup(os.path.join(args.dir, "smaps_start.txt")), rollup(os.path.join(args.dir, "smaps_end.txt"))
    if s0 and s1:
        print("smaps_rollup start -> end: Rss %d -> %d KiB, Anonymous %d -> %d KiB, file-backed %d -> %d KiB"
              % (s0["Rss"], s1["Rss"], s0["Anonymous"], s1["Anonymous"],
                 s0["Rss"] - s0["Anonymous"], s1["Rss"] - s1["Anonymous"]))

    errors = load["errors"]
    print()
    print("responses: %d; by kind: %s" % (load["responses"], ", ".join(
        "%s %d" % kv for kv in sorted(load["by_kind"].items()))))
    print("statuses: %s" % ", ".join("%s: %d" % kv for kv in sorted(load["statuses"].items())))
    if args.access_log and os.path.exists(args.access_log):
        with open(args.access_log, "rb") as f:
            print("access log: %d lines" % sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b"")))
    print("errors: unexpected statuses %d, connection errors on valid-traffic clients %d, other %d"
          % (errors["unexpected_status"], errors["conn_error_valid"], errors["other"]))
    for category, examples in load["examples"].items():
        for e in examples:
            print("  %s: %s" % (category, e))
    if probe:
        print("probe: %d probes, %d failed, max %s ms, median %s ms, %d over %g ms"
              % (probe["probes"], probe["failures"], probe["max_ms"], probe["median_ms"],
                 probe["over"], probe["over_ms"]))
        for e in probe["failure_examples"] + probe["over_examples"]:
            print("  probe: %s" % e)

    reasons = []
    if args.server_alive != "yes":
        reasons.append("the server died")
    if errors["unexpected_status"] or errors["conn_error_valid"] or errors["other"]:
        reasons.append("%d errors" % sum(errors.values()))
    if probe is None:
        reasons.append("no probe results")
    elif probe["failures"] or probe["over"]:
        reasons.append("probe: %d failed, %d over %g ms" % (probe["failures"], probe["over"], probe["over_ms"]))
    if start and final["sockets"] != start["sockets"]:
        reasons.append("open sockets did not return to %d (%d after %.1f s)"
                       % (start["sockets"], final["sockets"], final["settled_after"]))
    if start and final["files"] - start["files"] > CACHED_FILES_MAX:
        reasons.append("%d more open files than at the start (the cache holds at most %d)"
                       % (final["files"] - start["files"], CACHED_FILES_MAX))
    if slope is not None and slope > args.max_slope:
        reasons.append("RSS grows %.1f KiB/min after the warm-up (limit %g)" % (slope, args.max_slope))
    if load["stragglers"]:
        reasons.append("%d client threads did not stop" % load["stragglers"])
    print()
    if reasons:
        print("VERDICT: FAIL: " + "; ".join(reasons))
        return 1
    print("VERDICT: PASS: no errors, every probe under %g ms, sockets back to %d, RSS slope %s"
          % (probe["over_ms"], start["sockets"],
             "n/a" if slope is None else "%+.1f KiB/min (limit %g)" % (slope, args.max_slope)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
