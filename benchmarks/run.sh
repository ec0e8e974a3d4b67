#!/usr/bin/env bash
# Runs both benchmark suites (build.ps1's `bench` task calls this):
#   1. AddCowMount.Benchmarks (BenchmarkDotNet): the engine against plain RandomAccess on a raw file, and our
#      flush policy against the seed's sync-per-write policy, in one run (about 4 minutes on 2 cores);
#   2. fio/run.sh: fio through our FUSE mount against the raw file and qemu-storage-daemon's FUSE exports of
#      a raw file and of a qcow2 overlay (about 4 minutes; Linux, root).
# Results (BenchmarkDotNet's markdown/CSV reports, fio JSON) go to $ADDCOW_BENCH_OUT (default artifacts/bench).
# Usage: benchmarks/run.sh [dotnet|fio|all] [extra BenchmarkDotNet arguments, e.g. --filter '*FlushPolicy*']
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="${ADDCOW_BENCH_OUT:-$repo/artifacts/bench}"
what="${1:-all}"
[ $# -gt 0 ] && shift
mkdir -p "$out"

run_dotnet() {
    local project="$here/AddCowMount.Benchmarks/AddCowMount.Benchmarks.csproj"
    echo "== BenchmarkDotNet suite ==" >&2
    dotnet build "$project" -c Release -v q -nologo >&2
    local filter=(--filter '*')
    for arg in "$@"; do
        [ "$arg" = --filter ] && filter=()
    done
    dotnet "$here/AddCowMount.Benchmarks/bin/Release/net10.0/AddCowMount.Benchmarks.dll" \
        "${filter[@]}" --artifacts "$out/dotnet" "$@"
}

run_fio() {
    echo "== fio through FUSE ==" >&2
    ADDCOW_FIO_JSON="$out/fio" "$here/fio/run.sh" | tee "$out/fio-table.md"
}

case "$what" in
    dotnet) run_dotnet "$@" ;;
    fio) run_fio ;;
    all) run_dotnet "$@"; run_fio ;;
    *) echo "usage: benchmarks/run.sh [dotnet|fio|all] [BenchmarkDotNet arguments]" >&2; exit 2 ;;
esac
