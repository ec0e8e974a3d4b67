# Shared by run.sh and profile.sh (sourced): paths, the disk size, tool checks, the Release CLI.
# shellcheck shell=bash
here="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
size_mib="${ADDCOW_FIO_SIZE:-256}"
# The CLI as a user installs it (README): published self-contained for linux-x64, with precompiled (ReadyToRun) code.
cli_dir="$repo/artifacts/bench/linux-x64"

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

# Publishes the CLI (Release) unless ADDCOW_FIO_BUILD=0 and it is already published.
build_cli() {
    if [ ! -x "$cli_dir/addcow" ] || [ "${ADDCOW_FIO_BUILD:-1}" = 1 ]; then
        echo "Publishing the CLI (Release, linux-x64)..." >&2
        rm -rf "$cli_dir"  # a fresh folder: publish keeps a newer file it finds there
        dotnet publish "$repo/src/AddCowMount.Cli" -c Release -r linux-x64 --self-contained -o "$cli_dir" -v q -nologo >&2
    fi
}

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
