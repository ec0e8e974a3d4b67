using System.Runtime.Versioning;
using AddCowMount.EndToEnd.Tests.Support;

namespace AddCowMount.EndToEnd.Tests;

/// <summary>Issue 3's user story: format the exposed disk, put files on it, unmount, remount read-only, read them back.</summary>
[TestClass]
[TestCategory("Integration")]
[OSCondition(OperatingSystems.Linux)]
[SupportedOSPlatform("linux")]
public sealed class FileSystemRoundTripTests
{
    [TestMethod]
    public void Ext4_WrittenWithDebugfs_SurvivesRemountReadOnly_AndConvertMatchesExposedImage()
    {
        E2eEnvironment.Require("mkfs.ext4", "e2fsck", "debugfs");
        using var ws = new Workspace();
        string baseHash = Workspace.Sha256(ws.BasePath);
        string image = ws.CreateOverlay();
        string mnt = ws.NewMountPoint();
        ws.MountBackground(image, mnt);
        string img = Path.Combine(mnt, "vm.img");

        Workspace.ToolOk("mkfs.ext4", "-F", "-q", img);
        Workspace.ToolOk("e2fsck", "-f", "-n", img);

        // Files of known content: text, a binary larger than one block group's worth of small writes, one in a folder.
        var files = new Dictionary<string, byte[]>
        {
            ["/hello.txt"] = "hello from addcow\n"u8.ToArray(),
            ["/random.bin"] = RandomBytes(700_001, seed: 7),
            ["/docs/nested.bin"] = RandomBytes(65_536, seed: 8),
        };
        var script = new List<string> { "mkdir docs" };
        foreach ((string name, byte[] content) in files)
        {
            string source = ws.Combine("src-" + Path.GetFileName(name));
            File.WriteAllBytes(source, content);
            script.Add($"write {source} {name.TrimStart('/')}");
        }

        string scriptPath = ws.Combine("debugfs.script");
        File.WriteAllLines(scriptPath, script);
        ProcessResult written = Workspace.ToolOk("debugfs", "-w", "-f", scriptPath, img);
        Assert.DoesNotContain("rror", written.Output + written.Error, written.Describe());

        // debugfs closed (and fsync'ed) the device; unmount flushes the overlay.
        ProcessResult unmounted = ws.AddCowOk("unmount", mnt);
        StringAssert.Contains(unmounted.Output, "Unmounted");
        Assert.IsFalse(Workspace.IsMounted(mnt), "the mount point is no longer mounted");
        Assert.IsEmpty(Directory.GetFileSystemEntries(mnt), "the mount point is an empty folder again");
        StringAssert.Contains(ws.AddCowOk("check", image).Output, "No errors");

        Assert.IsTrue(ws.MountBackground(image, mnt, "--read-only").ReadOnly, "list reports the read-only mount");
        Workspace.ToolOk("e2fsck", "-f", "-n", img);
        foreach ((string name, byte[] content) in files)
        {
            ProcessResult cat = Workspace.ToolOk("debugfs", "-R", $"cat {name}", img);
            CollectionAssert.AreEqual(content, cat.OutputBytes, $"{name} reads back through the read-only mount");
        }

        // Writes fail with EROFS, through the kernel and through a real tool.
        Assert.AreEqual(Posix.EROFS, Posix.OpenErrno(img, Posix.O_WRONLY), "opening vm.img for writing on a read-only mount");
        Assert.AreEqual(Posix.EROFS, Posix.OpenErrno(Path.Combine(mnt, "vm.vhd"), Posix.O_RDWR), "opening vm.vhd for writing on a read-only mount");
        ProcessResult debugfsWrite = Workspace.Tool("debugfs", "-w", "-R", $"write {scriptPath} refused.txt", img);
        StringAssert.Contains(debugfsWrite.Error, "Read-only file system", debugfsWrite.Describe());

        // The exposed image, copied through the mount, is what `addcow convert -O raw` writes.
        string copy = ws.Combine("copy-through-mount.img");
        File.Copy(img, copy);
        string converted = ws.Combine("converted.raw");
        ws.AddCowOk("convert", "-O", "raw", image, converted);
        Workspace.AssertSameBytes(copy, converted);

        ws.AddCowOk("unmount", mnt);
        Assert.AreEqual(baseHash, Workspace.Sha256(ws.BasePath), "the base image never changes");
        Workspace.AssertSameBytes(copy, ConvertToRaw(ws, image, "convert-after-unmount.raw"));
    }

    private static string ConvertToRaw(Workspace ws, string image, string name)
    {
        string path = ws.Combine(name);
        ws.AddCowOk("convert", "-O", "raw", image, path);
        return path;
    }

    internal static byte[] RandomBytes(int length, int seed)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }
}
