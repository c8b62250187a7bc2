#!/usr/bin/env python3
"""Turns one load generator's text output (stdin) into a JSON object.

    parse_load.py wrk|h2load|hey < output

Always: rps, requests, errors (failed requests + socket errors + non-2xx).
hey also: p50_ms, p90_ms, p99_ms. wrk also: p50_ms, p99_ms (closed loop, so
these are latencies at saturation, not at a fixed rate).
Exits non-zero, naming the tool, when the output has no throughput line:
a crashed or misconfigured load generator must not become a zero.
"""
import json
import re
import sys

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(text):
    out = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))}
    out["requests"] = int(re.search(r"(\d+) requests in", text).group(1))
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        errors += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        errors += int(m.group(1))
    out["errors"] = errors
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % pct, text, re.M)
        if m:
            out[key] = round(float(m.group(1)) * UNITS[m.group(2)], 3)
    return out


def h2load(text):
    m = re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", text)
    out = {"rps": float(m.group(1))}
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", text)
    out["requests"] = int(m.group(3))
    errors = int(m.group(5)) + int(m.group(6)) + int(m.group(7))
    m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    errors += int(m.group(3)) + int(m.group(4))
    out["errors"] = errors
    return out


def hey(text):
    out = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))}
    ok = sum(int(n) for code, n in re.findall(r"\[(\d+)\]\s+(\d+) responses", text) if code == "200")
    bad = sum(int(n) for code, n in re.findall(r"\[(\d+)\]\s+(\d+) responses", text) if code != "200")
    m = re.search(r"Error distribution:(.*)", text, re.S)
    if m:
        bad += sum(int(n) for n in re.findall(r"\[(\d+)\]", m.group(1)))
    out["requests"] = ok + bad
    out["errors"] = bad
    for pct in ("50", "90", "99"):
        m = re.search(r"%s%% in ([\d.]+) secs" % pct, text)
        out["p%s_ms" % pct] = round(float(m.group(1)) * 1000, 3)
    return out


def main():
    tool = sys.argv[1]
    text = sys.stdin.read()
    try:
        out = {"wrk": wrk, "h2load": h2load, "hey": hey}[tool](text)
    except (AttributeError, KeyError, ValueError) as e:
        print("parse_load: %s output not understood (%s):\n%s" % (tool, e, text[-2000:]), file=sys.stderr)
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
