#!/usr/bin/env python3
"""Where one process's CPU samples went in a system-wide `perf record`: the top symbols and the top binaries.

Usage: perf_top.py PERF_DATA PID [N]   (perf report --pid misses threads here; this reads `perf script` instead).
User-space frames without a symbol are grouped by binary: libclrjit.so is the .NET JIT compiling, libcoreclr.so the
runtime, "(deleted)" or /tmp/perf-PID.map entries the JIT-compiled code itself.
"""
import collections
import re
import subprocess
import sys


def main():
    data, pid = sys.argv[1], sys.argv[2]
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    script = subprocess.run(["perf", "script", "-i", data, "-F", "pid,ip,sym,dso", "-G"],
                            capture_output=True, text=True, check=True).stdout
    symbols, binaries = collections.Counter(), collections.Counter()
    total = everything = 0
    for line in script.splitlines():
        match = re.match(r"\s*(\d+)\s+([0-9a-f]+)\s+(.*?)\s+\((.*)\)\s*$", line)
        if not match:
            continue
        parts = match.groups()
        everything += 1
        if parts[0] != pid:
            continue
        total += 1
        kernel = parts[1].startswith("ffff")
        dso = "JIT-compiled code" if "doublemapper" in parts[3] or "perf-" in parts[3] else parts[3].rsplit("/", 1)[-1]
        sym = parts[2] or "[unknown]"
        binaries["kernel" if kernel else dso] += 1
        symbols[f"[k] {sym}" if kernel else (f"[{dso}]" if sym == "[unknown]" else sym)] += 1
    print(f"{total} of {everything} samples in pid {pid}")
    print("  by symbol:")
    for name, n in symbols.most_common(top):
        print(f"  {n:7d} {100 * n / max(total, 1):5.1f}%  {name}")
    print("  by binary:")
    for name, n in binaries.most_common(6):
        print(f"  {n:7d} {100 * n / max(total, 1):5.1f}%  {name}")


if __name__ == "__main__":
    main()
