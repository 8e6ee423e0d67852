#!/usr/bin/env python3
"""Per-operation percentiles of goose JSON reports (load-tests/reports/*.json), for
docs/capacity.md.

    python3 load-tests/summarize.py REPORT.json [REPORT.json ...]

For each report: its duration, requests a second, error rate, and per operation the count,
failures, p50, p99 and p99.9 in ms (from goose's microsecond histogram of the raw request
times; with coordinated-omission mitigation on, from the corrected histogram when goose kept
one) and the worst operation's p99. Standard library only.
"""
import json
import sys


def percentile(histogram, fraction):
    """The smallest recorded time (µs) at or below which `fraction` of the requests fall."""
    items = sorted((int(t), n) for t, n in histogram.items())
    total = sum(n for _, n in items)
    if total == 0:
        return 0
    wanted = fraction * total
    seen = 0
    for t, n in items:
        seen += n
        if seen >= wanted:
            return t
    return items[-1][0]


def summarize(path):
    with open(path) as f:
        report = json.load(f)
    raw = report["raw_metrics"]
    duration = raw.get("duration") or 1
    rows, total, failed = [], 0, 0
    for name, metric in sorted(raw["requests"].items()):
        data = metric.get("coordinated_omission_data") or metric["raw_data"]
        histogram = data.get("times_us") or metric["raw_data"]["times_us"]
        ok, ko = metric["success_count"], metric["fail_count"]
        total += ok + ko
        failed += ko
        rows.append((metric["path"], ok + ko, ko,
                     percentile(histogram, 0.50) / 1000,
                     percentile(histogram, 0.99) / 1000,
                     percentile(histogram, 0.999) / 1000))
    print(f"## {path}")
    print(f"{duration} s, {total} requests, {total / duration:.1f}/s, "
          f"{failed} failed ({100 * failed / max(total, 1):.3f} %)")
    print("| operation | requests | failed | p50 ms | p99 ms | p99.9 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, n, ko, p50, p99, p999 in rows:
        print(f"| {name} | {n} | {ko} | {p50:.1f} | {p99:.1f} | {p999:.1f} |")
    if rows:
        worst = max(rows, key=lambda r: r[4])
        print(f"worst p99: {worst[0]} {worst[4]:.1f} ms")
    print()


if __name__ == "__main__":
    for report_path in sys.argv[1:]:
        summarize(report_path)
