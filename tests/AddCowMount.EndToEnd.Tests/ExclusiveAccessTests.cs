using System.Runtime.Versioning;
using AddCowMount.EndToEnd.Tests.Support;

namespace AddCowMount.EndToEnd.Tests;

/// <summary>Issue 5, two processes and one image: with the image mounted, other writers are refused and change nothing.</summary>
[TestClass]
[TestCategory("Integration")]
[OSCondition(OperatingSystems.Linux)]
[SupportedOSPlatform("linux")]
public sealed class ExclusiveAccessTests
{
    [TestMethod]
    public void WritingVerbsAndSecondMount_WhileMounted_AreRefusedNamingThePid_AndChangeNoFile()
    {
        E2eEnvironment.Require();
        using var ws = new Workspace();
        string image = ws.CreateOverlay();
        ws.AddCowOk("io", "-c", "write -P 0x33 65536 4096", image);
        string other = ws.Combine("other.raw");
        File.Copy(ws.BasePath, other);
        string mnt = ws.NewMountPoint();
        string mnt2 = ws.NewMountPoint("mnt2");
        MountInfo mount = ws.MountBackground(image, mnt);
        string[] files = Directory.GetFiles(ws.Folder);
        Dictionary<string, string> before = files.ToDictionary(f => f, Workspace.Sha256);

        string[][] refused =
        [
            ["io", "-c", "write -P 0x11 0 512", image],
            ["io", "-c", "flush", image],
            ["commit", image],
            ["stream", image],
            ["resize", image, "64M"],
            ["rebase", "-b", "other.raw", image],
            ["rebase", "-u", "-b", "other.raw", image],
            ["mount", "--background", image, mnt2],
            ["mount", image, mnt2],
        ];
        foreach (string[] command in refused)
        {
            ProcessResult result = ws.AddCow(command);
            Assert.AreEqual(1, result.ExitCode, result.Describe());
            StringAssert.Contains(result.Error, "in use by another process", result.Describe());
            StringAssert.Contains(result.Error, $"pid {mount.Pid}", result.Describe());
            Assert.IsFalse(Workspace.IsMounted(mnt2), $"{result.CommandLine} left nothing mounted");
        }

        ProcessResult info = ws.AddCowOk("info", image);
        StringAssert.Contains(info.Output, "virtual size: 32 MiB");
        ProcessResult map = ws.AddCowOk("map", image);
        StringAssert.Contains(map.Output, Path.Combine(ws.Folder, "vm.raw"), "map shows the written extent in the image file");
        StringAssert.Contains(ws.AddCowOk("check", image).Output, "No errors");

        foreach ((string file, string hash) in before)
        {
            Assert.AreEqual(hash, Workspace.Sha256(file), $"{Path.GetFileName(file)} is unchanged");
        }

        CollectionAssert.AreEquivalent(files, Directory.GetFiles(ws.Folder), "no file was created or removed");
        Assert.HasCount(1, ws.ListMounts(), "the first mount is the only one");
        ws.AddCowOk("unmount", mnt);
    }
}
