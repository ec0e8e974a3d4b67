using System.Runtime.Versioning;
using System.Text.Json;
using AddCowMount.EndToEnd.Tests.Support;

namespace AddCowMount.EndToEnd.Tests;

/// <summary>What a user sees of a mount's life: list, unmount (refused while busy), SIGTERM, copy-on-read.</summary>
[TestClass]
[TestCategory("Integration")]
[OSCondition(OperatingSystems.Linux)]
[SupportedOSPlatform("linux")]
public sealed class LifecycleTests
{
    [TestMethod]
    public void List_Json_ShowsEachMountWithPidFilesAndReadOnly()
    {
        E2eEnvironment.Require();
        using var ws = new Workspace();
        string first = ws.CreateOverlay("vm");
        string second = ws.CreateOverlay("other");
        string mntA = ws.NewMountPoint("a");
        string mntB = ws.NewMountPoint("b");
        Assert.IsEmpty(ws.ListMounts(), "nothing is mounted yet");
        StringAssert.Contains(ws.AddCowOk("list").Output, "No images are mounted.");

        ws.MountBackground(first, mntA);
        ws.MountBackground(second, mntB, "--read-only");
        List<MountInfo> mounts = ws.ListMounts();

        Assert.HasCount(2, mounts);
        Assert.AreNotEqual(mounts[0].Pid, mounts[1].Pid, "each mount has its own process");
        MountInfo a = mounts.Single(m => m.MountPoint == mntA);
        MountInfo b = mounts.Single(m => m.MountPoint == mntB);
        Assert.AreEqual(first, a.Image);
        Assert.AreEqual(second, b.Image);
        Assert.IsFalse(a.ReadOnly);
        Assert.IsTrue(b.ReadOnly);
        CollectionAssert.AreEqual(new[] { "vm.img", "vm.vhd", "vm.vhdx", "vm.vmdk" }.Select(f => Path.Combine(mntA, f)).ToList(), a.Files);
        CollectionAssert.AreEqual(new[] { "other.img", "other.vhd", "other.vhdx", "other.vmdk" }.Select(f => Path.Combine(mntB, f)).ToList(), b.Files);
        foreach (MountInfo m in mounts)
        {
            string commandLine = File.ReadAllText($"/proc/{m.Pid}/cmdline").Replace('\0', ' ');
            StringAssert.Contains(commandLine, "addcow", $"pid {m.Pid} is an addcow process");
            StringAssert.Contains(commandLine, m.Image);
            Assert.IsTrue(m.Files.All(File.Exists), "every listed file exists on the mount");
            Assert.AreEqual(0, m.OpenHandles);
            if (Environment.GetEnvironmentVariable("DOTNET_TieredCompilation") is null)
            {
                // A serving process runs with tiering off (no recompiling under its first load); a user's setting wins.
                string[] environment = File.ReadAllText($"/proc/{m.Pid}/environ").Split('\0');
                CollectionAssert.Contains(environment, "DOTNET_TieredCompilation=0", $"pid {m.Pid}'s environment");
            }
        }

        StringAssert.Contains(ws.AddCowOk("list").Output, $"{mntB}  {second}  pid {b.Pid}  read-only");
        ws.AddCowOk("unmount", mntA);
        ws.AddCowOk("unmount", mntB);
        Assert.IsEmpty(ws.ListMounts());
    }

