#!/usr/bin/env bash
# The first-touch sequential write alone, per round: our mount against qemu-storage-daemon's FUSE export of a
# qcow2 overlay and a plain file through the page cache (buffered fio, no FUSE), same base, fresh overlay (or new
# sparse file) every round, targets alternating. As in run.sh each round reads the whole disk once (1 MiB, qd4,
# base evicted first), then writes it once (1 MiB, O_DIRECT but for the plain file, fsync at the end).
# Prints one line per round and target: MiB/s and median completion latency (ms) of the read and of the write,
# so a round where every target slows (the disk or the host, not the exporter) shows as such.
#
# Usage: benchmarks/fio/first-touch.sh     (as root; fio, fuse3, qemu-utils/qemu-storage-daemon, dotnet)
# Env:   ADDCOW_FIO_ROUNDS (default 8), ADDCOW_FIO_SIZE (MiB, default 256), ADDCOW_FIO_DEPTH (default 4),
#        ADDCOW_FIO_BUILD=0 (reuse the published CLI)
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
rounds="${ADDCOW_FIO_ROUNDS:-8}"
depth="${ADDCOW_FIO_DEPTH:-4}"
require_tools fio/first-touch.sh fio qemu-storage-daemon qemu-img fusermount3 dotnet python3
build_cli

work="$(mktemp -d /var/tmp/addcow-first-touch.XXXXXX)"
qsd_pid=""
cleanup() {
    set +e
    host_pages_end
    mountpoint -q "$work/mnt" 2>/dev/null && addcow unmount "$work/mnt" >/dev/null
    stop_ours_qsd
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
host_pages_begin $((16 * size_mib))
# Stops our qemu-storage-daemon, if one runs, and unmounts its export if it left it behind.
stop_ours_qsd() {
    [ -n "$qsd_pid" ] || return 0
    stop_qsd "$qsd_pid"
    qsd_pid=""
    grep -qs " $work/q.exp " /proc/mounts && fusermount3 -u "$work/q.exp"
    return 0
}

cd "$work"
mkdir mnt
dd if=/dev/urandom of=base.raw bs=1M count="$size_mib" status=none

# job FILE DIRECT FIO-ARGS...: prints "MiB/s median-latency-ms" of the job's one direction
job() {
    fio --name=j --filename="$1" --size="${size_mib}M" --direct="$2" --ioengine=libaio --runtime=3 --invalidate=0 \
        --output-format=json "${@:3}" | python3 -c '
import json, sys
j = json.load(sys.stdin)["jobs"][0]
d = j["write"] if j["write"]["io_bytes"] else j["read"]
mibs, p50 = d["bw_bytes"] / 2**20, d["clat_ns"]["percentile"]["50.000000"] / 1e6
print("%.0f MiB/s %.1f ms" % (mibs, p50), end="")'
}

echo "size ${size_mib} MiB, 1 MiB requests at iodepth $depth; $host_pages_state; per round: MiB/s and median latency of the read, then the write"
for round in $(seq "$rounds"); do
    order=(addcow qsd-qcow2 cached)
    [ $((round % 2)) = 0 ] && order=(cached qsd-qcow2 addcow)
    for target in "${order[@]}"; do
        case "$target" in
            addcow)
                rm -f o.add-cow o.raw
                addcow create -b base.raw -i o.raw o.add-cow >/dev/null
                addcow mount --background o.add-cow mnt >/dev/null
                file=mnt/o.img direct=1
                drop_cache base.raw o.raw o.add-cow ;;
            qsd-qcow2)
                rm -f ov.qcow2
                qemu-img create -q -f qcow2 -b base.raw -F raw ov.qcow2 "${size_mib}M"
                qcow2_blockdevs ov.qcow2
                qsd_fuse q.exp q.pid "${blockdevs[@]}"
                qsd_pid="$(cat q.pid)"
                file=q.exp direct=1
                drop_cache base.raw ov.qcow2 ;;
            cached)
                cp base.raw c.img
                drop_cache c.img
                file=c.img direct=0 ;;
        esac
        read="$(job "$file" "$direct" --rw=read --bs=1M --iodepth="$depth")"
        if [ "$target" = cached ]; then rm -f c.img; truncate -s "${size_mib}M" c.img; fi
        write="$(job "$file" "$direct" --rw=write --bs=1M --iodepth="$depth" --end_fsync=1)"
        printf '%s round %d %-9s read: %-20s write: %s\n' "$(date +%T)" "$round" "$target" "$read" "$write"
        case "$target" in
            addcow) addcow unmount mnt >/dev/null ;;
            qsd-qcow2) stop_ours_qsd ;;
        esac
    done
done
