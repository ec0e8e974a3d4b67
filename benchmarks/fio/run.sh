#!/usr/bin/env bash
# FUSE benchmark with fio, all targets in the same run, over the same base data:
#   raw      the raw file directly (ext4, O_DIRECT); its first-touch writes go to new blocks (see new_blocks)
#   cached   another raw file through the page cache (buffered fio, no FUSE): what a plain buffered writer gets from
#            this disk and memory (its first-touch writes go to new blocks too; fio's buffered libaio is synchronous,
#            so its cold reads run one request at a time whatever the depth)
#   addcow   our mount: `addcow mount --background` of an add-cow overlay over the raw base (NAME.img view)
#   qsd-raw  qemu-storage-daemon FUSE export of a raw file
#   qsd-qcow2 qemu-storage-daemon FUSE export of a qcow2 overlay over the same raw base
# Workloads per target, in this order (state carries over, like a VM's life); 1 MiB and 4 KiB jobs each run at
# queue depth 4 and 16 (suffix .qd4 / .qd16):
#   fresh overlay, underlying files evicted from the page cache:
#   seq-read first      1 MiB reads of the whole disk (from the backing file), qd4
#   seq-read again      the same pass again (backing data now cached), qd4 and qd16
#   seq-write first     1 MiB writes of the whole disk into the fresh overlay (allocating), fsync at the end, qd4
#   seq-write again     the same pass again (overwriting allocated data), fsync at the end, qd4 and qd16
#   rand-read again     4 KiB reads of the now-allocated data, qd16 and qd4
#   rand-write again    4 KiB overwrites of allocated data, fsync at the end, qd16 and qd4
#   fresh overlay: rand-read first (from the backing file), rand-write first (first touch), qd16
#   fresh overlay: seq-read first, seq-write first, qd16
#   fresh overlay: rand-read first, rand-write first, qd4
# The whole sequence runs ADDCOW_FIO_ROUNDS times (default 3), targets interleaved (order alternating) and overlays recreated
# every round; the table shows the median of the rounds (single runs on a shared VM disk vary by 2-5x,
# mostly in the fsync that ends each write job).
# Every job but the cached target's uses direct=1 (all the exports accept O_DIRECT: our mount and qemu's FUSE export both
# run with direct_io, so the kernel page cache on the FUSE side is bypassed and every request reaches the daemon); the
# cached target's are buffered, fio's own reads and writes through the page cache.
# Prints a markdown table with MiB/s, IOPS, ratios ours/qcow2 and ours/raw-export, and the targets.
#
# Usage: benchmarks/fio/run.sh            (as root; needs fio, fuse3, qemu-utils/qemu-storage-daemon, dotnet)
# Env:   ADDCOW_FIO_DIR   folder for the files (default: a new folder under /var/tmp, on a real disk)
#        ADDCOW_FIO_SIZE  disk size in MiB (default 256)
#        ADDCOW_FIO_TIME  runtime cap per job in seconds (default 3)
#        ADDCOW_FIO_ROUNDS  rounds (default 3)
#        ADDCOW_FIO_JSON  also write the raw fio JSON results to this folder
#        ADDCOW_FIO_CACHE our mount's --cache: writeback (default, as qsd's cache.direct=off) or none
#        ADDCOW_HOST_PAGES=keep  leave the VM's free-page reporting on (benchmarks/host-pages.sh)
#        ADDCOW_FIO_TARGETS  the targets to run, space-separated (default: raw cached addcow qsd-raw qsd-qcow2); a
#                         cut-down run (e.g. "addcow" alone) shows whether a target's figures depend on the others
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
runtime="${ADDCOW_FIO_TIME:-3}"
cache="${ADDCOW_FIO_CACHE:-writeback}"
rounds="${ADDCOW_FIO_ROUNDS:-3}"
all_targets=(raw cached addcow qsd-raw qsd-qcow2)
read -r -a targets <<< "${ADDCOW_FIO_TARGETS:-${all_targets[*]}}"
[ "${#targets[@]}" -gt 0 ] || { echo "fio/run.sh: ADDCOW_FIO_TARGETS names no target" >&2; exit 2; }
for t in "${targets[@]}"; do
    case " ${all_targets[*]} " in
        *" $t "*) ;;
        *) echo "fio/run.sh: unknown target '$t' in ADDCOW_FIO_TARGETS (known: ${all_targets[*]})" >&2; exit 2 ;;
    esac
