#!/usr/bin/env bash
# Where the time goes in one fio workload: our mount against qemu-storage-daemon's FUSE export of a qcow2
# overlay, same base, same fio job, fresh overlay per target, interleaved ADDCOW_PROF_ROUNDS times.
# Per target and round it records:
#   - fio's MiB/s and the daemon's CPU time (utime+stime of the whole process, /proc/PID/stat), as CPU ms per GiB;
#   - a system-wide `perf record -g` (the mount runs with DOTNET_PerfMapEnabled=1 so JIT frames have names);
#     the report lists the daemon's hottest symbols;
#   - in a second pass of the same job, `strace -c -f -w` on the daemon: wall time per syscall (where its
#     threads wait: off-CPU time) and the call counts (reads of /dev/fuse, pwrites, futex, ...).
# strace slows the daemon; its pass is separate and its MiB/s is not the benchmark figure.
#
# Usage: benchmarks/fio/profile.sh [seq-write|seq-write-again|rand-write|rand-write-again|seq-read]   (as root; fio, perf, strace, qsd, dotnet)
#        (-again: the profiled job runs after one sequential 1 MiB write pass over the whole disk, data in the page cache;
#        the others start cold, as in run.sh: base and overlay evicted from the page cache first)
# Env:   ADDCOW_FIO_DIR (default: new folder under /var/tmp, kept), ADDCOW_FIO_SIZE (MiB, default 256),
#        ADDCOW_PROF_ROUNDS (default 2), ADDCOW_PROF_DEPTH (iodepth, default 4 for 1M and 16 for 4K),
#        ADDCOW_PROF_CACHE (our mount's --cache, default writeback)
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
workload="${1:-seq-write}"
rounds="${ADDCOW_PROF_ROUNDS:-2}"
require_tools fio/profile.sh fio perf strace qemu-storage-daemon qemu-img fusermount3 dotnet python3

case "$workload" in
    seq-write|seq-write-again) fio_args=(--rw=write --bs=1M --iodepth="${ADDCOW_PROF_DEPTH:-4}" --end_fsync=1) ;;
    seq-read) fio_args=(--rw=read --bs=1M --iodepth="${ADDCOW_PROF_DEPTH:-4}") ;;
    rand-write|rand-write-again) fio_args=(--rw=randwrite --bs=4k --iodepth="${ADDCOW_PROF_DEPTH:-16}" --time_based --runtime=3 --end_fsync=1) ;;
    *) echo "fio/profile.sh: unknown workload '$workload'" >&2; exit 2 ;;
esac

build_cli

work="${ADDCOW_FIO_DIR:-$(mktemp -d /var/tmp/addcow-prof.XXXXXX)}"
mkdir -p "$work/mnt" "$work/out"
qsd_pid=""
cleanup() {
    set +e
    host_pages_end
    mountpoint -q "$work/mnt" && addcow unmount "$work/mnt" >/dev/null 2>&1
    [ -n "$qsd_pid" ] && kill "$qsd_pid" 2>/dev/null && sleep 0.5
    grep -qs " $work/qsd.exp " /proc/mounts && fusermount3 -u "$work/qsd.exp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
host_pages_begin $((16 * size_mib))

[ -f "$work/base.raw" ] || dd if=/dev/urandom of="$work/base.raw" bs=1M count="$size_mib" status=none

# start_target TARGET: fresh overlay, mounted/exported; sets daemon_pid and target_file.
start_target() {
    case "$1" in
        addcow)
            mountpoint -q "$work/mnt" && addcow unmount "$work/mnt" >/dev/null
            rm -f "$work/ours.add-cow" "$work/ours.raw"
            addcow create -b base.raw -i ours.raw "$work/ours.add-cow" >/dev/null
            # The mount's first line names the serving process: "Mounted IMG at MNT (pid N)".
            daemon_pid="$(DOTNET_PerfMapEnabled=1 addcow mount --background --cache "${ADDCOW_PROF_CACHE:-writeback}" \
                "$work/ours.add-cow" "$work/mnt" | sed -n 's/^Mounted .* (pid \([0-9]*\))$/\1/p')"
            [ -n "$daemon_pid" ] || { echo "fio/profile.sh: the mount did not say its pid" >&2; exit 1; }
            target_file="$work/mnt/ours.img" ;;
        qsd-qcow2)
            if [ -n "$qsd_pid" ]; then stop_qsd "$qsd_pid"; fi
            rm -f "$work/ov.qcow2"
            qemu-img create -q -f qcow2 -b base.raw -F raw "$work/ov.qcow2" "${size_mib}M"
            qcow2_blockdevs "$work/ov.qcow2"
            qsd_fuse "$work/qsd.exp" "$work/qsd.pid" "${blockdevs[@]}"
            qsd_pid="$(cat "$work/qsd.pid")"
            daemon_pid="$qsd_pid"
            target_file="$work/qsd.exp" ;;
    esac
}

