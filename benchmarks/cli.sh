# Sourced by the fio and NBD benchmarks: the CLI as a user installs it (README), published self-contained for
# linux-x64 with precompiled (ReadyToRun) code.
# shellcheck shell=bash
cli_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cli_dir="$cli_repo/artifacts/bench/linux-x64"

# publish_cli REBUILD: publishes into an emptied folder (publish keeps a newer file it finds there) unless REBUILD is 0
# and it is already published.
publish_cli() {
    if [ ! -x "$cli_dir/addcow" ] || [ "$1" = 1 ]; then
        echo "Publishing the CLI (Release, linux-x64)..." >&2
        rm -rf "$cli_dir"
        dotnet publish "$cli_repo/src/AddCowMount.Cli" -c Release -r linux-x64 --self-contained \
            -o "$cli_dir" -v q -nologo >&2
    fi
}