done
# wants TARGET: whether this run includes TARGET.
wants() { case " ${targets[*]} " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
require_tools fio/run.sh fio qemu-storage-daemon qemu-img fusermount3 dotnet python3
build_cli

if [ -n "${ADDCOW_FIO_DIR:-}" ]; then
    work="$ADDCOW_FIO_DIR"
    mkdir -p "$work"
else
    work="$(mktemp -d /var/tmp/addcow-fio.XXXXXX)"
fi
results="$work/results"
mkdir -p "$results"

qsd_pids=()
cleanup() {
    set +e
    host_pages_end
    if mountpoint -q "$work/mnt" 2>/dev/null; then
        addcow unmount "$work/mnt" >/dev/null 2>&1 || fusermount3 -u "$work/mnt"
    fi
    for pid in "${qsd_pids[@]}"; do
        stop_qsd "$pid"
    done
    for f in "$work"/qsd-*.exp; do
        [ -e "$f" ] && grep -qs " $f " /proc/mounts && fusermount3 -u "$f"
    done
    if [ -z "${ADDCOW_FIO_DIR:-}" ] && [ "${ADDCOW_FIO_KEEP:-0}" != 1 ]; then
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The run's page cache (the files below and what the passes fill) lands on pages of this VM, not the host's.
host_pages_begin $((16 * size_mib))

# --- the files -----------------------------------------------------------------------------------------
echo "Preparing ${size_mib} MiB of random data in $work..." >&2
dd if=/dev/urandom of="$work/base.raw" bs=1M count="$size_mib" status=none
wants raw && cp "$work/base.raw" "$work/raw-direct.img"
wants qsd-raw && cp "$work/base.raw" "$work/raw-export.img"
wants cached && cp "$work/base.raw" "$work/raw-cached.img"
mkdir -p "$work/mnt"

make_ours() {
    rm -f "$work/ours.add-cow" "$work/ours.raw"
    addcow create -b base.raw -i ours.raw "$work/ours.add-cow" >/dev/null
}
make_qcow2() {
    rm -f "$work/ov.qcow2"
    qemu-img create -q -f qcow2 -b base.raw -F raw "$work/ov.qcow2" "${size_mib}M"
}

mount_ours() { addcow mount --background --cache "$cache" "$work/ours.add-cow" "$work/mnt" >/dev/null; }
unmount_ours() { addcow unmount "$work/mnt" >/dev/null; }
mounted_ours() { mountpoint -q "$work/mnt"; }

# start_qsd NAME BLOCKDEV-ARGS...: exports the last --blockdev node at $work/qsd-NAME.exp
start_qsd() {
    local name="$1"; shift
    qsd_fuse "$work/qsd-$name.exp" "$work/qsd-$name.pid" "$@"
    qsd_pids+=("$(cat "$work/qsd-$name.pid")")
}
start_qsd_raw() { start_qsd raw --blockdev "driver=file,node-name=top,filename=$work/raw-export.img"; }
start_qsd_qcow2() { qcow2_blockdevs "$work/ov.qcow2"; start_qsd qcow2 "${blockdevs[@]}"; }
stop_qsd_named() {
    local name="$1" pid
    pid="$(cat "$work/qsd-$name.pid")"
    stop_qsd "$pid"
    grep -qs " $work/qsd-$name.exp " /proc/mounts && fusermount3 -u "$work/qsd-$name.exp"
    local kept=()
    for p in "${qsd_pids[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
    qsd_pids=("${kept[@]}")
}

# Files under each target whose page cache a "first" pass must not find warm.
underlying() {
    case "$1" in
        raw) echo "$work/raw-direct.img" ;;
        cached) echo "$work/raw-cached.img" ;;
        addcow) echo "$work/base.raw $work/ours.raw $work/ours.add-cow" ;;
        qsd-raw) echo "$work/raw-export.img" ;;
        qsd-qcow2) echo "$work/base.raw $work/ov.qcow2" ;;
    esac
}
target_file() {
    case "$1" in
        raw) echo "$work/raw-direct.img" ;;
        cached) echo "$work/raw-cached.img" ;;
        addcow) echo "$work/mnt/ours.img" ;;
        qsd-raw) echo "$work/qsd-raw.exp" ;;
        qsd-qcow2) echo "$work/qsd-qcow2.exp" ;;
    esac
}

# run_job TARGET WORKLOAD fio-args...   (result: $results/TARGET.WORKLOAD.rROUND.json)
round=0
run_job() {
    local target="$1" workload="$2"; shift 2
    local file out direct=1
    file="$(target_file "$target")"
    out="$results/$target.$workload.r$round.json"
    [ "$target" = cached ] && direct=0
    fio --name="$workload" --filename="$file" --size="${size_mib}M" --direct="$direct" --ioengine=libaio \
        --runtime="$runtime" --invalidate=0 --output-format=json --output="$out" "$@" >/dev/null
    echo "  round $round: $target $workload done" >&2
}

