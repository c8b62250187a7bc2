#!/usr/bin/env python3
"""Summarises a benchmark run's raw results (JSON lines) as tables.

    report.py RESULTS.jsonl [--markdown]

For every workload metric and proxy: the median over rounds, the min-max
spread, and the median's ratio to direct (no proxy) and to each competitor.
A proxy within 10% of direct (or above it) is marked ~load-bound: the
load generator's core, not the proxy, set that number. A ratio is always THIS / OTHER, so for req/s and MiB/s above 1 means this
proxy is faster, for latency and memory below 1 means it is better.
The cpu column is the median number of cores the proxy used while measured:
~1.00 in a closed-loop cell means it saturated its one core, as it should;
much less means the load side was the limit or something else took the core.
The "per proxy CPU-second" rows divide each cell's rate by the cores
its proxy used: the efficiency comparison, fair also when a proxy did not
saturate its core (direct has no proxy and no such row).
The other column is the worst (max over rounds) number of cores used by
processes that are not the benchmark's while a cell ran: ~0 on a quiet machine.
--markdown prints one compact table (the README's) instead.
"""
import json
import statistics
import sys
from collections import defaultdict

# (workload, field, label, unit scale, higher_is_better)
METRICS = [
    ("http1_small", "rps", "HTTP/1.1 small, req/s", 1, True),
    ("http1_64k", "rps", "HTTP/1.1 64 KiB, req/s", 1, True),
    ("h2c", "rps", "h2c 16x16 streams, req/s", 1, True),
    ("grpc", "rps", "gRPC unary 16x16, req/s", 1, True),
    ("latency", "p50_ms", "latency @2k req/s, p50 ms", 1, False),
    ("latency", "p99_ms", "latency @2k req/s, p99 ms", 1, False),
    ("http1_small", "rps_per_cpu", "HTTP/1.1 small, req per proxy CPU-second", 1, True),
    ("h2c", "rps_per_cpu", "h2c 16x16, req per proxy CPU-second", 1, True),
    ("grpc", "rps_per_cpu", "gRPC unary, req per proxy CPU-second", 1, True),
    ("tcp_opaque", "mib_s", "L4 relay, sniffing off, MiB/s", 1, True),
    ("tcp_mongo", "mib_s", "L4 relay, MongoDB sniffed, MiB/s", 1, True),
    ("tcp_opaque", "mib_s_per_cpu", "L4 relay, sniffing off, MiB per proxy CPU-second", 1, True),
    ("tcp_mongo", "mib_s_per_cpu", "L4 relay, MongoDB sniffed, MiB per proxy CPU-second", 1, True),
    ("idle_mem", "kib_per_conn", "idle connection, KiB each", 1, False),
    ("http1_small", "rss_peak_kib", "RSS under HTTP/1.1 small load, MiB", 1 / 1024, False),
    ("http1_64k", "rss_peak_kib", "RSS under HTTP/1.1 64 KiB load, MiB", 1 / 1024, False),
    ("h2c", "rss_peak_kib", "RSS under h2c load, MiB", 1 / 1024, False),
    ("grpc", "rss_peak_kib", "RSS under gRPC load, MiB", 1 / 1024, False),
]
ORDER = ["direct", "periscope", "haproxy", "nginx", "envoy"]
COMPETITORS = ["haproxy", "nginx", "envoy"]


def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return "%.0f" % v
    if abs(v) >= 100:
        return "%.1f" % v
    return "%.2f" % v


