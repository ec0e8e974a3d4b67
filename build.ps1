#!/usr/bin/env pwsh
<#
.SYNOPSIS
    AddCowMount's one build entry point (PowerShell 7, Windows and Linux).
.DESCRIPTION
    ./build.ps1 <task> [-Configuration Release] [-Version x.y.z]
      restore    dotnet restore AddCowMount.sln
      build      dotnet build AddCowMount.sln (warnings are errors)
      test       dotnet test AddCowMount.sln (on Linux the README's test command, tests/run.sh, also installs packages and builds the MSI first)
      publish    self-contained CLI for win-x64 and linux-x64, plus the tray for win-x64,
                 into ./artifacts/publish/<rid>
      installer  publish win-x64, then the MSI into ./artifacts/installer:
                 Linux: installer/build-msi.sh (wixl + msitools);
                 Windows: WiX 3 toolset (heat, candle, light on PATH or under %WIX%\bin).
                 There is no wixl-through-WSL route on Windows; install WiX 3.14 instead.
      bench      benchmarks/run.sh, when the checkout has it
    Without pwsh installed: dotnet tool restore; dotnet pwsh -NoProfile -File build.ps1 <task>
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('restore', 'build', 'test', 'publish', 'installer', 'bench')]
    [string] $Task = 'build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # MSI ProductVersion (x.y.z); defaults to <Version> in Directory.Build.props.
    [string] $Version
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$root = $PSScriptRoot
$solution = Join-Path $root 'AddCowMount.sln'
$artifacts = Join-Path $root 'artifacts'
$cliProject = Join-Path $root 'src/AddCowMount.Cli/AddCowMount.Cli.csproj'
$trayProject = Join-Path $root 'src/AddCowMount.Tray/AddCowMount.Tray.csproj'

function Invoke-Native {
    param([string] $FilePath, [string[]] $Arguments)
    Write-Host "> $FilePath $($Arguments -join ' ')" -ForegroundColor Cyan
    & $FilePath @Arguments
    if ($LASTEXITCODE -ne 0) {
        throw "'$FilePath $($Arguments -join ' ')' failed with exit code $LASTEXITCODE."
    }
}

function Get-ProductVersion {
    if ($Version) { return $Version }
    $props = Get-Content (Join-Path $root 'Directory.Build.props') -Raw
    if ($props -notmatch '<Version\b[^>]*>\s*([^<\s]+)\s*</Version>') {
        throw 'No <Version> in Directory.Build.props; pass -Version x.y.z.'
    }
    return $Matches[1]
}

function Assert-CliProject {
    if (-not (Test-Path $cliProject)) {
        throw "The CLI project is missing ($cliProject): publish and installer need the 'addcow' executable. Merge the CLI (src/AddCowMount.Cli) first."
    }
}

# Off Windows the tray is built against a pinned WindowsDesktop runtime pack (WinFormsOnLinux.props) and
# publishes the .NET runtime of that same release; addcow.exe shares the folder, so it must use it too.
function Get-WindowsDesktopPin {
    if ($IsWindows) { return @() }
    $props = Get-Content (Join-Path $root 'src/AddCowMount.Tray/WinFormsOnLinux.props') -Raw
    if ($props -notmatch '<WindowsDesktopRuntimeVersion>([^<]+)</WindowsDesktopRuntimeVersion>') {
        throw 'WinFormsOnLinux.props names no WindowsDesktopRuntimeVersion.'
    }
    return @("-p:RuntimeFrameworkVersion=$($Matches[1])")
}

# addcow.exe mounts through Dokan only when built with the adapter: always on Windows; elsewhere only when a
# DokanNet package is reachable, named by DOKAN_FEED (a folder or feed URL). Without it the MSI's addcow
# cannot mount (it says so), so say it loudly here too.
function Get-DokanSwitch {
    if ($IsWindows) { return @() }
    if ($env:DOKAN_FEED) { return @('-p:BuildDokan=true', "-p:RestoreAdditionalProjectSources=$($env:DOKAN_FEED)") }
    Write-Warning 'DOKAN_FEED is not set: the win-x64 addcow.exe is built without the Dokan adapter and cannot mount. Set DOKAN_FEED to a DokanNet 2.3.x package source, or build the MSI on Windows.'
    return @()
}

function Invoke-Publish {
    Assert-CliProject
    foreach ($rid in 'win-x64', 'linux-x64') {
        $out = Join-Path $artifacts "publish/$rid"
        if (Test-Path $out) { Remove-Item $out -Recurse -Force }
        $pin = if ($rid -eq 'win-x64') { @(Get-WindowsDesktopPin) + @(Get-DokanSwitch) } else { @() }
        Invoke-Native dotnet (@('publish', $cliProject, '-c', $Configuration, '-r', $rid, '--self-contained', '-o', $out, "-p:Version=$(Get-ProductVersion)") + $pin)
        if ($rid -eq 'win-x64') {
            # The tray shares the folder (and the runtime) with addcow.exe: it runs addcow from its own folder.
            Invoke-Native dotnet @('publish', $trayProject, '-c', $Configuration, '-r', $rid, '--self-contained', '-o', $out, "-p:Version=$(Get-ProductVersion)")
        }
    }
}

