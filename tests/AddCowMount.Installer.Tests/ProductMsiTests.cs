namespace AddCowMount.Installer.Tests;

[TestClass]
[OSCondition(OperatingSystems.Linux)]
public sealed class ProductMsiTests
{
    private const string UpgradeCode = "{7A3C1E52-4D8B-4F0E-9C61-2B5D8E4F7A10}";

    private static string s_root = "";
    private static string s_msi = "";

    [ClassInitialize]
    public static void BuildMsi(TestContext context)
    {
        MsiFixture.RequireTools();
        s_root = Directory.CreateTempSubdirectory("addcow-msi-test-").FullName;
        string payload = MsiFixture.CreateFakePayload(s_root);
        s_msi = Path.Combine(s_root, "out", "AddCowMount.msi");

        (int code, string output, string error) = MsiFixture.Run(
            "bash", Path.Combine(MsiFixture.RepositoryRoot, "installer", "build-msi.sh"), payload, MsiFixture.Version, s_msi);

        Assert.AreEqual(0, code, $"build-msi.sh failed:\n{output}\n{error}");
        Assert.IsTrue(File.Exists(s_msi), "build-msi.sh reported success but wrote no MSI.");
    }

    [ClassCleanup]
    public static void RemoveMsi()
    {
        if (s_root.Length > 0)
        {
            Directory.Delete(s_root, recursive: true);
        }
    }

    [TestMethod]
    public void Files_PayloadInstalledUnderProgramFilesWithoutSymbols()
    {
        (int code, string output, string error) = MsiFixture.Run("msiextract", "-l", s_msi);
        Assert.AreEqual(0, code, error);
        string[] files = [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(f => f.Trim()).Order(StringComparer.Ordinal)];

        CollectionAssert.AreEqual(
            new[]
            {
                "AddCowMount/AddCowMount.Core.dll",
                "AddCowMount/AddCowMount.Tray.exe",
                "AddCowMount/System.Windows.Forms.dll",
                "AddCowMount/addcow.exe",
                "AddCowMount/coreclr.dll",
                "AddCowMount/de/AddCowMount.Tray.resources.dll",
            },
            files);
        List<string[]> dirs = MsiFixture.Table(s_msi, "Directory");
        CollectionAssert.Contains(dirs.Select(d => string.Join('|', d)).ToList(), "INSTALLDIR|ProgramFiles64Folder|AddCowMount");
    }

    [TestMethod]
    public void Components_AreSixtyFourBit()
    {
        List<string[]> components = MsiFixture.Table(s_msi, "Component");
        string[] addcow = components.Single(c => c[0] == "CMP_AddCowExe");

        Assert.AreEqual("INSTALLDIR", addcow[2]);
        Assert.AreEqual(256, int.Parse(addcow[3], System.Globalization.CultureInfo.InvariantCulture) & 256, "addcow.exe component is not marked 64-bit");
        StringAssert.Contains(MsiFixture.Run("msiinfo", "suminfo", s_msi).Output, "Template: x64;1033");
    }

    [TestMethod]
    public void Shortcut_StartMenuStartsTheTray()
    {
        string[] shortcut = MsiFixture.Table(s_msi, "Shortcut").Single();

        Assert.AreEqual("AppMenuFolder", shortcut[1]);
        Assert.AreEqual("AddCowMount", shortcut[2]);
        Assert.AreEqual("[INSTALLDIR]AddCowMount.Tray.exe", shortcut[4]);
        string[] menuDir = MsiFixture.Table(s_msi, "Directory").Single(d => d[0] == "AppMenuFolder");
        Assert.AreEqual("ProgramMenuFolder", menuDir[1]);
        Assert.IsTrue(MsiFixture.Table(s_msi, "RemoveFile").Any(r => r[3] == "AppMenuFolder" && r[4] == "2"), "the Start-menu folder is not removed on uninstall");
    }

    [TestMethod]
    public void Path_EnvironmentRowAppendsInstallDirAndActionsAreSequenced()
    {
        string[] row = MsiFixture.Table(s_msi, "Environment").Single();
        CollectionAssert.AreEqual(new[] { "PathAddCow", "=-*PATH", "[INSTALLDIR];[~]", "CMP_AddCowExe" }, row);

        Dictionary<string, string[]> sequence = MsiFixture.Table(s_msi, "InstallExecuteSequence").ToDictionary(r => r[0]);
        Assert.AreEqual("5200", sequence["WriteEnvironmentStrings"][2]);
        Assert.AreEqual("3300", sequence["RemoveEnvironmentStrings"][2]);
        int Seq(string action) => int.Parse(sequence[action][2], System.Globalization.CultureInfo.InvariantCulture);
        Assert.IsTrue(Seq("InstallInitialize") < Seq("RemoveEnvironmentStrings") && Seq("WriteEnvironmentStrings") < Seq("InstallFinalize"));
    }

