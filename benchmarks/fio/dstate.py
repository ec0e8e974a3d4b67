#!/usr/bin/env python3
"""What blocked tasks wait on: samples the kernel stack of every task in uninterruptible sleep (state D).

Usage: dstate.py SECONDS [INTERVAL_MS]   (as root: /proc/PID/task/TID/stack is root's; default interval 20 ms)
Run it beside a benchmark (e.g. `sudo benchmarks/fio/dstate.py 150 & sudo benchmarks/fio/first-touch.sh`). It
prints, per second, how often each command was caught in each innermost kernel frame, then the totals with the
four innermost frames: a writer waiting on the disk shows its path there (ext4_wait_block_bitmap: the block
allocator reading a block bitmap; blkdev_issue_discard: a delete discarding its blocks; folio_wait_bit: a read).
"""
import collections
import os
import sys
import time


def blocked():
    """Yields (command, frames) for every task in state D now."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    stat = f.read()
                if stat[stat.rindex(")") + 2] != "D":
                    continue
                with open(f"/proc/{pid}/task/{tid}/stack") as f:
                    frames = [line.split(" ", 1)[1].split("+")[0] for line in f if " " in line]
            except (OSError, IndexError, ValueError):
                continue
            yield stat[stat.index("(") + 1:stat.rindex(")")], frames


def main():
    if len(sys.argv) < 2:
        print("usage: dstate.py SECONDS [INTERVAL_MS]", file=sys.stderr)
        return 2
    try:
        seconds = float(sys.argv[1])
        interval = (float(sys.argv[2]) if len(sys.argv) > 2 else 20) / 1000
    except ValueError:
        print("dstate.py: SECONDS and INTERVAL_MS are numbers", file=sys.stderr)
        return 2
    per_second = collections.defaultdict(collections.Counter)
    totals = collections.Counter()
    end = time.time() + seconds
    while time.time() < end:
        now = time.strftime("%H:%M:%S")
        for command, frames in blocked():
            inner = frames[0] if frames else "?"
            per_second[now][(command, inner)] += 1
            totals[(command, ";".join(frames[:4]))] += 1
        time.sleep(interval)
    for second in sorted(per_second):
        print(second, ", ".join(f"{c} {f} x{n}" for (c, f), n in per_second[second].most_common()))
    print()
    for (command, frames), n in totals.most_common(25):
        print(f"{n:6d} {command} {frames}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
