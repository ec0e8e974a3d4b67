# Shared by run.sh and profile.sh (sourced): paths, the disk size, tool checks, the Release CLI.
# shellcheck shell=bash
here="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
size_mib="${ADDCOW_FIO_SIZE:-256}"
# shellcheck source=../cli.sh
source "$repo/benchmarks/cli.sh"
# shellcheck source=../host-pages.sh
source "$repo/benchmarks/host-pages.sh"

# require_tools SCRIPT TOOL...: every tool on PATH and running as root (FUSE mounts, page-cache eviction).
require_tools() {
    local script="$1" tool
    shift
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$script: $tool is missing" >&2; exit 2; }
    done
    if [ "$(id -u)" != 0 ]; then
        echo "$script: run as root (FUSE mounts and page-cache eviction)" >&2
        exit 2
    fi
}

# Publishes the CLI unless ADDCOW_FIO_BUILD=0 and it is already published.
build_cli() { publish_cli "${ADDCOW_FIO_BUILD:-1}"; }

addcow() { "$cli_dir/addcow" "$@"; }

# qsd_fuse EXPORT PIDFILE BLOCKDEV-ARGS...: starts qemu-storage-daemon with a writable FUSE export, at EXPORT (made an
# empty file first), of the --blockdev node named "top"; returns once it has daemonized (its pid is in PIDFILE).
qsd_fuse() {
    local exp="$1" pidfile="$2"
    shift 2
    : > "$exp"
    qemu-storage-daemon "$@" --export "type=fuse,id=e,node-name=top,mountpoint=$exp,writable=on" \
        --pidfile "$pidfile" --daemonize
}

# qcow2_blockdevs OVERLAY: sets the array blockdevs to the --blockdev arguments of a qcow2 overlay as node "top"
# (its file as node "f").
qcow2_blockdevs() { blockdevs=(--blockdev "driver=file,node-name=f,filename=$1" --blockdev driver=qcow2,node-name=top,file=f); }

# stop_qsd PID: stops one qemu-storage-daemon we started and waits (up to 5 s) until it has exited.
stop_qsd() {
    local pid="$1" i
    kill "$pid" 2>/dev/null || return 0
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
}

# Evicts files from the page cache (writes back dirty pages first), so the next read comes from the disk.
drop_cache() {
    local f
    for f in "$@"; do
        [ -f "$f" ] || continue
        sync "$f" 2>/dev/null || true
        dd if="$f" iflag=nocache count=0 status=none
    done
}
