#!/usr/bin/env bash
# NBD benchmark: `addcow serve` of an add-cow overlay against `qemu-nbd` serving a qcow2 overlay of the same raw
# base, same client (fio's nbd engine, libnbd), same run. Both servers listen on a Unix socket in the work folder.
# Per server and round, on two fresh overlays (state carries over within each, like a VM's life):
#   overlay 1: seq-read 1M fresh (all from the base) -> seq-write 1M fresh (first touch) -> seq-write 1M overwrite
#              -> seq-read 1M overwritten (all from the overlay)
#   overlay 2: rand-read 4K fresh -> rand-write 4K fresh -> rand-write 4K overwrite -> rand-read 4K overwritten
# 1 MiB requests at iodepth 4, 4 KiB at iodepth 16, one connection; write jobs end with a flush (end_fsync).
# Rounds are interleaved, the order alternating (qemu-nbd, addcow, addcow, qemu-nbd, ...); the table shows medians.
# Page caches are dropped before each server starts, so "fresh" reads come from the disk.
#
# Usage: benchmarks/nbd/run.sh     (root for drop_caches; needs fio with the nbd engine, qemu-utils, dotnet, python3)
# Env:   ADDCOW_NBD_DIR     work folder (default: a new folder under /var/tmp, on a real disk)
#        ADDCOW_NBD_SIZE    disk size in MiB (default 256)
#        ADDCOW_NBD_ROUNDS  rounds (default 3)
#        ADDCOW_NBD_CACHE   addcow serve's --cache: writeback (default, as qemu-nbd's) or none
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
size_mib="${ADDCOW_NBD_SIZE:-256}"
rounds="${ADDCOW_NBD_ROUNDS:-3}"
cache="${ADDCOW_NBD_CACHE:-writeback}"
# shellcheck source=../cli.sh
source "$repo/benchmarks/cli.sh"
# shellcheck source=../host-pages.sh
source "$repo/benchmarks/host-pages.sh"

for tool in fio qemu-nbd qemu-img dotnet python3; do
    command -v "$tool" >/dev/null || { echo "nbd/run.sh: $tool is missing" >&2; exit 2; }
done
fio --enghelp=nbd >/dev/null 2>&1 || { echo "nbd/run.sh: this fio has no nbd engine" >&2; exit 2; }

publish_cli "${ADDCOW_NBD_BUILD:-1}"

work="${ADDCOW_NBD_DIR:-$(mktemp -d /var/tmp/addcow-nbd.XXXXXX)}"
mkdir -p "$work/results"
export ADDCOW_STATE_DIR="$work/state"
base="$work/base.raw"
sock="$work/nbd.sock"
server_pid=""

cleanup() {
    host_pages_end
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

host_pages_begin $((16 * size_mib))
echo "Writing a ${size_mib} MiB random base..." >&2
head -c "$((size_mib << 20))" /dev/urandom > "$base"

drop_caches() {
    sync
    if [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; fi
}

# start_server TARGET OVERLAY: qemu-nbd (qcow2) or addcow (add-cow), in the background on $sock.
start_server() {
    local target="$1" overlay="$2"
    rm -f "$sock" "$overlay" "${overlay%.*}.raw"
    if [ "$target" = qemu-nbd ]; then
        qemu-img create -q -f qcow2 -b "$base" -F raw "$overlay"
        drop_caches
        qemu-nbd --socket="$sock" --format=qcow2 --export-name=vm --persistent --shared=4 "$overlay" &
    else
        "$cli_dir/addcow" create -b "$base" "$overlay" >/dev/null
        drop_caches
        "$cli_dir/addcow" serve --socket "$sock" --name vm --cache "$cache" "$overlay" >/dev/null &
    fi
    server_pid=$!
    for _ in $(seq 100); do
        [ -S "$sock" ] && return 0
        sleep 0.1
    done
    echo "nbd/run.sh: $target did not start" >&2
    exit 1
}

stop_server() {
    kill "$server_pid"
    wait "$server_pid" || true
    server_pid=""
}

# job NAME RW BS DEPTH [extra fio args...]
job() {
    local name="$1" rw="$2" bs="$3" depth="$4"
    shift 4
    fio --name="$name" --ioengine=nbd --uri="nbd+unix:///vm?socket=$sock" --rw="$rw" --bs="$bs" --iodepth="$depth" \
        --size="${size_mib}m" --randrepeat=0 --output-format=json "$@" \
        --output="$results_round/$target-$name.json" >/dev/null
}

for round in $(seq "$rounds"); do
    # The order alternates: each server is first in half the rounds, so neither always runs right after the other's
    # random-write phase (the disk's state after a flush of 256 MiB of random writes slowed the next cold reads).
    order=(qemu-nbd addcow)
    [ $((round % 2)) = 0 ] && order=(addcow qemu-nbd)
    for target in "${order[@]}"; do
        results_round="$work/results/round$round"
        mkdir -p "$results_round"
        echo "round $round: $target" >&2
        ext=$([ "$target" = qemu-nbd ] && echo qcow2 || echo add-cow)

        start_server "$target" "$work/seq.$ext"
        job seq-read-fresh read 1M 4
        job seq-write-fresh write 1M 4 --end_fsync=1
        job seq-write-over write 1M 4 --end_fsync=1
        job seq-read-over read 1M 4
        stop_server

        start_server "$target" "$work/rand.$ext"
        job rand-read-fresh randread 4k 16
        job rand-write-fresh randwrite 4k 16 --end_fsync=1
        job rand-write-over randwrite 4k 16 --end_fsync=1
        job rand-read-over randread 4k 16
        stop_server
    done
done

python3 "$here/table.py" "$work/results" "$rounds" "$size_mib"
echo "($host_pages_state)"
echo "fio JSON results: $work/results" >&2