function Find-WixTool([string] $name) {
    $command = Get-Command $name -ErrorAction SilentlyContinue
    if ($command) { return $command.Source }
    if ($env:WIX) {
        $candidate = Join-Path $env:WIX "bin/$name"
        if (Test-Path $candidate) { return $candidate }
    }
    throw "WiX 3 tool '$name' not found (PATH or %WIX%\bin). Install the WiX Toolset 3.14 to build the MSI on Windows, or build it on Linux where installer/build-msi.sh uses wixl."
}

function Invoke-Installer {
    Invoke-Publish
    $productVersion = Get-ProductVersion
    $payload = Join-Path $artifacts 'publish/win-x64'
    $outDir = Join-Path $artifacts 'installer'
    New-Item -ItemType Directory -Force $outDir | Out-Null
    $msi = Join-Path $outDir "AddCowMount-$productVersion-x64.msi"

    if (-not $IsWindows) {
        Invoke-Native bash @((Join-Path $root 'installer/build-msi.sh'), $payload, $productVersion, $msi)
        return
    }

    $heat = Find-WixTool 'heat.exe'
    $candle = Find-WixTool 'candle.exe'
    $light = Find-WixTool 'light.exe'
    $work = Join-Path $artifacts 'obj/installer'
    if (Test-Path $work) { Remove-Item $work -Recurse -Force }
    New-Item -ItemType Directory -Force $work | Out-Null

    # Harvest the payload, minus symbols and the two executables Product.wxs declares itself.
    $payloadWxs = Join-Path $work 'Payload.wxs'
    Invoke-Native $heat @('dir', $payload, '-nologo', '-cg', 'CG_Payload', '-dr', 'INSTALLDIR', '-srd', '-sreg', '-ag', '-var', 'var.SourceDir', '-out', $payloadWxs)
    [xml] $doc = Get-Content $payloadWxs -Raw
    $ns = New-Object System.Xml.XmlNamespaceManager $doc.NameTable
    $ns.AddNamespace('w', 'http://schemas.microsoft.com/wix/2006/wi')
    foreach ($file in @($doc.SelectNodes('//w:Component[w:File]', $ns))) {
        $source = $file.SelectSingleNode('w:File', $ns).GetAttribute('Source')
        $leaf = Split-Path $source -Leaf
        if ($leaf -in 'addcow.exe', 'AddCowMount.Tray.exe' -or $leaf -like '*.pdb') {
            $id = $file.GetAttribute('Id')
            $file.SetAttribute('Win64', 'yes')
            $ref = $doc.SelectSingleNode("//w:ComponentRef[@Id='$id']", $ns)
            [void] $ref.ParentNode.RemoveChild($ref)
            [void] $file.ParentNode.RemoveChild($file)
        }
        else {
            $file.SetAttribute('Win64', 'yes')
        }
    }
    $doc.Save($payloadWxs)

    $defines = @("-dVersion=$productVersion", "-dSourceDir=$payload", "-dAssetsDir=$(Join-Path $root 'assets')",
        "-dInstallerDir=$(Join-Path $root 'installer')", '-dWin64=yes', '-dToolset=wix')
    Invoke-Native $candle (@('-nologo', '-arch', 'x64', '-out', "$work\") + $defines + @((Join-Path $root 'installer/Product.wxs'), $payloadWxs))
    Invoke-Native $light @('-nologo', '-ext', 'WixUIExtension', '-out', $msi, (Join-Path $work 'Product.wixobj'), (Join-Path $work 'Payload.wixobj'))
    Write-Host "Wrote $msi"
}

Push-Location $root
try {
    switch ($Task) {
        'restore' { Invoke-Native dotnet @('restore', $solution) }
        'build' { Invoke-Native dotnet @('build', $solution, '-c', $Configuration) }
        'test' { Invoke-Native dotnet @('test', 'AddCowMount.sln') }
        'publish' { Invoke-Publish }
        'installer' { Invoke-Installer }
        'bench' {
            $bench = Join-Path $root 'benchmarks/run.sh'
            if (-not (Test-Path $bench)) {
                Write-Warning 'benchmarks/run.sh is not in this checkout; nothing to run.'
            }
            else {
                Invoke-Native bash @($bench)
            }
        }
    }
}
finally {
    Pop-Location
}
