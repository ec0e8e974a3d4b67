# Shared by run.sh and profile.sh (sourced): paths, the disk size, tool checks, the Release CLI.
# shellcheck shell=bash
here="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
size_mib="${ADDCOW_FIO_SIZE:-256}"
cli_dll="$repo/src/AddCowMount.Cli/bin/Release/net10.0/addcow.dll"

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

# Builds the CLI in Release unless ADDCOW_FIO_BUILD=0 and it is already built.
build_cli() {
    if [ ! -f "$cli_dll" ] || [ "${ADDCOW_FIO_BUILD:-1}" = 1 ]; then
        echo "Building the CLI (Release)..." >&2
        dotnet build "$repo/src/AddCowMount.Cli" -c Release -v q -nologo >&2
    fi
}

addcow() { dotnet "$cli_dll" "$@"; }
