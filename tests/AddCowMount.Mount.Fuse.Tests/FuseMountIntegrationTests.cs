using System.Runtime.Versioning;

namespace AddCowMount.Mount.Fuse.Tests;

[TestClass]
[TestCategory("Integration")]
[OSCondition(OperatingSystems.Linux)]
[SupportedOSPlatform("linux")]
public sealed class FuseMountIntegrationTests
{
    private const int EPERM = 1;
    private const int EACCES = 13;
    private const int EINVAL = 22;
    private const int EROFS = 30;

    [TestMethod]
    public void Mount_ListsFilesWithSizesModesAndOwner()
    {
        using var mounted = new MountedVolume();

        CollectionAssert.AreEquivalent(
            new[] { "disk.img", "notes.txt", "views" },
            Directory.GetFileSystemEntries(mounted.Folder).Select(Path.GetFileName).ToArray());
        CollectionAssert.AreEqual(new[] { "copy.raw" }, Directory.GetFiles(mounted.PathOf("/views")).Select(Path.GetFileName).ToArray());

        string uid = Tool.Run("id", "-u").Output.Trim();
        ToolResult stat = Tool.Run("stat", "-c", "%s %a %u %F", mounted.PathOf(InMemoryVolume.DiskPath), mounted.PathOf(InMemoryVolume.NotesPath), mounted.PathOf("/views"));
        Assert.AreEqual(0, stat.ExitCode, stat.Error);
        CollectionAssert.AreEqual(
            new[] { $"8388608 644 {uid} regular file", $"22 444 {uid} regular file", $"0 755 {uid} directory" },
            stat.Output.Trim().Split('\n'));
        Assert.IsNotNull(MountTable.Find(mounted.Folder));
        Assert.AreEqual("fuse.addcow", MountTable.Find(mounted.Folder)!.FileSystemType);
    }

