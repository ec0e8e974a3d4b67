#!/usr/bin/env python3
"""Markdown table of benchmarks/nbd/run.sh results: medians over rounds, MiB/s (IOPS), addcow / qemu-nbd."""
import json
import os
import statistics
import sys

results, rounds, size = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = [
    ("seq-read-fresh", "seq read 1M, fresh (from the base)"),
    ("seq-write-fresh", "seq write 1M, fresh (first touch) + flush"),
    ("seq-write-over", "seq write 1M, overwrite + flush"),
    ("seq-read-over", "seq read 1M, overwritten (from the overlay)"),
    ("rand-read-fresh", "rand read 4K, fresh (from the base)"),
    ("rand-write-fresh", "rand write 4K, fresh (first touch) + flush"),
    ("rand-write-over", "rand write 4K, overwrite + flush"),
    ("rand-read-over", "rand read 4K, overwritten (from the overlay)"),
]


def sample(target, name, rnd):
    with open(os.path.join(results, f"round{rnd}", f"{target}-{name}.json")) as f:
        job = json.load(f)["jobs"][0]
    side = job["write"] if "write" in name else job["read"]
    return side["bw_bytes"] / (1 << 20), side["iops"]


def median(target, name):
    samples = [sample(target, name, r) for r in range(1, rounds + 1)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples), [s[0] for s in samples]


print(f"| workload ({size} MiB, fio nbd engine, median of {rounds}) | qemu-nbd qcow2 | addcow serve | addcow / qemu-nbd | rounds addcow/qemu-nbd |")
print("|---|---:|---:|---:|---|")
for name, label in rows:
    q_bw, q_iops, q_all = median("qemu-nbd", name)
    a_bw, a_iops, a_all = median("addcow", name)
    per_round = ", ".join(f"{a / q:.2f}" for a, q in zip(a_all, q_all))
    print(f"| {label} | {q_bw:,.1f} ({q_iops:,.0f}) | {a_bw:,.1f} ({a_iops:,.0f}) | **{a_bw / q_bw:.2f}x** | {per_round} |")