    [TestMethod]
    public void Unmount_WhileFileHeldOpen_IsRefused_AndForceDetachesUntilClosed()
    {
        E2eEnvironment.Require();
        using var ws = new Workspace();
        string image = ws.CreateOverlay();
        string mnt = ws.NewMountPoint();
        ws.MountBackground(image, mnt);
        string img = Path.Combine(mnt, "vm.img");
        byte[] expected = Workspace.ReadRange(ws.BasePath, 1 << 20, 4096);

        Microsoft.Win32.SafeHandles.SafeFileHandle held = File.OpenHandle(img, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        try
        {
            Assert.AreEqual(1, ws.ListMounts().Single().OpenHandles, "list counts the open handle");
            ProcessResult refused = ws.AddCow("unmount", mnt);
            Assert.AreEqual(1, refused.ExitCode, refused.Describe());
            StringAssert.Contains(refused.Error, "still open", refused.Describe());
            StringAssert.Contains(refused.Error, "--force", refused.Describe());
            Assert.IsTrue(Workspace.IsMounted(mnt), "a refused unmount leaves the mount in place");
            Assert.IsTrue(File.Exists(img));

            // --force detaches the folder at once; the holder keeps working until it closes its file.
            using var forced = ProcessRunner.Start(E2eEnvironment.DotnetHost, [E2eEnvironment.AddCowDll, "unmount", "--force", mnt],
                new Dictionary<string, string> { ["ADDCOW_STATE_DIR"] = ws.StateDir });
            Task<string> forcedOutput = forced.StandardOutput.ReadToEndAsync();
            Task<string> forcedErrors = forced.StandardError.ReadToEndAsync();
            Assert.IsTrue(SpinWait.SpinUntil(() => !Workspace.IsMounted(mnt), TimeSpan.FromSeconds(15)), "the mount point is detached");
            Assert.IsFalse(File.Exists(img), "the folder no longer shows the disk");
            byte[] stillReadable = new byte[4096];
            Assert.AreEqual(4096, RandomAccess.Read(held, stillReadable, 1 << 20));
            CollectionAssert.AreEqual(expected, stillReadable, "the open handle still reads the disk after the detach");

            held.Dispose();
            Assert.IsTrue(forced.WaitForExit(TimeSpan.FromSeconds(30)), "unmount --force finishes once the file is closed");
            Assert.AreEqual(0, forced.ExitCode, forcedErrors.Result);
            StringAssert.Contains(forcedOutput.Result, "Unmounted");
        }
        finally
        {
            held.Dispose();
        }

        Assert.IsEmpty(ws.ListMounts(), "the registry is empty");
        StringAssert.Contains(ws.AddCowOk("check", image).Output, "No errors");
    }

    [TestMethod]
    public void Sigterm_ToForegroundMount_FlushesAndUnmounts()
    {
        E2eEnvironment.Require();
        using var ws = new Workspace();
        string image = ws.CreateOverlay();
        string mnt = ws.NewMountPoint();
        ForegroundMount mount = ws.StartForegroundMount(image, mnt);
        Assert.AreEqual(mount.Process.Id, ws.ListMounts().Single().Pid);

        // Written, never fsync'ed: SIGTERM must flush it.
        byte[] data = new byte[(1 << 20) + 333];
        Array.Fill(data, (byte)0x5a);
        using (Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle(Path.Combine(mnt, "vm.img"), FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            RandomAccess.Write(handle, data, 3_000_001);
        }

        Assert.AreEqual(0, Posix.Kill(mount.Process.Id, Posix.SIGTERM));
        Assert.IsTrue(mount.Process.WaitForExit(TimeSpan.FromSeconds(30)), "the mount ends on SIGTERM");
        Assert.AreEqual(0, mount.Process.ExitCode, mount.Errors.Result);
        StringAssert.Contains(mount.LaterOutput.Result, $"Unmounted {mnt}.");
        Assert.IsFalse(Workspace.IsMounted(mnt));
        Assert.IsEmpty(Directory.GetFileSystemEntries(mnt), "the mount point is an empty folder");
        Assert.IsEmpty(ws.ListMounts(), "the registry is empty");
        Assert.IsEmpty(Directory.GetFiles(Path.Combine(ws.StateDir, "mounts")), "no record is left behind");

        StringAssert.Contains(ws.AddCowOk("check", image).Output, "No errors");
        ws.AddCowOk("io", "-r", "-c", $"read -P 0x5a 3000001 {data.Length}", image);
        byte[] before = Workspace.ReadRange(ws.BasePath, 3_000_001 - 1, 1);
        byte[] after = Workspace.ReadRange(ws.BasePath, 3_000_001 + data.Length, 1);
        string converted = ws.Combine("converted.raw");
        ws.AddCowOk("convert", "-O", "raw", image, converted);
        CollectionAssert.AreEqual(before, Workspace.ReadRange(converted, 3_000_001 - 1, 1), "the byte before the write is the base's");
        CollectionAssert.AreEqual(after, Workspace.ReadRange(converted, 3_000_001 + data.Length, 1), "the byte after the write is the base's");
    }

    [TestMethod]
    public void CopyOnRead_ReadingThroughMount_FillsImageFileWithBackingData()
    {
        E2eEnvironment.Require();
        using var ws = new Workspace();
        string image = ws.CreateOverlay();
        string raw = ws.Combine("vm.raw");
        string mnt = ws.NewMountPoint();
        const long offset = 4L << 20;
        const int length = 1 << 20;
        byte[] backing = Workspace.ReadRange(ws.BasePath, offset, length);
        Assert.AreEqual(0, AllocatedBytes(ws, image), "a fresh overlay has nothing allocated");

        // A plain mount reads without copying.
        ws.MountBackground(image, mnt);
        CollectionAssert.AreEqual(backing, Workspace.ReadRange(Path.Combine(mnt, "vm.img"), offset, length));
        ws.AddCowOk("unmount", mnt);
        Assert.AreEqual(0, AllocatedBytes(ws, image), "reading without --copy-on-read allocates nothing");

        ws.MountBackground(image, mnt, "--copy-on-read");
        CollectionAssert.AreEqual(backing, Workspace.ReadRange(Path.Combine(mnt, "vm.img"), offset, length));
        ws.AddCowOk("unmount", mnt);

        long allocated = AllocatedBytes(ws, image);
        Assert.IsGreaterThanOrEqualTo(length, allocated, "the read range is now allocated in the image file");
        Assert.IsLessThan(ws.BaseSize, allocated, "only what was read was copied");
        CollectionAssert.AreEqual(backing, Workspace.ReadRange(raw, offset, length), "the image file holds the backing data at the same offset");
        StringAssert.Contains(ws.AddCowOk("map", image).Output, raw);
        StringAssert.Contains(ws.AddCowOk("check", image).Output, "No errors");

        ProcessResult both = ws.AddCow("mount", "--read-only", "--copy-on-read", image, mnt);
        Assert.AreEqual(2, both.ExitCode, both.Describe());
        StringAssert.Contains(both.Error, "--copy-on-read");
    }

    private static long AllocatedBytes(Workspace ws, string image)
    {
        using JsonDocument info = JsonDocument.Parse(ws.AddCowOk("info", "--output", "json", image).Output);
        return info.RootElement.GetProperty("allocated-bytes").GetInt64();
    }
}
