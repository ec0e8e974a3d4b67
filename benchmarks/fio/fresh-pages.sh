#!/usr/bin/env bash
# What fresh page-cache pages cost on this machine: a buffered 1 MiB write of a new SIZE MiB file (dd, no fsync in
# the timing: the copy into the page cache alone), (a) right after another file of the same size was deleted (its
# pages are free and still this VM's), (b) after IDLE seconds with nothing running (a VM with free-page reporting
# has handed them back to the host by then), and, where the reporting can be paused (benchmarks/host-pages.sh), (c)
# after IDLE seconds with it paused and memory touched once. One line per round; (b) far under (a) and (c) is the
# host's fault per page, which every buffered writer pays, qemu's as ours.
#
# Usage: benchmarks/fio/fresh-pages.sh     (as root)
# Env:   ADDCOW_FIO_ROUNDS (default 3), ADDCOW_FIO_SIZE (MiB, default 256), ADDCOW_FRESH_IDLE (seconds, default 10)
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
rounds="${ADDCOW_FIO_ROUNDS:-3}"
idle="${ADDCOW_FRESH_IDLE:-10}"
require_tools fio/fresh-pages.sh dd python3

work="$(mktemp -d /var/tmp/addcow-fresh-pages.XXXXXX)"
cleanup() {
    set +e
    host_pages_end
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# write_new: MB/s of a buffered write of a new file (then written back and deleted, outside the timing).
write_new() {
    local rate
    rate="$(dd if=/dev/zero of="$work/new" bs=1M count="$size_mib" 2>&1 | awk 'END { print $(NF-1), $NF }')"
    sync "$work/new"
    rm -f "$work/new"
    echo "$rate"
}
# just_freed: deletes a written-back file of the same size, then writes a new one at once.
just_freed() {
    dd if=/dev/zero of="$work/old" bs=1M count="$size_mib" status=none
    sync "$work/old"
    rm -f "$work/old"
    write_new
}
after_idle() { sleep "$idle"; write_new; }

echo "buffered write of a new ${size_mib} MiB file (dd bs=1M), per round:"
for round in $(seq "$rounds"); do
    echo "  round $round: right after freeing $(just_freed) | after ${idle} s idle $(after_idle)"
done
[ -w "$host_pages_param" ] && [ "${ADDCOW_HOST_PAGES:-pause}" != keep ] || { echo "($host_pages_state)"; exit 0; }
host_pages_begin $((8 * size_mib))
for round in $(seq "$rounds"); do
    echo "  round $round, reporting paused: after ${idle} s idle $(after_idle)"
done
host_pages_end
