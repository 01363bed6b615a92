#!/usr/bin/env python3
"""Prints the medians of the last `cargo bench` run as a markdown table.

Reads target/criterion/**/new/{benchmark,estimates}.json (criterion's own
output) and, if given, a saved bench log for the RESULT lines the benches
print (deadlock probes, round-trip percentiles, idle CPU).

    python3 benches/summary.py [bench.log]
"""
import json
import pathlib
import sys


def fmt(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def main():
    root = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"
    rows = []
    for bench in sorted(root.glob("**/new/benchmark.json")):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        med = est["median"]
        rows.append((meta["group_id"], meta["function_id"] or "", med["point_estimate"],
                     med["confidence_interval"]["lower_bound"],
                     med["confidence_interval"]["upper_bound"]))
    print("| group | peer | median | 95% CI of the median |")
    print("|---|---|---|---|")
    for group, peer, m, lo, hi in rows:
        print(f"| {group} | {peer} | {fmt(m)} | {fmt(lo)} - {fmt(hi)} |")
    for log in sys.argv[1:]:
        print()
        for line in pathlib.Path(log).read_text(errors="replace").splitlines():
            if line.startswith("RESULT | "):
                print("| " + line[len("RESULT | "):] + " |")


if __name__ == "__main__":
    main()