    [TestMethod]
    public void Upgrade_FixedUpgradeCodeWithMajorUpgradeAndDowngradeBlock()
    {
        Dictionary<string, string> properties = MsiFixture.Table(s_msi, "Property").ToDictionary(r => r[0], r => r.ElementAtOrDefault(1) ?? "");
        Assert.AreEqual(UpgradeCode, properties["UpgradeCode"]);
        Assert.AreEqual(MsiFixture.Version, properties["ProductVersion"]);
        Assert.AreEqual("1", properties["ALLUSERS"]);

        List<string[]> upgrade = MsiFixture.Table(s_msi, "Upgrade");
        Assert.IsTrue(upgrade.All(r => r[0] == UpgradeCode));
        Assert.IsTrue(upgrade.Any(r => r[6] == "WIX_UPGRADE_DETECTED" && r[2] == MsiFixture.Version), "no row detecting older versions");
        Assert.IsTrue(upgrade.Any(r => r[6] == "WIX_DOWNGRADE_DETECTED" && r[1] == MsiFixture.Version), "no row detecting newer versions");
        Assert.IsTrue(MsiFixture.Table(s_msi, "InstallExecuteSequence").Any(r => r[0] == "RemoveExistingProducts"), "older versions are not removed");
        Assert.IsTrue(MsiFixture.Table(s_msi, "LaunchCondition").Any(r => r[0] == "NOT WIX_DOWNGRADE_DETECTED"));
    }

    [TestMethod]
    public void Upgrade_TwoBuildsShareUpgradeCodeButNotProductCode()
    {
        string second = Path.Combine(s_root, "out", "second.msi");
        (int code, _, string error) = MsiFixture.Run(
            "bash", Path.Combine(MsiFixture.RepositoryRoot, "installer", "build-msi.sh"), Path.Combine(s_root, "payload"), "1.2.4", second);
        Assert.AreEqual(0, code, error);

        string Property(string msi, string name) => MsiFixture.Table(msi, "Property").Single(r => r[0] == name)[1];
        Assert.AreEqual(Property(s_msi, "UpgradeCode"), Property(second, "UpgradeCode"));
        Assert.AreNotEqual(Property(s_msi, "ProductCode"), Property(second, "ProductCode"));
        Assert.AreEqual("1.2.4", Property(second, "ProductVersion"));
    }

    [TestMethod]
    public void Dokany_MissingDriverBlocksInstallAndSaysWhereToGetIt()
    {
        string[] search = MsiFixture.Table(s_msi, "AppSearch").Single();
        string[] locator = MsiFixture.Table(s_msi, "RegLocator").Single(r => r[0] == search[1]);
        Assert.AreEqual("2", locator[1], "not searched under HKLM");
        Assert.AreEqual(@"SYSTEM\CurrentControlSet\Services\Dokan2", locator[2]);

        string[] condition = MsiFixture.Table(s_msi, "LaunchCondition").Single(r => r[0].Contains(search[0], StringComparison.Ordinal));
        Assert.AreEqual($"Installed OR {search[0]}", condition[0]);
        StringAssert.Contains(condition[1], "Dokany 2.x");
        StringAssert.Contains(condition[1], "https://github.com/dokan-dev/dokany/releases");
    }

    [TestMethod]
    public void StartAtSignIn_OptionalFeatureWritesRunValue()
    {
        string[] run = MsiFixture.Table(s_msi, "Registry").Single(r => r[2] == @"Software\Microsoft\Windows\CurrentVersion\Run");
        Assert.AreEqual("2", run[1]);
        Assert.AreEqual("\"[INSTALLDIR]AddCowMount.Tray.exe\" --at-sign-in", run[4]);

        List<string[]> featureComponents = MsiFixture.Table(s_msi, "FeatureComponents");
        CollectionAssert.AreEqual(new[] { run[5] }, featureComponents.Where(f => f[0] == "StartAtSignIn").Select(f => f[1]).ToArray());
        Assert.IsTrue(featureComponents.Any(f => f[0] == "Main" && f[1] == "CMP_AddCowExe"));
    }

    [TestMethod]
    public void Script_MissingExecutable_FailsNamingIt()
    {
        string payload = Path.Combine(s_root, "incomplete");
        Directory.CreateDirectory(payload);
        File.WriteAllText(Path.Combine(payload, "AddCowMount.Tray.exe"), "x");

        (int code, _, string error) = MsiFixture.Run(
            "bash", Path.Combine(MsiFixture.RepositoryRoot, "installer", "build-msi.sh"), payload, "1.0.0", Path.Combine(s_root, "out", "bad.msi"));

        Assert.AreEqual(1, code);
        StringAssert.Contains(error, "addcow.exe is missing");
    }
}