    [TestMethod]
    public void Mount_LetsTheKernelKeep64AsynchronousRequestsInFlight()
    {
        using var mounted = new MountedVolume();

        // The kernel's view of the connection, in the FUSE control file system (/sys/fs/fuse/connections/DEV, named by
        // the mount's device number as the kernel stores it: major << 20 | minor).
        string connections = FuseControl.Folder();
        ToolResult stat = Tool.Run("stat", "-c", "%Hd %Ld", mounted.PathOf(InMemoryVolume.DiskPath));
        Assert.AreEqual(0, stat.ExitCode, stat.Error);
        uint[] device = stat.Output.Trim().Split(' ').Select(uint.Parse).ToArray();
        string connection = Path.Combine(connections, ((device[0] << 20) | device[1]).ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.AreEqual("64", File.ReadAllText(Path.Combine(connection, "max_background")).Trim(), "the kernel's default is 12");
        Assert.AreEqual("48", File.ReadAllText(Path.Combine(connection, "congestion_threshold")).Trim());
    }

    [TestMethod]
    public void Read_UnalignedLargeRanges_MatchVolumeBytes()
    {
        using var mounted = new MountedVolume();
        byte[] expected = mounted.Volume.Disk;

        using (var handle = File.OpenHandle(mounted.PathOf(InMemoryVolume.DiskPath)))
        {
            byte[] buffer = new byte[300_001];
            Assert.AreEqual(buffer.Length, RandomAccess.Read(handle, buffer, 12_345));
            CollectionAssert.AreEqual(expected[12_345..(12_345 + buffer.Length)], buffer);
        }

        Assert.AreEqual("hello from the volume\n", File.ReadAllText(mounted.PathOf(InMemoryVolume.NotesPath)));

        string copy = Path.Combine(Path.GetTempPath(), $"addcow-cat-{Guid.NewGuid():N}.bin");
        try
        {
            File.WriteAllBytes(copy, expected);
            ToolResult cmp = Tool.Run("cmp", copy, mounted.PathOf(InMemoryVolume.DiskPath));
            Assert.AreEqual(0, cmp.ExitCode, cmp.Output + cmp.Error);
            ToolResult cat = Tool.Run("sh", "-c", $"cat '{mounted.PathOf(InMemoryVolume.DiskPath)}' | cmp - '{copy}'");
            Assert.AreEqual(0, cat.ExitCode, cat.Output + cat.Error);
        }
        finally
        {
            File.Delete(copy);
        }

        Assert.IsGreaterThan(128 * 1024, mounted.Mount.Adapter!.LargestRead, "requests larger than 128 KiB reach the volume");
    }

    [TestMethod]
    public void Write_FromTestProcessAtUnalignedOffset_LandsInVolumeAndReadsBack()
    {
        using var mounted = new MountedVolume();
        byte[] data = new byte[1_048_576 + 3];
        Random.Shared.NextBytes(data);
        const long offset = 777;

        using (var handle = File.OpenHandle(mounted.PathOf(InMemoryVolume.DiskPath), FileMode.Open, FileAccess.ReadWrite))
        {
            RandomAccess.Write(handle, data, offset);
            byte[] back = new byte[data.Length];
            Assert.AreEqual(data.Length, RandomAccess.Read(handle, back, offset));
            CollectionAssert.AreEqual(data, back);
        }

        CollectionAssert.AreEqual(data, mounted.Volume.Disk[(int)offset..((int)offset + data.Length)]);
        // The kernel splits by max_pages (256 with 1 MiB max_write) of the user buffer, so an unaligned buffer loses one partial page.
        Assert.IsGreaterThan(1_048_576L - 4096, mounted.Mount.Adapter!.LargestWrite, "1 MiB max_write was negotiated");
        Assert.IsLessThanOrEqualTo(1_048_576L, mounted.Mount.Adapter!.LargestWrite);
    }

    [TestMethod]
    public void Dd_WithOflagDirect_WritesExactRange()
    {
        using var mounted = new MountedVolume();
        string source = Path.Combine(Path.GetTempPath(), $"addcow-dd-{Guid.NewGuid():N}.bin");
        byte[] data = new byte[3 * 65536];
        Random.Shared.NextBytes(data);
        File.WriteAllBytes(source, data);
        byte[] before = (byte[])mounted.Volume.Disk.Clone();
        try
        {
            ToolResult dd = Tool.Run("dd", $"if={source}", $"of={mounted.PathOf(InMemoryVolume.DiskPath)}", "bs=64K", "seek=5", "conv=notrunc,fsync", "oflag=direct", "status=none");
            Assert.AreEqual(0, dd.ExitCode, dd.Error);
        }
        finally
        {
            File.Delete(source);
        }

        const int start = 5 * 65536;
        CollectionAssert.AreEqual(data, mounted.Volume.Disk[start..(start + data.Length)]);
        CollectionAssert.AreEqual(before[..start], mounted.Volume.Disk[..start]);
        CollectionAssert.AreEqual(before[(start + data.Length)..], mounted.Volume.Disk[(start + data.Length)..]);
        Assert.IsGreaterThanOrEqualTo(1, mounted.Volume.FlushCount, "conv=fsync reached the volume");
    }

    /// <summary>
    /// A write's payload reaches the volume page-aligned (the loop reads each request 80 bytes before a page), so a
    /// direct write of it needs no bounce copy; libfuse's own loop put it 80 bytes into a malloc'ed buffer.
    /// </summary>
    [TestMethod]
    public void Writes_ReachTheVolumeWithTheirPayloadOnAPageBoundary()
    {
        using var mounted = new MountedVolume();
        byte[] data = new byte[1024 * 1024];
        Random.Shared.NextBytes(data);
        using (var file = File.OpenHandle(mounted.PathOf(InMemoryVolume.DiskPath), FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            RandomAccess.Write(file, data, 2 * 1024 * 1024);
            RandomAccess.Write(file, data.AsSpan(0, 4096), 4096);
        }

        CollectionAssert.AreEqual(data, mounted.Volume.Disk[(2 * 1024 * 1024)..(3 * 1024 * 1024)], "the bytes landed");
        var writes = mounted.Volume.Writes.ToArray();
        Assert.IsTrue(writes.Any(w => w.Offset == 2 * 1024 * 1024), "the 1 MiB write arrived: " + string.Join(", ", writes));
        foreach ((long offset, int length, int pageOffset) in writes)
        {
            Assert.AreEqual(0, pageOffset, $"the payload of the {length}-byte write at {offset} starts on a page");
        }
    }

    [TestMethod]
    public void RefusedOperations_AnswerTheRightErrno()
    {
        using var mounted = new MountedVolume();
        string disk = mounted.PathOf(InMemoryVolume.DiskPath);

        Assert.AreEqual(EACCES, Posix.Errno(Posix.Unlink(disk)));
        Assert.AreEqual(EACCES, Posix.Errno(Posix.Rename(disk, mounted.PathOf("/moved.img"))));
        Assert.AreEqual(EACCES, Posix.OpenErrno(mounted.PathOf("/new.bin"), Posix.O_WRONLY | Posix.O_CREAT));
        Assert.AreEqual(EACCES, Posix.Errno(Posix.Mkdir(mounted.PathOf("/newdir"), 0x1ED)));
        Assert.AreEqual(EINVAL, Posix.Errno(Posix.Truncate(disk, 4096)));
        Assert.AreEqual(EPERM, Posix.Errno(Posix.Chmod(disk, 0x1FF)));
        Assert.AreEqual(0, Posix.Errno(Posix.Chmod(disk, 0x1A4)), "chmod to the shown mode is a no-op");
        Assert.AreEqual(0, Posix.Errno(Posix.Truncate(disk, 8 * 1024 * 1024)), "truncate to the current size is a no-op");

        StringAssert.Contains(Tool.Run("rm", "-f", disk).Error, "Permission denied");
        StringAssert.Contains(Tool.Run("mv", disk, mounted.PathOf("/x.img")).Error, "Permission denied");
        StringAssert.Contains(Tool.Run("touch", mounted.PathOf("/fresh.txt")).Error, "Permission denied");
        StringAssert.Contains(Tool.Run("truncate", "-s", "0", disk).Error, "Invalid argument");
        Assert.IsTrue(File.Exists(disk));
        Assert.AreEqual(8L * 1024 * 1024, new FileInfo(disk).Length);

        ToolResult touch = Tool.Run("touch", "-m", "-d", "2021-02-03 04:05:06Z", disk);
        Assert.AreEqual(0, touch.ExitCode, touch.Error);
        Assert.AreEqual(new DateTime(2021, 2, 3, 4, 5, 6, DateTimeKind.Utc), mounted.Volume.LastSetWriteTime);
    }

    [TestMethod]
    public void ReadOnlyMount_RefusesWritesWithErofs()
    {
        using var mounted = new MountedVolume(readOnly: true);
        string disk = mounted.PathOf(InMemoryVolume.DiskPath);
        byte[] before = (byte[])mounted.Volume.Disk.Clone();

        Assert.AreEqual(EROFS, Posix.OpenErrno(disk, Posix.O_RDWR));
        Assert.AreEqual(EROFS, Posix.Errno(Posix.Unlink(disk)));
        Assert.AreEqual(EROFS, Posix.Errno(Posix.Truncate(disk, 0)));
        ToolResult dd = Tool.Run("dd", "if=/dev/zero", $"of={disk}", "bs=4K", "count=1", "conv=notrunc", "status=none");
        Assert.AreNotEqual(0, dd.ExitCode);
        StringAssert.Contains(dd.Error, "Read-only file system");
        StringAssert.Contains(Tool.Run("touch", disk).Error, "Read-only file system");
        Assert.AreEqual("444", Tool.Run("stat", "-c", "%a", disk).Output.Trim());
        CollectionAssert.AreEqual(before, mounted.Volume.Disk);
        Assert.AreEqual(0, Posix.OpenErrno(disk, Posix.O_RDONLY), "reading still works");
    }

    [TestMethod]
    public void Stop_UnmountsAndFlushes_SecondStopIsHarmless()
    {
        FuseTestEnvironment.Require();
        string folder = Directory.CreateTempSubdirectory("addcow-fuse-").FullName;
        try
        {
            var volume = new InMemoryVolume();
            using var mount = new FuseMount();
            mount.Start(volume, folder, new FuseMountOptions());
            Assert.IsNotEmpty(Directory.GetFileSystemEntries(folder));
            Assert.IsTrue(mount.IsRunning);

            mount.Stop();

            Assert.IsTrue(mount.Completion.IsCompleted);
            Assert.IsFalse(mount.IsRunning);
            Assert.IsNull(MountTable.Find(folder), "/proc/self/mountinfo no longer lists the mount point");
            Assert.IsEmpty(Directory.GetFileSystemEntries(folder));
            Assert.IsGreaterThanOrEqualTo(1, volume.FlushCount);
            Assert.AreEqual(0, volume.OpenHandles);
            mount.Stop();
            mount.Dispose();
        }
        finally
        {
            Directory.Delete(folder);
        }
    }

    [TestMethod]
    public void Stop_WhileAFileIsOpen_DetachesAndEndsWhenItCloses()
    {
        FuseTestEnvironment.Require();
        string folder = Directory.CreateTempSubdirectory("addcow-fuse-").FullName;
        try
        {
            var volume = new InMemoryVolume();
            using var mount = new FuseMount();
            mount.Start(volume, folder, new FuseMountOptions { Timeout = TimeSpan.FromSeconds(3) });
            var handle = File.OpenHandle(Path.Combine(folder, "disk.img"));

            var error = Assert.ThrowsExactly<FuseMountException>(mount.Stop);

            StringAssert.Contains(error.Message, "still in use");
            Assert.IsNull(MountTable.Find(folder), "the busy mount was detached from the namespace");
            Assert.IsFalse(mount.Completion.IsCompleted);
            handle.Dispose();
            Assert.IsTrue(mount.WaitForExit(TimeSpan.FromSeconds(30)), "closing the last file ends the loop");
            Assert.AreEqual(0, volume.OpenHandles);
        }
        finally
        {
            Directory.Delete(folder);
        }
    }

    [TestMethod]
    public void ExternalFusermountUnmount_EndsWaitForExit()
    {
        FuseTestEnvironment.Require();
        string folder = Directory.CreateTempSubdirectory("addcow-fuse-").FullName;
        try
        {
            var volume = new InMemoryVolume();
            using var mount = new FuseMount();
            mount.Start(volume, folder, new FuseMountOptions());
            Assert.IsFalse(mount.WaitForExit(TimeSpan.FromMilliseconds(200)));

            ToolResult fusermount = Tool.Run("fusermount3", "-u", folder);
            Assert.AreEqual(0, fusermount.ExitCode, fusermount.Error);

            Assert.IsTrue(mount.WaitForExit(TimeSpan.FromSeconds(30)), "the loop ended after fusermount3 -u");
            Assert.IsNull(MountTable.Find(folder));
            Assert.IsGreaterThanOrEqualTo(1, volume.FlushCount, "libfuse's destroy flushed the volume");
            mount.Stop();
        }
        finally
        {
            Directory.Delete(folder);
        }
    }

    [TestMethod]
    public void ParallelDd_OnDisjointRanges_AllLand()
    {
        using var mounted = new MountedVolume();
        const int writers = 4;
        const int chunk = 2 * 1024 * 1024;
        string[] sources = new string[writers];
        byte[][] payloads = new byte[writers][];
        for (int i = 0; i < writers; i++)
        {
            payloads[i] = new byte[chunk];
            Random.Shared.NextBytes(payloads[i]);
            sources[i] = Path.Combine(Path.GetTempPath(), $"addcow-par-{Guid.NewGuid():N}.bin");
            File.WriteAllBytes(sources[i], payloads[i]);
        }

        try
        {
            var processes = Enumerable.Range(0, writers)
                .Select(i => Tool.Start("dd", $"if={sources[i]}", $"of={mounted.PathOf(InMemoryVolume.DiskPath)}", "bs=256K", $"seek={i * (chunk / (256 * 1024))}", "conv=notrunc", i % 2 == 0 ? "oflag=direct" : "oflag=dsync", "status=none"))
                .ToList();
            foreach (var process in processes)
            {
                string error = process.StandardError.ReadToEnd();
                Assert.IsTrue(process.WaitForExit(60_000));
                Assert.AreEqual(0, process.ExitCode, error);
                process.Dispose();
            }
        }
        finally
        {
            foreach (string source in sources)
            {
                File.Delete(source);
            }
        }

        for (int i = 0; i < writers; i++)
        {
            CollectionAssert.AreEqual(payloads[i], mounted.Volume.Disk[(i * chunk)..((i + 1) * chunk)], $"writer {i}");
        }

        ToolResult readers = Tool.Run("sh", "-c", $"for i in 0 1 2 3; do dd if='{mounted.PathOf(InMemoryVolume.DiskPath)}' bs=1M skip=$((i*2)) count=2 status=none | md5sum & done; wait");
        Assert.AreEqual(0, readers.ExitCode, readers.Error);
        Assert.HasCount(writers, readers.Output.Trim().Split('\n'));
    }

    [TestMethod]
    public void RealTools_MkfsFioQemuImg_WorkOnTheMountedImage()
    {
        using var mounted = new MountedVolume();
        string disk = mounted.PathOf(InMemoryVolume.DiskPath);

        ToolResult mkfs = Tool.Run("mkfs.ext4", "-F", "-q", "-E", "nodiscard", disk);
        Assert.AreEqual(0, mkfs.ExitCode, mkfs.Error);
        ToolResult fsck = Tool.Run("e2fsck", "-fn", disk);
        Assert.AreEqual(0, fsck.ExitCode, fsck.Output + fsck.Error);
        Assert.AreEqual(0xEF53, BitConverter.ToUInt16(mounted.Volume.Disk, 1024 + 56), "the ext4 superblock magic is in the volume's bytes");

        ToolResult fio = Tool.Run(
            "fio", "--name=verify", $"--filename={disk}", "--rw=randwrite", "--bs=64k", "--size=4M", "--offset=4M",
            "--direct=1", "--ioengine=psync", "--numjobs=1", "--verify=crc32c", "--do_verify=1", "--output-format=terse");
        Assert.AreEqual(0, fio.ExitCode, fio.Output + fio.Error);

        string copy = Path.Combine(Path.GetTempPath(), $"addcow-qemu-{Guid.NewGuid():N}.raw");
        try
        {
            ToolResult convert = Tool.Run("qemu-img", "convert", "-f", "raw", "-O", "raw", "-T", "none", disk, copy);
            Assert.AreEqual(0, convert.ExitCode, convert.Error);
            CollectionAssert.AreEqual(mounted.Volume.Disk, File.ReadAllBytes(copy));
            ToolResult compare = Tool.Run("qemu-img", "compare", "-f", "raw", "-F", "raw", disk, copy);
            Assert.AreEqual(0, compare.ExitCode, compare.Output + compare.Error);
        }
        finally
        {
            File.Delete(copy);
        }
    }

    [TestMethod]
    public void Start_OnMissingFolder_FailsClearly()
    {
        FuseTestEnvironment.Require();
        using var mount = new FuseMount();

        var error = Assert.ThrowsExactly<FuseMountException>(() =>
            mount.Start(new InMemoryVolume(), Path.Combine(Path.GetTempPath(), "addcow-missing-" + Guid.NewGuid().ToString("N")), new FuseMountOptions()));

        StringAssert.Contains(error.Message, "not an existing directory");
        Assert.IsTrue(mount.Completion.IsCompleted || !mount.IsRunning);
    }

    [TestMethod]
    public void Start_WhenTheLoopEndsBeforeInit_ReportsTheLoopsCause()
    {
        FuseTestEnvironment.Require();
        string folder = Directory.CreateTempSubdirectory("addcow-fuse-").FullName;
        try
        {
            // Repeated: before the fix the loop thread's teardown raced Start's wait, giving ObjectDisposedException
            // or a message without the cause depending on timing.
            for (int attempt = 0; attempt < 10; attempt++)
            {
                using var mount = new FuseMount(null, (fuse, config) => -EINVAL);

                var error = Assert.ThrowsExactly<FuseMountException>(() => mount.Start(new InMemoryVolume(), folder, new FuseMountOptions()));

                StringAssert.Contains(error.Message, "ended before the mount");
                StringAssert.Contains(error.Message, "errno 22");
                Assert.IsTrue(mount.Completion.IsCompleted);
                Assert.IsNull(MountTable.Find(folder), "the mount was left behind");
            }

            var thrown = new InvalidOperationException("the loop could not start its workers");
            using var failing = new FuseMount(null, (fuse, config) => throw thrown);
            var failed = Assert.ThrowsExactly<FuseMountException>(() => failing.Start(new InMemoryVolume(), folder, new FuseMountOptions()));
            Assert.AreSame(thrown, failed.InnerException);
            StringAssert.Contains(failed.Message, "the loop could not start its workers");
        }
        finally
        {
            Directory.Delete(folder);
        }
    }
}
