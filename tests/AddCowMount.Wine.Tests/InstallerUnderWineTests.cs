using AddCowMount.Wine.Tests.Support;

namespace AddCowMount.Wine.Tests;

/// <summary>The MSI (artifacts/installer) under Wine's msiexec, as an administrator would run it.</summary>
[TestClass]
[TestCategory("Wine")]
public sealed class InstallerUnderWineTests
{
    public TestContext TestContext { get; set; } = null!;

    private static string Logs => Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "addcow-wine-msi-logs")).FullName;

    [TestInitialize]
    public void StartClean()
    {
        Msi.EnsureUninstalled(Artifacts.Msi, Logs);
        Msi.DeleteDokanService();
    }

    /// <summary>Without Dokany's Dokan2 service the launch condition refuses the install, and nothing is installed.</summary>
    [TestMethod]
    public void Install_WithoutDokan2Service_IsRefused()
    {
        string pathBefore = Msi.MachinePath;

        RunResult result = Msi.Install(Artifacts.Msi, Logs);

        Assert.AreNotEqual(0, result.ExitCode, "msiexec installed without the Dokan2 service: " + result.Describe());
        Assert.IsFalse(Directory.Exists(Msi.InstallFolder), "files were installed although the launch condition failed");
        Assert.IsEmpty(Msi.ProductEntries(), "the product was registered although the launch condition failed");
        Assert.IsNull(Msi.RunValue);
        Assert.AreEqual(pathBefore, Msi.MachinePath);
    }

    /// <summary>
    /// With Dokan2: files under Program Files, PATH, the Run key and the Start-menu shortcut, and a new shell finds
    /// addcow; uninstall removes all of it and gives PATH back exactly as it was.
    /// </summary>
    [TestMethod]
    public void InstallThenUninstall_PutsEverythingInPlaceAndRestoresPathExactly()
    {
        Msi.CreateDokanService();
        string pathBefore = Msi.MachinePath;

        Msi.Install(Artifacts.Msi, Logs).Succeeded();

        foreach (string file in new[] { "addcow.exe", "AddCowMount.Tray.exe", "AddCowMount.Core.dll", "coreclr.dll" })
        {
            Assert.IsTrue(File.Exists(Path.Combine(Msi.InstallFolder, file)), $"{file} is not under Program Files\\AddCowMount");
        }

        Assert.IsEmpty(Directory.GetFiles(Msi.InstallFolder, "*.pdb"), "symbol files were installed");
        Assert.AreEqual(1, Msi.PathEntries(Msi.MachinePath), $"PATH: {Msi.MachinePath}");
        Assert.AreEqual($"\"{Msi.InstallDir}AddCowMount.Tray.exe\" --at-sign-in", Msi.RunValue);
        Assert.HasCount(1, Msi.Shortcuts());
        Assert.AreEqual(Artifacts.MsiVersion.ToString(3), Msi.ProductEntries().Single());

        // A new shell finds addcow through PATH alone.
        RunResult version = WinePrefix.Run(["cmd", "/c", "addcow", "--version"], workingDirectory: Path.GetTempPath()).Succeeded();
        StringAssert.StartsWith(version.Output.Trim(), Artifacts.MsiVersion.ToString(3), version.Describe());

        Msi.Uninstall(Artifacts.Msi, Logs).Succeeded();

        Assert.IsFalse(Directory.Exists(Msi.InstallFolder), "Program Files\\AddCowMount is still there");
        Assert.IsNull(Msi.RunValue, "the Run key value is still there");
        Assert.IsEmpty(Msi.Shortcuts(), "the Start-menu shortcut is still there");
        Assert.IsEmpty(Msi.ProductEntries());
        Assert.AreEqual(pathBefore, Msi.MachinePath, "uninstall did not give PATH back exactly");
    }

    /// <summary>The documented way to leave out start at sign-in (ADDLOCAL=Main) installs everything else.</summary>
    [TestMethod]
    public void InstallWithAddLocalMain_LeavesOutStartAtSignIn()
    {
        Msi.CreateDokanService();

        Msi.Install(Artifacts.Msi, Logs, "ADDLOCAL=Main").Succeeded();

        Assert.IsTrue(File.Exists(Path.Combine(Msi.InstallFolder, "addcow.exe")), "ADDLOCAL=Main installed no files");
        Assert.AreEqual(1, Msi.PathEntries(Msi.MachinePath));
        Assert.HasCount(1, Msi.Shortcuts());
        Assert.IsNull(Msi.RunValue, "ADDLOCAL=Main still starts the tray at sign-in");
        Msi.Uninstall(Artifacts.Msi, Logs).Succeeded();
    }

    /// <summary>An upgrade over the previous build keeps one of everything: one product, one PATH entry, one shortcut.</summary>
    [TestMethod]
    public void UpgradeOverPreviousBuild_KeepsOneOfEverything()
    {
        Msi.CreateDokanService();
        string pathBefore = Msi.MachinePath;
        Version v = Artifacts.MsiVersion;
        string next = $"{v.Major}.{v.Minor}.{v.Build + 1}";
        string newer = Path.Combine(Logs, $"AddCowMount-{next}-x64.msi");
        Run.Program("bash", [Path.Combine(Artifacts.RepositoryRoot, "installer", "build-msi.sh"), Artifacts.WindowsPublish, next, newer],
            timeout: TimeSpan.FromMinutes(5)).Succeeded();
        try
        {
            Msi.Install(Artifacts.Msi, Logs).Succeeded();
            Msi.Install(newer, Logs).Succeeded();

            CollectionAssert.AreEqual(new[] { next }, Msi.ProductEntries(), "after the upgrade Add/Remove Programs lists these versions");
            Assert.AreEqual(1, Msi.PathEntries(Msi.MachinePath), $"PATH: {Msi.MachinePath}");
            Assert.HasCount(1, Msi.Shortcuts());
            Assert.IsNotNull(Msi.RunValue);
            Assert.IsTrue(File.Exists(Path.Combine(Msi.InstallFolder, "addcow.exe")), "the upgrade removed addcow.exe");

            Msi.Uninstall(newer, Logs).Succeeded();
            Assert.IsFalse(Directory.Exists(Msi.InstallFolder));
            Assert.IsEmpty(Msi.ProductEntries());
            Assert.AreEqual(pathBefore, Msi.MachinePath);
        }
        finally
        {
            Msi.EnsureUninstalled(newer, Logs);
            File.Delete(newer);
        }
    }
}