run_fio() { # OUTPUT.json
    fio --name="$workload" --filename="$target_file" --size="${size_mib}M" --direct=1 --ioengine=libaio \
        --invalidate=0 --output-format=json --output="$1" "${fio_args[@]}" >/dev/null
}
# warm OUTPUT.json: for the -again workloads, one sequential 1 MiB write pass over the whole disk first.
warm() {
    case "$workload" in
        *-again) fio --name=warm --filename="$target_file" --size="${size_mib}M" --direct=1 --ioengine=libaio \
                     --invalidate=0 --output-format=json --output="$1" --rw=write --bs=1M --iodepth=4 --end_fsync=1 >/dev/null ;;
    esac
}
# cold: a first-touch workload starts as run.sh's does, with the files under the target evicted from the page cache
# (the -again workloads keep what their warm pass cached).
cold() {
    case "$workload" in
        *-again) ;;
        *) drop_cache "$work/base.raw" "$work/ours.raw" "$work/ours.add-cow" "$work/ov.qcow2" ;;
    esac
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

for round in $(seq "$rounds"); do
    for target in addcow qsd-qcow2; do
        tag="$target.r$round"
        start_target "$target"
        warm "$work/out/$tag.warm.json"
        cold
        before="$(cpu_ticks "$daemon_pid")"
        perf record -q -a -g -o "$work/out/$tag.perf.data" -- \
            fio --name="$workload" --filename="$target_file" --size="${size_mib}M" --direct=1 --ioengine=libaio \
                --invalidate=0 --output-format=json --output="$work/out/$tag.json" "${fio_args[@]}" >/dev/null 2>&1
        after="$(cpu_ticks "$daemon_pid")"
        echo "$((after - before))" > "$work/out/$tag.ticks"
        echo "$daemon_pid" > "$work/out/$tag.pid"
        python3 "$here/perf_top.py" "$work/out/$tag.perf.data" "$daemon_pid" 25 > "$work/out/$tag.symbols.txt"
        # Second pass under strace (off-CPU: wall time in each syscall, all daemon threads).
        start_target "$target"
        warm "$work/out/$tag.warm2.json"
        cold
        strace -c -f -w -o "$work/out/$tag.strace.txt" -p "$daemon_pid" 2>/dev/null &
        strace_pid=$!
        sleep 1
        run_fio "$work/out/$tag.strace.json"
        kill -INT "$strace_pid"; wait "$strace_pid" 2>/dev/null || true
        echo "  round $round: $target done" >&2
    done
done

python3 - "$work/out" "$size_mib" <<'EOF'
import glob, json, os, sys
out, size = sys.argv[1], int(sys.argv[2])
hz = os.sysconf("SC_CLK_TCK")
for target in ("addcow", "qsd-qcow2"):
    print(f"## {target}")
    for path in sorted(glob.glob(f"{out}/{target}.r*.json")):
        tag = os.path.basename(path)[:-5]
        if tag.count(".") != 1:
            continue
        job = json.load(open(path))["jobs"][0]
        side = job["write"] if job["write"]["io_bytes"] else job["read"]
        gib = side["io_bytes"] / 2**30
        ticks = int(open(f"{out}/{tag}.ticks").read())
        print(f"{tag}: {side['bw_bytes'] / 2**20:,.0f} MiB/s, {side['iops']:,.0f} IOPS, daemon CPU "
              f"{ticks * 1000 / hz / gib:,.0f} ms per GiB, fio CPU usr {job['usr_cpu']:.1f}% sys {job['sys_cpu']:.1f}%, "
              f"mean completion latency {side['clat_ns']['mean'] / 1000:,.0f} us")
        print("".join(open(f"{out}/{tag}.symbols.txt").readlines()[:12]))
    print()
EOF
echo "Details (perf data, symbol lists, strace tables) in $work/out" >&2