def load(path):
    rows = defaultdict(list)   # (workload, field, proxy) -> values
    errors = defaultdict(int)  # (workload, proxy) -> error count over rounds
    sniffed = defaultdict(list)
    cpu = defaultdict(list)    # (workload, proxy) -> cores used while measured
    other = defaultdict(list)  # (workload, proxy) -> cores others used meanwhile
    loads = []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            for field in {m[1] for m in METRICS}:
                if field in r:
                    rows[(r["workload"], field, r["proxy"])].append(r[field])
            errors[(r["workload"], r["proxy"])] += r.get("errors", 0)
            if "mongodb_messages_parsed" in r:
                sniffed[r["workload"]].append(r["mongodb_messages_parsed"])
            if "other_cpu" in r:
                other[(r["workload"], r["proxy"])].append(r["other_cpu"])
            if "proxy_cpu" in r:
                cpu[(r["workload"], r["proxy"])].append(r["proxy_cpu"])
                # What a proxy serves per core-second it burns: the issue's
                # "the same per proxy CPU-second", fair when a proxy did not
                # saturate its core.
                for rate in ("rps", "mib_s"):
                    if r.get(rate) and r["proxy_cpu"] > 0:
                        rows[(r["workload"], rate + "_per_cpu", r["proxy"])].append(
                            r[rate] / r["proxy_cpu"])
            loads.append(r.get("load1", 0))
    return rows, errors, sniffed, loads, cpu, other


def summaries(rows):
    out = []
    for w, field, label, scale, higher in METRICS:
        per = {}
        for p in ORDER:
            vals = rows.get((w, field, p))
            if vals:
                vals = [v * scale for v in vals]
                per[p] = (statistics.median(vals), min(vals), max(vals), len(vals))
        if per:
            out.append((w, field, label, higher, per))
    return out


def text(rows, errors, sniffed, loads, cpu, other):
    for w, field, label, higher, per in summaries(rows):
        others = [p for p in ["direct"] + COMPETITORS if p in per]
        print("\n%s   (%s is better; ratio = row / column)" % (label, "higher" if higher else "lower"))
        head = "  %-10s %10s %21s  n  cpu other" % ("proxy", "median", "min-max")
        head += "".join(" %10s" % ("vs " + o) for o in others)
        print(head)
        for p in ORDER:
            if p not in per:
                continue
            med, lo, hi, n = per[p]
            c, o = cpu.get((w, p)), other.get((w, p))
            line = "  %-10s %10s %21s %2d %4s %5s" % (
                p, fmt(med), fmt(lo) + "-" + fmt(hi), n,
                "%.2f" % statistics.median(c) if c else "", "%.2f" % max(o) if o else "")
            for o in others:
                line += " %10s" % ("" if o == p or not per[o][0] else "%.2f" % (med / per[o][0]))
            if errors.get((w, p)) and field != "rss_peak_kib":
                line += "   (%d errors)" % errors[(w, p)]
            if higher and p != "direct" and "direct" in per and med >= 0.9 * per["direct"][0]:
                line += "   (~load-bound)"
            print(line)
    for w, counts in sorted(sniffed.items()):
        print("\nPeriscope MongoDB messages parsed per run in %s: %s" % (w, counts))
    allo = [v for vals in other.values() for v in vals]
    if allo:
        noisy = sum(1 for v in allo if v > 0.1)
        print("\nOther processes on the machine: %d of %d cells saw more than 0.1 cores of "
              "foreign CPU (max %.2f). Those cells' numbers are suspect; rerun when quiet."
              % (noisy, len(allo), max(allo)))


def markdown(rows, errors):
    procs = [p for p in ORDER if any(k[2] == p for k in rows)]
    print("| workload | " + " | ".join(procs) + " | Periscope / best competitor |")
    print("|---|" + "---|" * len(procs) + "---|")
    for w, field, label, higher, per in summaries(rows):
        cells = []
        for p in procs:
            if p in per:
                med, lo, hi, _ = per[p]
                cells.append("%s (%s–%s)" % (fmt(med), fmt(lo), fmt(hi)))
            else:
                cells.append("")
        comp = [per[c][0] for c in COMPETITORS if c in per]
        best = ""
        if "periscope" in per and comp:
            b = max(comp) if higher else min(comp)
            best = "%.2f" % (per["periscope"][0] / b) if b else ""
        print("| %s | %s | %s |" % (label, " | ".join(cells), best))


def main():
    rows, errors, sniffed, loads, cpu, other = load(sys.argv[1])
    if "--markdown" in sys.argv:
        markdown(rows, errors)
    else:
        text(rows, errors, sniffed, loads, cpu, other)


if __name__ == "__main__":
    main()
