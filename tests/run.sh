#!/usr/bin/env bash
# The README's test command, and all that .ci/run does: on Debian, installs whatever tests/debian-packages.txt
# lists and the machine lacks (as root, or through sudo when it asks no password; otherwise it names the
# missing packages and exits 2 before running anything), builds what the tests need (the release MSI through
# build.ps1), runs every test project and ends with one line "N passed, N failed" summed over all of them.
# The exit code is dotnet test's (or the failing step's). Arguments go on to dotnet test (e.g. --filter ...).
#   tests/run.sh [dotnet test arguments]
# ADDCOW_DEBIAN_PACKAGES names another package list (to try the installing path on a machine that has all).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
say() { echo "tests/run.sh: $*"; }

list=${ADDCOW_DEBIAN_PACKAGES:-tests/debian-packages.txt}
[ -r "$list" ] || { say "cannot read the package list $list" >&2; exit 2; }
mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$list" | grep -v '^$')

if command -v dpkg-query >/dev/null; then
    missing=()
    for p in "${packages[@]}"; do
        [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        if [ "$(id -u)" -eq 0 ]; then
            as_root=()
        elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            as_root=(sudo -n)
        else
            say "missing Debian packages: ${missing[*]}" >&2
            say "install them as root (sudo apt-get install ${missing[*]}), or run this as root or with sudo" >&2
            exit 2
        fi
        say "installing ${missing[*]}"
        apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600)
        if ! "${apt[@]}" update >/dev/null || ! "${apt[@]}" install -y "${missing[@]}" >/dev/null; then
            say "apt-get install ${missing[*]} failed" >&2
            exit 2
        fi
    fi
else
    say "warning: not a Debian system (no dpkg-query); make sure these are installed: ${packages[*]}" >&2
fi

command -v dotnet >/dev/null || { say "the .NET 10 SDK ('dotnet') is not on PATH" >&2; exit 2; }
[ -e /dev/fuse ] || say "warning: /dev/fuse is missing; the FUSE and end-to-end tests will fail" >&2
[ "$(id -u)" -eq 0 ] || say "warning: not root; the FUSE and end-to-end tests mount for real and need root" >&2
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# The release MSI (self-contained win-x64 addcow + tray, built with wixl): the installer tests check it.
build_log=$(mktemp)
log=$(mktemp)
report=$(mktemp)
trap 'rm -f "$build_log" "$log" "$report"' EXIT
rm -rf artifacts/installer
if dotnet tool restore >"$build_log" 2>&1 && dotnet pwsh -NoProfile -File build.ps1 installer >>"$build_log" 2>&1; then
    say "built $(ls artifacts/installer/*.msi)"
else
    status=$?
    tail -40 "$build_log" >&2
    say "building the MSI (dotnet pwsh -NoProfile -File build.ps1 installer) failed with exit code $status; no tests ran" >&2
    exit "$status"
fi

# Randomized safety tests (crash points, faults, fuzzing, concurrency) report their seeds and counts here.
export ADDCOW_TEST_REPORT="$report"
dotnet test AddCowMount.sln "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

if [ -s "$report" ]; then
    echo "== what the randomized safety tests did =="
    sort "$report"
fi

# One summary per test project: "Passed!  - Failed:     0, Passed:   123, ..." or "Failed!  - Failed:     2, ...".
read -r passed failed < <(grep -E '^(Passed|Failed)!' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+).*/\2 \1/' \
    | awk '{p += $1; f += $2} END {print p + 0, f + 0}')
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1 # the run broke (build error, crashed test host) without a failing test to count
fi
echo "$passed passed, $failed failed"
exit "$status"
