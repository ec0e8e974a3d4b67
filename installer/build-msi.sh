#!/usr/bin/env bash
# Builds the AddCowMount MSI with msitools (wixl) from a folder holding the self-contained win-x64 publish
# of addcow.exe and AddCowMount.Tray.exe (and everything they need).
#   installer/build-msi.sh PAYLOAD_DIR VERSION OUT.msi
# wixl has no <Environment>, so the PATH entry is added afterwards with msibuild: an Environment row on the
# addcow.exe component plus the WriteEnvironmentStrings / RemoveEnvironmentStrings standard actions.
set -euo pipefail

usage() { echo "usage: $0 PAYLOAD_DIR VERSION OUT.msi" >&2; exit 2; }
[[ $# -eq 3 ]] || usage
payload=$(cd "$1" && pwd) || { echo "build-msi: payload folder '$1' does not exist" >&2; exit 1; }
version=$2
out=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
assets=$(cd "$here/../assets" && pwd)

for tool in wixl wixl-heat msiinfo msibuild; do
    command -v "$tool" >/dev/null || { echo "build-msi: '$tool' not found; install msitools and wixl (apt-get install wixl msitools)" >&2; exit 1; }
done
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(\.[0-9]+)?$ ]] || { echo "build-msi: version '$version' is not x.y.z (MSI ProductVersion)" >&2; exit 1; }
for exe in addcow.exe AddCowMount.Tray.exe; do
    [[ -f $payload/$exe ]] || { echo "build-msi: $payload/$exe is missing; publish the CLI and the tray for win-x64 into $payload first" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Everything else in the payload, harvested into CG_Payload (the two executables have fixed components).
(cd "$payload" && find . -type f ! -name '*.pdb' | sed 's|^\./||' | grep -v -x -e 'addcow.exe' -e 'AddCowMount.Tray.exe' | sort) \
    | sed "s|^|$payload/|" \
    | wixl-heat -p "$payload/" --directory-ref INSTALLDIR --var var.SourceDir --component-group CG_Payload --win64 \
    > "$work/Payload.wxs"

# wixl resolves sources relative to the .wxs files and refuses absolute paths: link everything into $work.
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
ln -s "$payload" "$work/payload"
ln -s "$assets" "$work/assets"
cp "$here/Product.wxs" "$work/Product.wxs"
(cd "$work" && wixl -a x64 -D Version="$version" -D SourceDir=payload -D AssetsDir=assets -D InstallerDir=. -D Win64=yes -D Toolset=wixl \
    -o "$out" Product.wxs Payload.wxs)

# PATH: put INSTALLDIR into the system PATH on install ("=" set, "-" remove on uninstall, "*" system variable).
# Prepended ("[INSTALLDIR];[~]"), not appended: an appended entry's uninstall left the ';' before it on the PATH
# (seen under Wine's msiexec); removing a prepended entry takes its separator with it and restores PATH exactly.
printf 'Environment\tName\tValue\tComponent_\ns72\tl255\tL255\ts72\nEnvironment\tEnvironment\nPathAddCow\t=-*PATH\t[INSTALLDIR];[~]\tCMP_AddCowExe\n' \
    > "$work/Environment.idt"
(cd "$work" && msibuild "$out" -i Environment.idt)

(cd "$work" && msiinfo export "$out" InstallExecuteSequence > InstallExecuteSequence.idt)
grep -q '^WriteEnvironmentStrings' "$work/InstallExecuteSequence.idt" || printf 'WriteEnvironmentStrings\t\t5200\n' >> "$work/InstallExecuteSequence.idt"
grep -q '^RemoveEnvironmentStrings' "$work/InstallExecuteSequence.idt" || printf 'RemoveEnvironmentStrings\t\t3300\n' >> "$work/InstallExecuteSequence.idt"
(cd "$work" && msibuild "$out" -i InstallExecuteSequence.idt)

msiinfo export "$out" Environment | grep -q 'PathAddCow' || { echo "build-msi: PATH entry missing from $out" >&2; exit 1; }
echo "build-msi: wrote $out (AddCowMount $version)"
