# Sourced by the fio and NBD benchmarks: takes the hypervisor's free-page reporting out of the figures.
# shellcheck shell=bash
#
# A VM whose balloon device reports free pages (virtio-balloon's free page reporting: Firecracker, QEMU with
# free-page-reporting=on) hands every page that stays free back to the host, and the next use of such a page is a
# fault on the host. Here that costs some 7 us per 4 KiB page: a buffered 256 MiB write into a new file runs at
# 380-490 MB/s when its pages come back from the host, 3-4 GB/s on pages freed a moment before
# (benchmarks/fio/fresh-pages.sh shows it). Every buffered writer and every cold buffered read fills such pages,
# ours and qemu's alike, and which target draws the host's pages in a pass is a matter of timing. For the run we
# therefore stop the reporting (a page-reporting order above the largest one, so no free block qualifies) and
# touch enough memory once that the page cache's fills find pages of this VM; host_pages_end puts the order back.
# ADDCOW_HOST_PAGES=keep leaves the reporting on (the figures then carry the host's faults).

host_pages_param=/sys/module/page_reporting/parameters/page_reporting_order
host_pages_saved=""
host_pages_state="no free-page reporting here"

# host_pages_begin MIB: pauses free-page reporting (if this machine has it) and touches MIB MiB of memory once
# (at most half of what is available). Sets host_pages_state to a line for the results.
host_pages_begin() {
    local want="$1" avail
    if [ "${ADDCOW_HOST_PAGES:-pause}" = keep ]; then
        host_pages_state="free-page reporting left as it is (ADDCOW_HOST_PAGES=keep)"
        return 0
    fi
    [ -w "$host_pages_param" ] || return 0
    host_pages_saved="$(cat "$host_pages_param")"
    if ! echo 11 > "$host_pages_param"; then
        echo "benchmarks: could not pause free-page reporting; the figures carry the host's page faults" >&2
        host_pages_saved=""
        host_pages_state="free-page reporting on (could not pause it)"
        return 0
    fi
    avail="$(awk '/^MemAvailable:/ { print int($2 / 2048) }' /proc/meminfo)"
    [ "$want" -le "$avail" ] || want="$avail"
    echo "Pausing free-page reporting (order $host_pages_saved -> 11) and touching $want MiB once..." >&2
    python3 -c '
import mmap, sys
n = int(sys.argv[1]) << 20
m = mmap.mmap(-1, n)
chunk = b"\1" * (1 << 20)
for _ in range(n >> 20):
    m.write(chunk)
m.close()' "$want"
    host_pages_state="free-page reporting paused for the run, $want MiB touched first"
}

# host_pages_end: restores the reporting order host_pages_begin changed (safe to call more than once).
host_pages_end() {
    [ -n "$host_pages_saved" ] || return 0
    echo "$host_pages_saved" > "$host_pages_param" || echo "benchmarks: could not restore $host_pages_param to $host_pages_saved" >&2
    host_pages_saved=""
}
