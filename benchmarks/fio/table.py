#!/usr/bin/env python3
"""Turns the fio JSON results of benchmarks/fio/run.sh into a markdown table with ratios and targets.

Usage: table.py RESULTS_DIR   (files TARGET.WORKLOAD.rN.json, one per round; cells are the median over rounds). Exit code 0 even when a target is missed:
the table says which; a missing or failed job is an error (exit 1). The columns are the targets that have results (a run
cut down with ADDCOW_FIO_TARGETS has fewer), and ratios only to the references that ran.
"""
import glob
import json
import os
import statistics
import sys

ALL_TARGETS = ["raw", "cached", "qsd-raw", "qsd-qcow2", "addcow"]
TITLES = {"raw": "raw file", "cached": "plain file, page cache", "qsd-raw": "qsd raw export", "qsd-qcow2": "qsd qcow2 export", "addcow": "addcow mount"}
WORKLOADS = [
    ("seq-read-first.qd4", "seq read 1M, first touch, qd4", "read"),
    ("seq-read-first.qd16", "seq read 1M, first touch, qd16", "read"),
    ("seq-read-again.qd4", "seq read 1M, re-read, qd4", "read"),
    ("seq-read-again.qd16", "seq read 1M, re-read, qd16", "read"),
    ("seq-write-first.qd4", "seq write 1M, first touch, qd4", "write"),
    ("seq-write-first.qd16", "seq write 1M, first touch, qd16", "write"),
    ("seq-write-again.qd4", "seq write 1M, second pass, qd4", "write"),
    ("seq-write-again.qd16", "seq write 1M, second pass, qd16", "write"),
    ("rand-read-first.qd4", "rand read 4K, first touch, qd4", "read"),
    ("rand-read-first.qd16", "rand read 4K, first touch, qd16", "read"),
    ("rand-read-again.qd4", "rand read 4K, re-read, qd4", "read"),
    ("rand-read-again.qd16", "rand read 4K, re-read, qd16", "read"),
    ("rand-write-first.qd4", "rand write 4K, first touch, qd4", "write"),
    ("rand-write-first.qd16", "rand write 4K, first touch, qd16", "write"),
    ("rand-write-again.qd4", "rand write 4K, second pass, qd4", "write"),
    ("rand-write-again.qd16", "rand write 4K, second pass, qd16", "write"),
]
TARGET_VS_QCOW2 = 1.2


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
    return f"{mibs:,.0f} ({iops:,.0f})"


def present(results):
    """The targets with at least one result file, in table order."""
    return [t for t in ALL_TARGETS if glob.glob(os.path.join(results, f"{t}.*.r*.json"))]


RATIOS = [("qsd-qcow2", "ours/qcow2"), ("qsd-raw", "ours/raw-export"), ("raw", "ours/raw file"), ("cached", "ours/page cache")]


def main():
    if len(sys.argv) != 2:
        print("usage: table.py RESULTS_DIR", file=sys.stderr)
        return 2
    results = sys.argv[1]
    targets = present(results)
    if not targets:
        print(f"table.py: no results in {results}", file=sys.stderr)
        return 1
    ratios = [(t, name) for t, name in RATIOS if "addcow" in targets and t in targets]
    goal = "qsd-qcow2" in dict(ratios)
    print("| workload | " + " | ".join([TITLES[t] for t in targets] + [name for _, name in ratios]
                                      + (["target ≥1.2x qcow2"] if goal else [])) + " |")
    print("|---|" + "---:|" * (len(targets) + len(ratios)) + ("---|" if goal else ""))
    failed = False
    for key, title, direction in WORKLOADS:
        try:
            values = {t: load(results, t, key, direction) for t in targets}
        except (OSError, KeyError, RuntimeError, ValueError) as ex:
            print(f"| {title} | " + " | ".join("-" for _ in targets + ratios) + f" | job failed: {ex} |")
            failed = True
            continue
        vs = {t: values["addcow"][0] / values[t][0] if values[t][0] else float("inf") for t, _ in ratios}
        cells = [cell(*values[t]) for t in targets] + [f"{vs[t]:.2f}x" for t, _ in ratios]
        if goal:
            cells.append("met" if vs["qsd-qcow2"] >= TARGET_VS_QCOW2 else "**NOT met**")
        print(f"| {title} | " + " | ".join(cells) + " |")
    print()
    print("Cells: median MiB/s over the rounds (median IOPS). Ratios compare median MiB/s; the raw file (O_DIRECT on ext4) and the plain file through the page cache (buffered fio, no FUSE: what a plain buffered writer gets from this disk and memory; buffered libaio runs one request at a time, so its cold reads are at depth 1) are the references; both write new blocks on the first-touch writes.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