# WORKLOAD names carry the queue depth: seq_read TARGET seq-read-first 4 -> seq-read-first.qd4
seq_read() { run_job "$1" "$2.qd$3" --rw=read --bs=1M --iodepth="$3"; }
seq_write() { run_job "$1" "$2.qd$3" --rw=write --bs=1M --iodepth="$3" --end_fsync=1; }
rand_read() { run_job "$1" "$2.qd$3" --rw=randread --bs=4k --iodepth="$3" --time_based --randrepeat=1; }
rand_write() { run_job "$1" "$2.qd$3" --rw=randwrite --bs=4k --iodepth="$3" --time_based --randrepeat=1 --end_fsync=1; }

# fresh_cold TARGET FRESH: recreate the overlay and evict the files under it from the page cache.
fresh_cold() {
    $2
    # shellcheck disable=SC2046
    drop_cache $(underlying "$1")
}

# new_blocks TARGET: before a first-touch write pass, the raw file is replaced by a sparse one of the same size, so
# its writes allocate new blocks as every overlay's do (on this VM's disk those run at about two thirds of the rate
# of overwrites: the raw file's overwrite rate is no limit for them). The other targets are left alone.
new_blocks() {
    local file
    case "$1" in
        raw | cached) file="$(target_file "$1")" ;;
        *) return 0 ;;
    esac
    rm -f "$file"
    truncate -s "${size_mib}M" "$file"
}

# first_touch TARGET FRESH seq|rand DEPTH: on a fresh overlay, one read pass from the backing file, then one
# write pass (allocating).
first_touch() {
    fresh_cold "$1" "$2"
    "$3_read" "$1" "$3-read-first" "$4"
    new_blocks "$1"
    "$3_write" "$1" "$3-write-first" "$4"
}

# The whole life of one target: fresh overlay, passes, then fresh overlays for the other first-touch passes.
run_target() {
    local target="$1" fresh="$2"
    fresh_cold "$target" "$fresh"
    seq_read "$target" seq-read-first 4
    seq_read "$target" seq-read-again 4
    seq_read "$target" seq-read-again 16
    new_blocks "$target"
    seq_write "$target" seq-write-first 4
    seq_write "$target" seq-write-again 4
    seq_write "$target" seq-write-again 16
    rand_read "$target" rand-read-again 16
    rand_read "$target" rand-read-again 4
    rand_write "$target" rand-write-again 16
    rand_write "$target" rand-write-again 4
    first_touch "$target" "$fresh" rand 16
    first_touch "$target" "$fresh" seq 16
    first_touch "$target" "$fresh" rand 4
}

# The raw file gets its data back (a copy of the base) wherever the others get a fresh overlay: its reads read data.
refresh_raw() { cp "$work/base.raw" "$work/raw-direct.img"; }
refresh_cached() { cp "$work/base.raw" "$work/raw-cached.img"; }
refresh_ours() { mounted_ours && unmount_ours; make_ours; mount_ours; }
refresh_qsd_raw() { :; }
refresh_qsd_qcow2() { stop_qsd_named qcow2; make_qcow2; start_qsd_qcow2; }

if wants addcow; then make_ours; mount_ours; fi
wants qsd-raw && start_qsd_raw
if wants qsd-qcow2; then make_qcow2; start_qsd_qcow2; fi

# The order alternates between rounds (forward, then reversed), so no target always runs right after the same other.
reversed=()
for ((i = ${#targets[@]} - 1; i >= 0; i--)); do reversed+=("${targets[i]}"); done
for round in $(seq "$rounds"); do
    order=("${targets[@]}")
    [ $((round % 2)) = 0 ] && order=("${reversed[@]}")
    for target in "${order[@]}"; do
        case "$target" in
            raw) run_target raw refresh_raw ;;
            cached) run_target cached refresh_cached ;;
            # Unmounted after its passes: the mount maps the base pages it answers reads from, and drop_cache cannot
            # evict mapped pages, so a live mount would warm the next target's "cold" reads of the same base.
            addcow) run_target addcow refresh_ours; unmount_ours ;;
            qsd-raw) run_target qsd-raw refresh_qsd_raw ;;
            qsd-qcow2) run_target qsd-qcow2 refresh_qsd_qcow2 ;;
        esac
    done
done

wants addcow && mounted_ours && unmount_ours
wants qsd-raw && stop_qsd_named raw
wants qsd-qcow2 && stop_qsd_named qcow2

if [ -n "${ADDCOW_FIO_JSON:-}" ]; then
    mkdir -p "$ADDCOW_FIO_JSON"
    cp "$results"/*.json "$ADDCOW_FIO_JSON"/
fi

echo
echo "fio $(fio --version | sed 's/^fio-//'), ${size_mib} MiB disk, direct=1 (the page-cache file buffered), libaio (1 MiB and 4 KiB at iodepth 4 and 16), ≤ ${runtime} s per job, writes end with fsync, median of $rounds rounds, addcow --cache $cache; $(uname -r), $(nproc) cores; targets: ${targets[*]}; $host_pages_state"
echo
python3 "$here/table.py" "$results"
