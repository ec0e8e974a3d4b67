using System.Runtime.Versioning;
using System.Text;
using AddCowMount.EndToEnd.Tests.Support;

namespace AddCowMount.EndToEnd.Tests;

/// <summary>Issue 5's untrusted images and access policy, with the real program.</summary>
[TestClass]
[TestCategory("Integration")]
[OSCondition(OperatingSystems.Linux)]
[SupportedOSPlatform("linux")]
public sealed class UntrustedImageTests
{
    private const int BackingFileField = 12;
    private const int ImageFileField = 1036;
    private const int NameLength = 1024;

    [TestMethod]
    [DataRow("//server/share/x", "a network (UNC) path")]
    [DataRow("/dev/sda", "a device path")]
    [DataRow("nbd:host:1", "a protocol path")]
    public void BackingFileNamingUnsafePath_IsRefusedByInfoMountAndIo_UnlessAllowed(string backing, string reason)
    {
        E2eEnvironment.Require();
        using var ws = new Workspace(baseSize: 1 << 20);
        string image = ws.CreateOverlay();
        PatchName(image, BackingFileField, backing);
        string mnt = ws.NewMountPoint();
        string hash = Workspace.Sha256(image);

        ProcessResult info = ws.AddCow("info", image);
        Assert.AreEqual(1, info.ExitCode, info.Describe());
        StringAssert.Contains(info.Output, $"backing file: {backing} (actual path: refused: {reason})", "info shows the chain before refusing");
        StringAssert.Contains(info.Error, $"backing file '{backing}' is {reason}; refused", info.Describe());

        foreach (string[] command in new[] { new[] { "mount", "--background", image, mnt }, ["io", "-c", "read 0 512", image] })
        {
            ProcessResult refused = ws.AddCow(command);
            Assert.AreEqual(1, refused.ExitCode, refused.Describe());
            StringAssert.Contains(refused.Error, "refused (pass --allow-unsafe-paths", refused.Describe());
        }

        // check reports the refusal as a finding (exit 3 = problems found) instead of failing.
        ProcessResult check = ws.AddCow("check", image);
        Assert.AreEqual(3, check.ExitCode, check.Describe());
        StringAssert.Contains(check.Output, $"backing file '{backing}' is {reason}; refused", check.Describe());

        Assert.IsFalse(Workspace.IsMounted(mnt));
        if (File.Exists(backing))
        {
            return; // Never open a real device from a test.
        }

        // Allowed: the refusal is lifted, and opening fails for the file that is not there.
        foreach (string[] command in new[] { new[] { "info", "--allow-unsafe-paths", image }, ["io", "--allow-unsafe-paths", "-c", "read 0 512", image] })
        {
            ProcessResult allowed = ws.AddCow(command);
            Assert.AreEqual(1, allowed.ExitCode, allowed.Describe());
            Assert.DoesNotContain("refused", allowed.Error, allowed.Describe());
            StringAssert.Contains(allowed.Error, "backing file not found", allowed.Describe());
        }

        ProcessResult mount = ws.AddCow("mount", "--background", "--allow-unsafe-paths", image, mnt);
        Assert.AreEqual(1, mount.ExitCode, mount.Describe());
        Assert.DoesNotContain("refused", mount.Error, mount.Describe());
        StringAssert.Contains(mount.Error, "backing file not found", mount.Describe());
        Assert.IsFalse(Workspace.IsMounted(mnt));
        Assert.AreEqual(hash, Workspace.Sha256(image), "refused and failed opens leave the header as it was");
    }

    [TestMethod]
    public void ImageFileNamingUncPath_IsRefused()
    {
        E2eEnvironment.Require();
        using var ws = new Workspace(baseSize: 1 << 20);
        string image = ws.CreateOverlay();
        PatchName(image, ImageFileField, "//server/share/vm.raw");
        ProcessResult info = ws.AddCow("info", image);
        Assert.AreEqual(1, info.ExitCode, info.Describe());
        StringAssert.Contains(info.Output, "image file: //server/share/vm.raw (actual path: refused: a network (UNC) path)");
        ProcessResult io = ws.AddCow("io", "-c", "write -P 1 0 512", image);
        Assert.AreEqual(1, io.ExitCode, io.Describe());
        StringAssert.Contains(io.Error, "image file '//server/share/vm.raw' is a network (UNC) path; refused");
    }

    [TestMethod]
    public void MountWithoutAllowOther_IsNotReadableByAnotherUser_AndAllowOtherLetsThemRead()
    {
        E2eEnvironment.Require("setpriv");
        using var ws = new Workspace(baseSize: 1 << 20);
        // The test folder itself must be reachable by "nobody"; only the mount's policy may refuse.
        File.SetUnixFileMode(ws.Folder, (UnixFileMode)0b111_101_101);
        string image = ws.CreateOverlay();
        string mnt = ws.NewMountPoint();
        string img = Path.Combine(mnt, "vm.img");
        string[] asNobody = ["--reuid=65534", "--regid=65534", "--clear-groups", "cat", img];

        ws.MountBackground(image, mnt);
        ProcessResult denied = Workspace.Tool("setpriv", asNobody);
        Assert.AreNotEqual(0, denied.ExitCode, denied.Describe());
        StringAssert.Contains(denied.Error, "Permission denied", denied.Describe());
        Assert.IsEmpty(denied.OutputBytes, "nothing of the disk reaches the other user");
        ws.AddCowOk("unmount", mnt);

        ws.MountBackground(image, mnt, "--allow-other");
        ProcessResult allowed = Workspace.ToolOk("setpriv", asNobody);
        CollectionAssert.AreEqual(File.ReadAllBytes(ws.BasePath), allowed.OutputBytes, "with --allow-other the other user reads the disk");
        ProcessResult write = Workspace.Tool("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "dd", "if=/dev/zero", $"of={img}", "bs=512", "count=1", "conv=notrunc");
        Assert.AreNotEqual(0, write.ExitCode, "the file's 0644 mode still keeps other users from writing");
        ws.AddCowOk("unmount", mnt);
    }

    /// <summary>Overwrites one NUL-padded name field of an add-cow header, as a hostile image would carry it.</summary>
    private static void PatchName(string addCowPath, int field, string name)
    {
        byte[] header = File.ReadAllBytes(addCowPath);
        byte[] encoded = Encoding.UTF8.GetBytes(name);
        header.AsSpan(field, NameLength).Clear();
        encoded.CopyTo(header.AsSpan(field));
        File.WriteAllBytes(addCowPath, header);
    }
}
