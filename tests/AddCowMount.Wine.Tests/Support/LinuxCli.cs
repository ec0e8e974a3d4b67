namespace AddCowMount.Wine.Tests.Support;

/// <summary>The Linux build of addcow, the reference the Windows build's results must equal.</summary>
internal static class LinuxCli
{
    public static RunResult Run(string workingDirectory, params string[] arguments) =>
        Support.Run.Program(E2eEnvironment.DotnetHost, [Artifacts.LinuxAddCowDll, .. arguments], workingDirectory: workingDirectory);
}

/// <summary>The Windows build of addcow (artifacts/publish/win-x64/addcow.exe) under Wine.</summary>
internal static class WindowsCli
{
    public static RunResult Run(string workingDirectory, params string[] arguments) =>
        WinePrefix.Run([Artifacts.AddCowExe, .. arguments], workingDirectory);
}
