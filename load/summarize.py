#!/usr/bin/env python3
"""Print bench.sh's final table from its raw result files.

Usage: summarize.py RUNS_TSV [MEMORY_TSV]

RUNS_TSV has one row per measured wrk run (see bench.sh for the columns);
every metric is reduced to its median over rounds.  Ratios compare tinyhttpd
with each reference server: req/s ratio > 1 means tinyhttpd is faster,
CPU/req ratio < 1 means tinyhttpd spends less CPU per request.

Scenario 7 runs every server unpinned with two processes where it can;
a server that ran as a single process there (lighttpd) is marked "*".
"""

import csv
import os
import statistics
import sys

TINY = "tinyhttpd"
# Scenarios meant to run the servers with more than one process.
MULTI_PROCESS = {7}


def read_tsv(path):
    if not path or not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def ratio(a, b):
    return "%.2f" % (a / b) if a is not None and b else "-"


def runs_table(rows):
    # (scenario, name) -> server -> list of rows, in first-seen order.
    groups = {}
    for r in rows:
        groups.setdefault((int(r["scenario"]), r["name"]), {}) \
              .setdefault(r["server"], []).append(r)

    med = {}
    hdr = ("%-22s %-9s %6s %11s %9s %9s %9s %10s %7s %9s %9s"
           % ("scenario", "server", "rounds", "req/s", "MB/s", "p50 ms",
              "p99 ms", "CPU us/req", "errors", "rps ratio", "cpu ratio"))
    print("Throughput (median over rounds; ratios are tinyhttpd / that server)")
    print(hdr)
    print("-" * len(hdr))
    single = []
    for (sc, name), by_server in sorted(groups.items()):
        stats = {}
        for server, rs in by_server.items():
            def m(key):
                return statistics.median(float(r[key]) for r in rs)
            errors = sum(int(r[k]) for r in rs for k in
                         ("err_connect", "err_read", "err_write",
                          "err_timeout", "non2xx"))
            # Server processes at the end of the run (older files lack it).
            procs = max(int(r.get("procs") or 0) for r in rs)
            stats[server] = dict(n=len(rs), rps=m("rps"), mbps=m("mbps"),
                                 p50=m("p50_us") / 1000, p99=m("p99_us") / 1000,
                                 cpu=m("cpu_us_per_req"), errors=errors,
                                 procs=procs)
        med[sc] = stats
        tiny = stats.get(TINY)
        order = sorted(stats, key=lambda s: (s != TINY, s))
        for i, server in enumerate(order):
            st = stats[server]
            rps_r = cpu_r = ""
            if tiny and server != TINY:
                rps_r = ratio(tiny["rps"], st["rps"])
                cpu_r = ratio(tiny["cpu"], st["cpu"])
            err = str(st["errors"]) + (" !!" if st["errors"] else "")
            label = "%d %s" % (sc, name) if i == 0 else ""
            shown = server
            if sc in MULTI_PROCESS and st["procs"] == 1:
                shown += "*"
                single.append((sc, server))
            print("%-22s %-9s %6d %11.0f %9.1f %9.3f %9.3f %10.2f %7s %9s %9s"
                  % (label, shown, st["n"], st["rps"], st["mbps"], st["p50"],
                     st["p99"], st["cpu"], err, rps_r, cpu_r))
    for sc, server in single:
        print("* scenario %d: %s ran as a single process, so it could use at "
              "most one core" % (sc, server))
    return med


def memory_table(rows):
    print()
    print("Scenario 6: memory of idle keep-alive connections (VmRSS, all "
          "server processes)")
    hdr = ("%-9s %14s %13s %8s %8s %8s %10s %9s"
           % ("server", "RSS before kB", "RSS after kB", "opened", "failed",
              "alive", "bytes/conn", "ratio"))
    print(hdr)
    print("-" * len(hdr))
    per = {r["server"]: float(r["bytes_per_conn"]) for r in rows}
    tiny = per.get(TINY)
    for r in sorted(rows, key=lambda r: (r["server"] != TINY, r["server"])):
        flag = ""
        if r["failed"] != "0" or r["alive"] != r["opened"]:
            flag = " !!"
        rat = ratio(tiny, per[r["server"]]) if r["server"] != TINY else ""
        print("%-9s %14s %13s %8s %8s %8s %10s %9s%s"
              % (r["server"], r["rss_before_kb"], r["rss_after_kb"],
                 r["opened"], r["failed"], r["alive"] or "?",
                 r["bytes_per_conn"], rat, flag))


def main():
    runs = read_tsv(sys.argv[1])
    mem = read_tsv(sys.argv[2] if len(sys.argv) > 2 else None)
    med = runs_table(runs) if runs else {}
    if mem:
        memory_table(mem)
    print()
    # Scenario 7's ratio first: the scenario 1 line stays the last line.
    s7 = med.get(7, {})
    if TINY in s7 and "nginx" in s7:
        print("tinyhttpd/nginx req/s ratio, 2 workers (scenario 7): %s"
              % ratio(s7[TINY]["rps"], s7["nginx"]["rps"]))
    s1 = med.get(1, {})
    if TINY in s1 and "nginx" in s1:
        print("tinyhttpd/nginx req/s ratio: %s" % ratio(s1[TINY]["rps"],
                                                        s1["nginx"]["rps"]))
    else:
        print("tinyhttpd/nginx req/s ratio: n/a (scenario 1 not measured "
              "for both servers)")


if __name__ == "__main__":
    main()
