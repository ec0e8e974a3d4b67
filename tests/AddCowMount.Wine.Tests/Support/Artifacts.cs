namespace AddCowMount.Wine.Tests.Support;

/// <summary>
/// The Windows binaries under test, from the repository's artifacts folder. Missing ones fail the test with the
/// command that makes them; this tier never passes without having run them.
/// </summary>
internal static class Artifacts
{
    public const string BuildCommand = "dotnet pwsh -NoProfile -File build.ps1 installer";

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string WindowsPublish => Path.Combine(RepositoryRoot, "artifacts", "publish", "win-x64");

    public static string AddCowExe => Require(Path.Combine(WindowsPublish, "addcow.exe"));

    public static string TrayExe => Require(Path.Combine(WindowsPublish, "AddCowMount.Tray.exe"));

    /// <summary>The one MSI build.ps1 wrote (artifacts/installer/AddCowMount-VERSION-x64.msi).</summary>
    public static string Msi
    {
        get
        {
            string folder = Path.Combine(RepositoryRoot, "artifacts", "installer");
            string[] found = Directory.Exists(folder) ? Directory.GetFiles(folder, "AddCowMount-*-x64.msi") : [];
            if (found.Length != 1)
            {
                Assert.Fail($"Expected one MSI in {folder}, found {found.Length}; run `{BuildCommand}` in {RepositoryRoot} first.");
            }

            return found[0];
        }
    }

    /// <summary>The MSI's version, from its file name.</summary>
    public static Version MsiVersion => Version.Parse(Path.GetFileName(Msi)["AddCowMount-".Length..^"-x64.msi".Length]);

    /// <summary>The Linux build of addcow (copied next to the tests by the Cli reference), run as `dotnet addcow.dll`.</summary>
    public static string LinuxAddCowDll => Require(Path.Combine(AppContext.BaseDirectory, "addcow.dll"));

    private static string Require(string path)
    {
        if (!File.Exists(path))
        {
            Assert.Fail($"{path} is missing; run `{BuildCommand}` in {RepositoryRoot} first (the Wine tier runs the real Windows build).");
        }

        return path;
    }

    private static string FindRepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AddCowMount.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No AddCowMount.sln above {AppContext.BaseDirectory}.");
    }
}
