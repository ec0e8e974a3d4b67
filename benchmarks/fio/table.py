#!/usr/bin/env python3
"""Turns the fio JSON results of benchmarks/fio/run.sh into a markdown table with ratios and targets.

Usage: table.py RESULTS_DIR   (files TARGET.WORKLOAD.rN.json, one per round; cells are the median over rounds). Exit code 0 even when a target is missed:
the table says which; a missing or failed job is an error (exit 1).
"""
import glob
import json
import os
import statistics
import sys

TARGETS = ["raw", "qsd-raw", "qsd-qcow2", "addcow"]
TITLES = {"raw": "raw file", "qsd-raw": "qsd raw export", "qsd-qcow2": "qsd qcow2 export", "addcow": "addcow mount"}
WORKLOADS = [
    ("seq-read-first", "seq read 1M, first touch", "read"),
    ("seq-read-again", "seq read 1M, re-read", "read"),
    ("seq-write-first", "seq write 1M, first touch", "write"),
    ("seq-write-again", "seq write 1M, second pass", "write"),
    ("rand-read-first", "rand read 4K, first touch", "read"),
    ("rand-read-again", "rand read 4K, re-read", "read"),
    ("rand-write-first", "rand write 4K, first touch", "write"),
    ("rand-write-again", "rand write 4K, second pass", "write"),
]


def load_one(path, direction):
    with open(path, encoding="utf-8") as f:
        job = json.load(f)["jobs"][0]
    if job.get("error"):
        raise RuntimeError(f"{path}: fio error {job['error']}")
    side = job[direction]
    return side["bw_bytes"] / (1024 * 1024), side["iops"]


def load(results, target, workload, direction):
    paths = sorted(glob.glob(os.path.join(results, f"{target}.{workload}.r*.json")))
    if not paths:
        raise RuntimeError(f"no result for {target} {workload}")
    runs = [load_one(p, direction) for p in paths]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def cell(mibs, iops):
    return f"{mibs:,.1f} MiB/s ({iops:,.0f})"


def main():
    results = sys.argv[1]
    print("| workload | " + " | ".join(TITLES[t] for t in TARGETS) + " | ours/qcow2 | ours/raw-export | target |")
    print("|---|" + "---:|" * len(TARGETS) + "---:|---:|---|")
    failed = False
    for key, title, direction in WORKLOADS:
        try:
            values = {t: load(results, t, key, direction) for t in TARGETS}
        except (OSError, KeyError, RuntimeError, ValueError) as ex:
            print(f"| {title} | " + " | ".join("-" for _ in TARGETS) + f" | - | - | job failed: {ex} |")
            failed = True
            continue
        ours = values["addcow"][0]
        vs_qcow2 = ours / values["qsd-qcow2"][0] if values["qsd-qcow2"][0] else float("inf")
        vs_raw = ours / values["qsd-raw"][0] if values["qsd-raw"][0] else float("inf")
        if key.startswith("seq-"):
            met = vs_qcow2 >= 1.2 and vs_raw >= 0.8
            target = f"≥1.2x qcow2 and ≥0.8x raw export: {'met' if met else 'NOT met'}"
        elif key.startswith("rand-write"):
            met = vs_qcow2 >= 1.0
            target = f"≥1.0x qcow2: {'met' if met else 'NOT met'}"
        else:
            target = "(none)"
        print(f"| {title} | " + " | ".join(cell(*values[t]) for t in TARGETS)
              + f" | {vs_qcow2:.2f}x | {vs_raw:.2f}x | {target} |")
    print()
    print("Cells: median throughput over the rounds (IOPS). Ratios compare median MiB/s.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
