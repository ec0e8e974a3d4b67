namespace AddCowMount.Installer.Tests;

/// <summary>
/// The MSI `build.ps1 installer` makes from the real self-contained publish (CI builds it before the tests):
/// it must carry the CLI, the tray, the runtime and WinForms, and the PATH entry.
/// </summary>
[TestClass]
public sealed class ReleaseMsiTests
{
    [TestMethod]
    public void ReleaseMsi_CarriesCliTrayRuntimeAndPath()
    {
        string folder = Path.Combine(MsiFixture.RepositoryRoot, "artifacts", "installer");
        string? msi = Directory.Exists(folder) ? Directory.GetFiles(folder, "AddCowMount-*-x64.msi").OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault() : null;
        if (msi is null)
        {
            if (Environment.GetEnvironmentVariable("CI") == "true")
            {
                Assert.Fail($"no release MSI in {folder}: .ci/run builds it with 'build.ps1 installer' before the tests");
            }

            Assert.Inconclusive($"no release MSI in {folder}; run 'dotnet pwsh -NoProfile -File build.ps1 installer' first");
        }

        MsiFixture.RequireTools();
        (int code, string listing, string error) = MsiFixture.Run("msiextract", "-l", msi);
        Assert.AreEqual(0, code, error);
        string[] files = listing.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (string expected in new[] { "addcow.exe", "AddCowMount.Tray.exe", "AddCowMount.Core.dll", "AddCowMount.Mount.Fuse.dll", "coreclr.dll", "System.Windows.Forms.dll" })
        {
            Assert.IsTrue(files.Any(f => f.EndsWith("/" + expected, StringComparison.Ordinal)), $"{expected} missing from {msi}");
        }

        Assert.IsFalse(files.Any(f => f.EndsWith(".pdb", StringComparison.Ordinal)), "symbols shipped");
        Assert.IsTrue(MsiFixture.Table(msi, "Environment").Any(row => row.Length > 2 && row[1].Contains("PATH", StringComparison.Ordinal) && row[2].Contains("[INSTALLDIR]", StringComparison.Ordinal)),
            "no PATH entry in the Environment table");
    }
}
