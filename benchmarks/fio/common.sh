# Shared by run.sh and profile.sh (sourced): paths, the disk size, tool checks, the Release CLI.
# shellcheck shell=bash
here="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
size_mib="${ADDCOW_FIO_SIZE:-256}"
# shellcheck source=../cli.sh
source "$repo/benchmarks/cli.sh"

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

# Evicts files from the page cache (writes back dirty pages first), so the next read comes from the disk.
drop_cache() {
    local f
    for f in "$@"; do
        [ -f "$f" ] || continue
        sync "$f" 2>/dev/null || true
        dd if="$f" iflag=nocache count=0 status=none
    done
}
