#!/usr/bin/env python3
"""Print bench.sh's final table from its raw result files.

Usage: summarize.py RUNS_TSV [MEMORY_TSV [RESULTS_DIR]]

RUNS_TSV has one row per measured wrk run (see bench.sh for the columns);
every metric is reduced to its median over rounds.  Ratios compare tinyhttpd
with each reference server: req/s ratio > 1 means tinyhttpd is faster,
CPU/req ratio < 1 means tinyhttpd spends less CPU per request.

Scenario 7 runs every server unpinned with two processes where it can;
a server that ran as a single process there (lighttpd) is marked "*".

Scenarios 9 and 10 are rows of the throughput table. Scenarios 8 and 11
(two wrk processes at once: a load and a 1 KiB probe) come from
RESULTS_DIR/dual.tsv, one table each; RESULTS_DIR/encodings.tsv and
coldfirst.tsv add scenario 9's response encodings and tinyhttpd's first
request of a cold variant. Each scenario 8-11 ends with its target line(s)
from the issue, "met" or "NOT met".
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
        med.setdefault("names", {})[(sc, name)] = stats
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


def verdict(ok):
    return "met" if ok else "NOT met"


def ms(us):
    return float(us) / 1000


def dual_tables(rows):
    """Scenarios 8 and 11: medians per (scenario, server label)."""
    groups = {}
    for r in rows:
        groups.setdefault(int(r["scenario"]), {}).setdefault(r["server"], []).append(r)
    med = {}
    for sc in sorted(groups):
        by = groups[sc]
        stats = {}
        for server, rs in by.items():
            def m(key):
                vals = [float(r[key]) for r in rs if r[key] not in ("-", "")]
                return statistics.median(vals) if vals else None
            stats[server] = dict(
                n=len(rs), lrps=m("load_rps"), lmbps=m("load_mbps"),
                prps=m("probe_rps"), p50=ms(m("probe_p50_us")),
                p99=ms(m("probe_p99_us")), pmax=ms(m("probe_max_us")),
                cpu=m("cpu_us_per_req"), cb=m("cached_before_pct"),
                ca=m("cached_after_pct"),
                wraps=max(int(r["wraps"]) if r["wraps"] not in ("-", "") else 0 for r in rs),
                errors=sum(int(r["load_errors"]) + int(r["probe_errors"]) for r in rs))
        med[sc] = stats
        print()
        if sc == 8:
            print("Scenario 8: cold-disk 1 MiB ranges (16 conns) + cached 1 KiB "
                  "probe (4 conns), medians")
            hdr = ("%-16s %6s %10s %10s %11s %11s %10s %10s %14s %7s"
                   % ("server", "rounds", "range MB/s", "range r/s", "1k p99 ms",
                      "1k max ms", "1k req/s", "CPU us/req", "cached% b->a", "errors"))
        else:
            print("Scenario 11: 1 KiB probe (4 conns) while 64 conns request "
                  "distinct not-yet-compressed 100 KiB JS files, medians")
            hdr = ("%-16s %6s %10s %10s %11s %11s %10s %10s %6s %7s"
                   % ("server", "rounds", "js req/s", "js MB/s", "1k p99 ms",
                      "1k max ms", "1k req/s", "CPU us/req", "wraps", "errors"))
        print(hdr)
        print("-" * len(hdr))
        for server in sorted(stats, key=lambda s: (not s.startswith(TINY), s)):
            st = stats[server]
            err = str(st["errors"]) + (" !!" if st["errors"] else "")
            if sc == 8:
                cached = ("%.1f->%.1f" % (st["cb"], st["ca"])
                          if st["cb"] is not None else "-")
                if st["cb"] is not None and st["cb"] > 5:
                    cached += " !!"
                print("%-16s %6d %10.1f %10.0f %11.3f %11.3f %10.0f %10.2f %14s %7s"
                      % (server, st["n"], st["lmbps"], st["lrps"], st["p99"],
                         st["pmax"], st["prps"], st["cpu"], cached, err))
            else:
                wr = str(st["wraps"]) + (" !!" if st["wraps"] else "")
                print("%-16s %6d %10.0f %10.1f %11.3f %11.3f %10.0f %10.2f %6s %7s"
                      % (server, st["n"], st["lrps"], st["lmbps"], st["p99"],
                         st["pmax"], st["prps"], st["cpu"], wr, err))
    return med


def target_lines(med, dual, encodings, coldfirst):
    """The issue's targets for scenarios 8-11, one line each."""
    out = []
    s8 = dual.get(8, {})
    if TINY in s8:
        ref = "nginx-aio" if "nginx-aio" in s8 else None
        if ref:
            t, n = s8[TINY], s8[ref]
            out.append("scenario 8 target: tinyhttpd 1 KiB p99 <= %s's: %.3f vs "
                       "%.3f ms, %s; range MB/s >= %s's: %.1f vs %.1f, %s"
                       % (ref, t["p99"], n["p99"], verdict(t["p99"] <= n["p99"]),
                          ref, t["lmbps"], n["lmbps"], verdict(t["lmbps"] >= n["lmbps"])))
        else:
            out.append("scenario 8 target: n/a (no nginx-aio run)")
    s9 = med.get(9, {})
    enc = {}
    for r in encodings:
        if r["scenario"] == "9":
            enc.setdefault(r["server"], set()).add(r["encoding"].split("=", 1)[-1])
    if enc:
        out.append("scenario 9 encodings: " + ", ".join(
            "%s %s" % (s, "/".join(sorted(e))) for s, e in
            sorted(enc.items(), key=lambda kv: (kv[0] != TINY, kv[0]))))
    if TINY in s9:
        identity = "identity" in enc.get(TINY, set())
        parts = []
        for ref, want in (("nginx", 10.0), ("lighttpd", 1.0)):
            if ref in s9:
                r = s9[TINY]["rps"] / s9[ref]["rps"]
                parts.append("req/s >= %gx %s's: %.2fx, %s"
                             % (want, ref, r, "n/a" if identity else verdict(r >= want)))
        line = "scenario 9 target: " + ("; ".join(parts) or "n/a")
        if identity:
            line += " (tinyhttpd sent identity: not comparable)"
        out.append(line)
    if coldfirst:
        vals = [float(r["ms"]) for r in coldfirst]
        out.append("NOTE: scenario 9: tinyhttpd first request of a cold variant "
                   "(fresh server, Accept-Encoding: br): median %.3f ms over %d, "
                   "Content-Encoding %s"
                   % (statistics.median(vals), len(vals),
                      "/".join(sorted({r["encoding"] for r in coldfirst}))))
    s10 = {name: st for (sc, name), st in med.get("names", {}).items() if sc == 10}
    for name, want_le in sorted(s10.items()):
        st = s10[name]
        if TINY in st and "nginx" in st and st["nginx"]["cpu"]:
            r = st[TINY]["cpu"] / st["nginx"]["cpu"]
            few = name != max(s10, key=lambda k: int(k.rsplit("-", 1)[-1]))
            want = "< nginx's" if few else "<= nginx's"
            ok = r < 1 if few else r <= 1
            out.append("scenario 10 target (%s): CPU us/req %s: ratio %.2f, %s"
                       % (name, want, r, verdict(ok)))
    s11 = dual.get(11, {})
    if TINY in s11:
        if "tinyhttpd-nocomp" in s11:
            r = s11[TINY]["p99"] / s11["tinyhttpd-nocomp"]["p99"]
            out.append("scenario 11 target: tinyhttpd 1 KiB p99 with compression / "
                       "with --no-compress <= 2: %.3f / %.3f ms = %.2f, %s"
                       % (s11[TINY]["p99"], s11["tinyhttpd-nocomp"]["p99"], r,
                          verdict(r <= 2)))
        else:
            out.append("NOTE: scenario 11: no tinyhttpd --no-compress run (flag "
                       "missing), so no ratio; tinyhttpd 1 KiB p99 %.3f ms"
                       % s11[TINY]["p99"])
    return out


def main():
    runs = read_tsv(sys.argv[1])
    mem = read_tsv(sys.argv[2] if len(sys.argv) > 2 else None)
    rdir = sys.argv[3] if len(sys.argv) > 3 else None
    med = runs_table(runs) if runs else {}
    if mem:
        memory_table(mem)
    dual = dual_tables(read_tsv(os.path.join(rdir, "dual.tsv"))) if rdir else {}
    encodings = read_tsv(os.path.join(rdir, "encodings.tsv")) if rdir else []
    coldfirst = read_tsv(os.path.join(rdir, "coldfirst.tsv")) if rdir else []
    print()
    for line in target_lines(med, dual, encodings, coldfirst):
        print(line)
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
