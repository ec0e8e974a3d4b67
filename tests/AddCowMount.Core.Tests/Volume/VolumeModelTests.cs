using AddCowMount.Core.Format;
using AddCowMount.Core.Volume;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;

namespace AddCowMount.Core.Tests.Volume;

[TestClass]
public sealed class VolumeModelTests
{
    private const long DiskSize = 1024 * 1024 + 1536;
    private static readonly Guid s_id = new("01234567-89ab-cdef-0123-456789abcdef");
    private static readonly DateTime s_created = new(2024, 5, 6, 7, 8, 9, DateTimeKind.Utc);
    private static readonly DateTime s_written = new(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    internal static VolumeModel CreateModel(MemoryDisk disk, bool readOnly = false, TimeProvider? time = null, ILogger<VolumeModel>? logger = null, Guid? id = null) =>
        new(disk,
            new VolumeModelOptions
            {
                BaseName = "disk",
                ReadOnly = readOnly,
                VolumeLabel = "MyDisk",
                UniqueId = id ?? s_id,
                CreationTimeUtc = s_created,
                LastWriteTimeUtc = s_written,
                TimeProvider = time,
            },
            logger ?? NullLogger<VolumeModel>.Instance);

    private static IVolumeHandle Open(IVolume volume, string path, VolumeAccess access)
    {
        Assert.AreEqual(VolumeStatus.Success, volume.Open(path, access, out var handle));
        return handle!;
    }

    private static byte[] ReadAll(IVolume volume, string path)
    {
        using var handle = Open(volume, path, VolumeAccess.Read);
        var bytes = new byte[handle.Node.Length];
        Assert.AreEqual(VolumeStatus.Success, handle.Read(0, bytes, out var read));
        Assert.AreEqual(bytes.Length, read);
        return bytes;
    }

    [TestMethod]
    public void List_Root_ShowsTheFourViewsWithTheirLengths()
    {
        using var volume = CreateModel(MemoryDisk.WithPattern(DiskSize));

        Assert.AreEqual(VolumeStatus.Success, volume.List("/", out var entries));

        CollectionAssert.AreEqual(new[] { "disk.img", "disk.vhd", "disk.vhdx", "disk.vmdk" }, entries.Select(e => e.Name).ToArray());
        Assert.AreEqual(DiskSize, entries[0].Length);
        Assert.AreEqual(DiskSize + 512, entries[1].Length);
        Assert.AreEqual(VhdxLayout.Create(DiskSize, s_id).FileLength, entries[2].Length);
        Assert.AreEqual(VmdkDescriptor.Create("disk.img", DiskSize, false, s_id).Bytes.Length, entries[3].Length);
        Assert.IsTrue(entries.All(e => !e.IsDirectory && !e.IsReadOnly));
        Assert.IsTrue(entries.All(e => e.CreationTimeUtc == s_created));
    }

    [TestMethod]
    [DataRow("/disk.img", "disk.img")]
    [DataRow("/DISK.IMG", "disk.img")]
    [DataRow("/Disk.Vhd", "disk.vhd")]
    [DataRow("\\disk.vmdk", "disk.vmdk")]
    public void GetNode_IgnoresCase(string path, string expected)
    {
        using var volume = CreateModel(new MemoryDisk(DiskSize));

        Assert.AreEqual(VolumeStatus.Success, volume.GetNode(path, out var node));
        Assert.AreEqual(expected, node!.Name);
    }

    [TestMethod]
    [DataRow("/nothing.img", VolumeStatus.NotFound)]
    [DataRow("/disk.img/inner", VolumeStatus.NotFound)]
    [DataRow("/a/b", VolumeStatus.NotFound)]
    [DataRow("disk.img", VolumeStatus.InvalidParameter)]
    [DataRow("", VolumeStatus.InvalidParameter)]
    public void GetNode_BadPaths(string path, VolumeStatus expected)
    {
        using var volume = CreateModel(new MemoryDisk(DiskSize));

        Assert.AreEqual(expected, volume.GetNode(path, out var node));
        Assert.IsNull(node);
    }

    [TestMethod]
    public void GetNode_Root_IsADirectory()
    {
        using var volume = CreateModel(new MemoryDisk(DiskSize));

        Assert.AreEqual(VolumeStatus.Success, volume.GetNode("/", out var node));
        Assert.IsTrue(node!.IsDirectory);
        Assert.AreEqual(VolumeStatus.NotADirectory, volume.List("/disk.img", out _));
    }

    [TestMethod]
    public void Img_WriteThenRead_GoesToTheDiskAndShowsInVhd()
    {
        var disk = MemoryDisk.WithPattern(DiskSize);
        using var volume = CreateModel(disk);
        var data = Enumerable.Range(0, 1000).Select(i => (byte)(i * 7)).ToArray();

        using (var handle = Open(volume, "/disk.img", VolumeAccess.ReadWrite))
        {
            Assert.AreEqual(VolumeStatus.Success, handle.Write(4097, data, out var written));
            Assert.AreEqual(data.Length, written);
        }

        CollectionAssert.AreEqual(data, disk.ReadAll()[4097..5097]);
        CollectionAssert.AreEqual(data, ReadAll(volume, "/disk.vhd")[4097..5097]);
    }

    [TestMethod]
    public void Vhd_DiskPartIsTheDisk_FooterDescribesIt()
    {
        var disk = MemoryDisk.WithPattern(DiskSize);
        using var volume = CreateModel(disk);

        var vhd = ReadAll(volume, "/disk.vhd");

        CollectionAssert.AreEqual(disk.ReadAll(), vhd[..(int)DiskSize]);
        var footer = VhdFooter.Parse(vhd.AsSpan((int)DiskSize));
        Assert.AreEqual((ulong)DiskSize, footer.CurrentSize);
        Assert.AreEqual((ulong)DiskSize, footer.OriginalSize);
        Assert.AreEqual(s_id, footer.UniqueId);
        Assert.AreEqual(VhdFooter.ToTimeStamp(s_created), footer.TimeStamp);
        Assert.AreEqual(VhdFooter.CreatorApplicationWin, footer.CreatorApplication);
    }

    [TestMethod]
    public void Vhd_WriteToDiskPart_GoesToTheDisk()
    {
        var disk = new MemoryDisk(DiskSize);
        using var volume = CreateModel(disk);
        using var handle = Open(volume, "/disk.vhd", VolumeAccess.Write);

        Assert.AreEqual(VolumeStatus.Success, handle.Write(DiskSize - 3, [1, 2, 3], out var written));

        Assert.AreEqual(3, written);
        CollectionAssert.AreEqual(new byte[] { 1, 2, 3 }, disk.ReadAll()[^3..]);
    }

    [TestMethod]
    public void Vhd_RewritingTheFooterUnchanged_SucceedsWithoutTouchingTheDisk()
    {
        var disk = MemoryDisk.WithPattern(DiskSize);
        using var volume = CreateModel(disk);
        var footer = ReadAll(volume, "/disk.vhd")[(int)DiskSize..];
        using var handle = Open(volume, "/disk.vhd", VolumeAccess.ReadWrite);

        Assert.AreEqual(VolumeStatus.Success, handle.Write(DiskSize, footer, out var written));
        Assert.AreEqual(VolumeStatus.Success, handle.Write(DiskSize + 100, footer[100..200], out var partial));

        Assert.AreEqual(512, written);
        Assert.AreEqual(100, partial);
        Assert.AreEqual(0, disk.WriteCount);
        Assert.IsFalse(volume.IsDirty);
    }

    [TestMethod]
    public void Vhd_ChangingTheFooter_IsRefusedAndLogged_FooterStaysTrue()
    {
        var disk = MemoryDisk.WithPattern(DiskSize);
        var logger = new CapturingLogger<VolumeModel>();
        using var volume = CreateModel(disk, logger: logger);
        var before = ReadAll(volume, "/disk.vhd");
        using var handle = Open(volume, "/disk.vhd", VolumeAccess.ReadWrite);

        Assert.AreEqual(VolumeStatus.AccessDenied, handle.Write(DiskSize + 40, new byte[8], out var written));

        Assert.AreEqual(0, written);
        CollectionAssert.AreEqual(before, ReadAll(volume, "/disk.vhd"));
        Assert.AreEqual(0, disk.WriteCount);
        Assert.IsTrue(logger.Entries.Any(e => e.Level == LogLevel.Warning && e.Message.Contains("disk.vhd", StringComparison.Ordinal) && e.Message.Contains("footer", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void Vhd_WriteSpanningDiskAndChangedFooter_IsRefusedWhole()
    {
        var disk = MemoryDisk.WithPattern(DiskSize);
        using var volume = CreateModel(disk);
        var before = disk.ReadAll();
        using var handle = Open(volume, "/disk.vhd", VolumeAccess.ReadWrite);

        Assert.AreEqual(VolumeStatus.AccessDenied, handle.Write(DiskSize - 512, new byte[1024], out var written));

        Assert.AreEqual(0, written);
        CollectionAssert.AreEqual(before, disk.ReadAll());
    }

    [TestMethod]
    public void Vhd_WriteSpanningDiskAndUnchangedFooter_WritesTheDiskPart()
    {
        var disk = MemoryDisk.WithPattern(DiskSize);
        using var volume = CreateModel(disk);
        var data = ReadAll(volume, "/disk.vhd")[(int)(DiskSize - 512)..];
        Array.Fill(data, (byte)0xAB, 0, 512);
        using var handle = Open(volume, "/disk.vhd", VolumeAccess.ReadWrite);

        Assert.AreEqual(VolumeStatus.Success, handle.Write(DiskSize - 512, data, out var written));

        Assert.AreEqual(1024, written);
        Assert.IsTrue(disk.ReadAll()[^512..].All(b => b == 0xAB));
        VhdFooter.Parse(ReadAll(volume, "/disk.vhd").AsSpan((int)DiskSize));
    }

    [TestMethod]
    public void Vmdk_DescribesTheImg_AndRefusesWrites()
    {
        var disk = new MemoryDisk(DiskSize);
        using var volume = CreateModel(disk);
        var text = System.Text.Encoding.ASCII.GetString(ReadAll(volume, "/disk.vmdk"));
        using var handle = Open(volume, "/disk.vmdk", VolumeAccess.ReadWrite);

        StringAssert.Contains(text, $"RW {DiskSize / 512} FLAT \"disk.img\" 0");
        Assert.AreEqual(VolumeStatus.AccessDenied, handle.Write(0, "# Disk"u8, out var written));
        Assert.AreEqual(0, written);
        Assert.AreEqual(0, disk.WriteCount);
    }

    [TestMethod]
    public void Read_PastEnd_ReturnsFewerBytes_AtEndNone()
    {
        var disk = MemoryDisk.WithPattern(DiskSize);
        using var volume = CreateModel(disk);
        using var handle = Open(volume, "/disk.img", VolumeAccess.Read);
        var buffer = new byte[4096];

        Assert.AreEqual(VolumeStatus.Success, handle.Read(DiskSize - 100, buffer, out var read));
        Assert.AreEqual(100, read);
        CollectionAssert.AreEqual(disk.ReadAll()[^100..], buffer[..100]);
        Assert.AreEqual(VolumeStatus.Success, handle.Read(DiskSize, buffer, out read));
        Assert.AreEqual(0, read);
        Assert.AreEqual(VolumeStatus.Success, handle.Read(DiskSize + 1_000_000, buffer, out read));
        Assert.AreEqual(0, read);
        Assert.AreEqual(VolumeStatus.InvalidParameter, handle.Read(-1, buffer, out read));
    }

    [TestMethod]
    [DataRow("/disk.img", 0L)]
    [DataRow("/disk.vhd", 512L)]
    public void Write_PastEnd_IsRefused_NothingWritten(string path, long extra)
    {
        var disk = MemoryDisk.WithPattern(DiskSize);
        using var volume = CreateModel(disk);
        using var handle = Open(volume, path, VolumeAccess.ReadWrite);
        var end = DiskSize + extra;

        Assert.AreEqual(VolumeStatus.InvalidParameter, handle.Write(end - 10, new byte[20], out var written));
        Assert.AreEqual(VolumeStatus.InvalidParameter, handle.Write(end + 1, new byte[1], out _));
        Assert.AreEqual(VolumeStatus.InvalidParameter, handle.Write(-1, new byte[1], out _));

        Assert.AreEqual(0, written);
        Assert.AreEqual(0, disk.WriteCount);
    }

    [TestMethod]
    [DataRow(1000L, 990L, 20, 10)]
    [DataRow(1000L, 1000L, 20, 0)]
    [DataRow(1000L, 2000L, 20, 0)]
    [DataRow(1000L, 0L, 20, 20)]
    [DataRow(1000L, -1L, 20, 0)]
    public void ClampToLength_KeepsWhatFits(long length, long offset, int count, int expected)
    {
        Assert.AreEqual(expected, VolumeModel.ClampToLength(length, offset, count));
    }

    [TestMethod]
    public void ReadOnlyMount_RefusesEveryChangeAsWriteProtected_FlagsFilesReadOnly()
    {
        var disk = MemoryDisk.WithPattern(DiskSize);
        using var volume = CreateModel(disk, readOnly: true);

        Assert.IsTrue(volume.IsReadOnly);
        Assert.AreEqual(VolumeStatus.WriteProtected, volume.Open("/disk.img", VolumeAccess.ReadWrite, out var handle));
        Assert.IsNull(handle);
        using var reader = Open(volume, "/disk.img", VolumeAccess.Read);
        Assert.AreEqual(VolumeStatus.WriteProtected, reader.Write(0, [1], out _));
        Assert.AreEqual(VolumeStatus.WriteProtected, volume.Create("/new.img", false));
        Assert.AreEqual(VolumeStatus.WriteProtected, volume.Delete("/disk.img"));
        Assert.AreEqual(VolumeStatus.WriteProtected, volume.Rename("/disk.img", "/x.img", false));
        Assert.AreEqual(VolumeStatus.WriteProtected, volume.SetLength("/disk.img", 0));
        Assert.AreEqual(VolumeStatus.WriteProtected, volume.SetTimes("/disk.img", null, null, DateTime.UtcNow));
        Assert.AreEqual(VolumeStatus.WriteProtected, volume.SetSecurity("/disk.img", [1]));
        Assert.AreEqual(0, disk.WriteCount);

        volume.List("/", out var entries);
        Assert.IsTrue(entries.All(e => e.IsReadOnly));
        StringAssert.Contains(System.Text.Encoding.ASCII.GetString(ReadAll(volume, "/disk.vmdk")), "\nRW ");
    }

    [TestMethod]
    public void DiskThatCannotWrite_MountsReadOnly()
    {
        using var volume = CreateModel(new MemoryDisk(DiskSize, canWrite: false));

        Assert.IsTrue(volume.IsReadOnly);
        Assert.AreEqual(VolumeStatus.WriteProtected, volume.Open("/disk.img", VolumeAccess.Write, out _));
    }

    [TestMethod]
    public void Handle_UsesOnlyItsAccess()
    {
        var disk = MemoryDisk.WithPattern(DiskSize);
        using var volume = CreateModel(disk);
        using var reader = Open(volume, "/disk.img", VolumeAccess.Read);
        using var writer = Open(volume, "/disk.img", VolumeAccess.Write);

        Assert.AreEqual(VolumeAccess.Read, reader.Access);
        Assert.AreEqual(VolumeStatus.AccessDenied, reader.Write(0, [1], out _));
        Assert.AreEqual(VolumeStatus.AccessDenied, writer.Read(0, new byte[1], out _));
        Assert.AreEqual(VolumeStatus.Success, writer.Write(0, [1], out _));
        Assert.AreEqual(1, disk.WriteCount);
    }

    [TestMethod]
    public void DisposedHandle_RefusesIo()
    {
        using var volume = CreateModel(MemoryDisk.WithPattern(DiskSize));
        var handle = Open(volume, "/disk.img", VolumeAccess.ReadWrite);
        handle.Dispose();

        Assert.AreEqual(VolumeStatus.InvalidParameter, handle.Read(0, new byte[1], out _));
        Assert.AreEqual(VolumeStatus.InvalidParameter, handle.Write(0, [1], out _));
    }

    [TestMethod]
    public void Directory_Handle_ReadWrite_IsADirectory()
    {
        using var volume = CreateModel(MemoryDisk.WithPattern(DiskSize));
        using var root = Open(volume, "/", VolumeAccess.ReadWrite);

        Assert.AreEqual(VolumeStatus.IsADirectory, root.Read(0, new byte[1], out _));
        Assert.AreEqual(VolumeStatus.IsADirectory, root.Write(0, [1], out _));
    }

    [TestMethod]
    public void WritableMount_RefusesNamespaceChanges()
    {
        using var volume = CreateModel(MemoryDisk.WithPattern(DiskSize));

        Assert.AreEqual(VolumeStatus.AccessDenied, volume.Create("/new.txt", false));
        Assert.AreEqual(VolumeStatus.AccessDenied, volume.Create("/dir", true));
        Assert.AreEqual(VolumeStatus.AlreadyExists, volume.Create("/DISK.img", false));
        Assert.AreEqual(VolumeStatus.AccessDenied, volume.Delete("/disk.img"));
        Assert.AreEqual(VolumeStatus.NotFound, volume.Delete("/missing"));
        Assert.AreEqual(VolumeStatus.AccessDenied, volume.Rename("/disk.img", "/other.img", true));
        Assert.AreEqual(VolumeStatus.NotFound, volume.Rename("/missing", "/other.img", true));
        volume.List("/", out var entries);
        Assert.AreEqual(4, entries.Count);
    }

    [TestMethod]
    public void SetLength_OnlyTheSameSizeSucceeds()
    {
        using var volume = CreateModel(MemoryDisk.WithPattern(DiskSize));

        Assert.AreEqual(VolumeStatus.Success, volume.SetLength("/disk.img", DiskSize));
        Assert.AreEqual(VolumeStatus.Success, volume.SetLength("/disk.vhd", DiskSize + 512));
        Assert.AreEqual(VolumeStatus.AccessDenied, volume.SetLength("/disk.img", DiskSize + 4096));
        Assert.AreEqual(VolumeStatus.AccessDenied, volume.SetLength("/disk.vhd", DiskSize));
        Assert.AreEqual(VolumeStatus.IsADirectory, volume.SetLength("/", 0));
        volume.GetNode("/disk.img", out var node);
        Assert.AreEqual(DiskSize, node!.Length);
    }

    [TestMethod]
    public void SetTimes_AreKept_WriteMovesLastWriteOfDiskViewsOnly()
    {
        var now = new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);
        var clock = new Mock<TimeProvider>();
        clock.Setup(c => c.GetUtcNow()).Returns(now);
        using var volume = CreateModel(MemoryDisk.WithPattern(DiskSize), time: clock.Object);
        var set = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);

        Assert.AreEqual(VolumeStatus.Success, volume.SetTimes("/disk.vmdk", set, set.AddDays(1), set.AddDays(2)));
        using (var handle = Open(volume, "/disk.img", VolumeAccess.Write))
        {
            handle.Write(0, [9], out _);
        }

        volume.GetNode("/disk.vmdk", out var vmdk);
        volume.GetNode("/disk.img", out var img);
        volume.GetNode("/disk.vhd", out var vhd);
        Assert.AreEqual(set, vmdk!.CreationTimeUtc);
        Assert.AreEqual(set.AddDays(1), vmdk.LastAccessTimeUtc);
        Assert.AreEqual(set.AddDays(2), vmdk.LastWriteTimeUtc);
        Assert.AreEqual(now.UtcDateTime, img!.LastWriteTimeUtc);
        Assert.AreEqual(now.UtcDateTime, vhd!.LastWriteTimeUtc);
        Assert.AreEqual(s_created, img.CreationTimeUtc);
        Assert.AreEqual(VolumeStatus.NotFound, volume.SetTimes("/missing", set, null, null));
    }

    [TestMethod]
    public void Info_DescribesTheVolume()
    {
        using var volume = CreateModel(new MemoryDisk(DiskSize));
        volume.GetNode("/disk.vmdk", out var vmdk);

        var info = volume.Info;

        Assert.AreEqual("MyDisk", info.Label);
        Assert.AreEqual("NTFS", info.FileSystemName);
        Assert.AreEqual(0, info.FreeBytes);
        Assert.AreEqual(512, info.SectorSize);
        Assert.AreEqual(4096, info.AllocationUnitSize);
        Assert.AreEqual(255, info.MaxComponentLength);
        // img 1049088 -> 1052672, vhd 1049600 -> 1052672, vmdk -> 4096
        Assert.IsLessThan(4096L, vmdk!.Length);
        // img and vhd round up to 4 KiB each; the vhdx is 4 MiB of structure + one 8 MiB block; the vmdk one unit.
        Assert.AreEqual(1052672L + 1052672L + (12L << 20) + 4096L, info.TotalBytes);
    }

    [TestMethod]
    public void Info_SerialNumber_StablePerId_DiffersBetweenIds()
    {
        using var a = CreateModel(new MemoryDisk(DiskSize));
        using var b = CreateModel(new MemoryDisk(DiskSize));
        using var c = CreateModel(new MemoryDisk(DiskSize), id: VhdFooter.StableId("other"));

        Assert.AreEqual(a.Info.SerialNumber, b.Info.SerialNumber);
        Assert.AreNotEqual(a.Info.SerialNumber, c.Info.SerialNumber);
        Assert.AreEqual(0x01234567u ^ 0x89abcdefu ^ 0x01234567u ^ 0x89abcdefu, a.Info.SerialNumber);
    }

    [TestMethod]
    public void Flush_HandleAndVolume_FlushTheDisk()
    {
        var disk = new MemoryDisk(DiskSize);
        using var volume = CreateModel(disk);
        using var handle = Open(volume, "/disk.vhd", VolumeAccess.Read);

        Assert.AreEqual(VolumeStatus.Success, handle.Flush());
        Assert.AreEqual(VolumeStatus.Success, volume.Flush());

        Assert.AreEqual(2, disk.FlushCount);
    }

    [TestMethod]
    public void FlushIfDirty_FlushesOnlyAfterAWrite()
    {
        var disk = new MemoryDisk(DiskSize);
        using var volume = CreateModel(disk);

        Assert.AreEqual(VolumeStatus.Success, volume.FlushIfDirty());
        Assert.AreEqual(0, disk.FlushCount);

        using (var handle = Open(volume, "/disk.img", VolumeAccess.Write))
        {
            handle.Write(0, [1], out _);
        }

        Assert.IsTrue(volume.IsDirty);
        Assert.AreEqual(VolumeStatus.Success, volume.FlushIfDirty());
        Assert.AreEqual(1, disk.FlushCount);
        Assert.AreEqual(VolumeStatus.Success, volume.FlushIfDirty());
        Assert.AreEqual(1, disk.FlushCount);
    }

    [TestMethod]
    public void FlushIfDirty_ThroughTheInterface_UsesTheDirtyTracking()
    {
        var disk = new MemoryDisk(DiskSize);
        using IVolume volume = CreateModel(disk);

        Assert.AreEqual(VolumeStatus.Success, volume.FlushIfDirty());

        Assert.AreEqual(0, disk.FlushCount);
    }

    [TestMethod]
    public void ConcurrentWritesAndWriteBack_LoseNothing()
    {
        var disk = new MemoryDisk(DiskSize);
        using var volume = CreateModel(disk);
        var flusher = Task.Run(() =>
        {
            for (var i = 0; i < 200; i++)
            {
                Assert.AreEqual(VolumeStatus.Success, volume.FlushIfDirty());
            }
        });
        Parallel.For(0, 256, i =>
        {
            using var handle = Open(volume, i % 2 == 0 ? "/disk.img" : "/disk.vhd", VolumeAccess.Write);
            var data = new byte[512];
            Array.Fill(data, (byte)i);
            Assert.AreEqual(VolumeStatus.Success, handle.Write(i * 512L, data, out _));
        });
        flusher.Wait();
        volume.FlushIfDirty();

        Assert.IsFalse(volume.IsDirty);
        var bytes = disk.ReadAll();
        for (var i = 0; i < 256; i++)
        {
            Assert.IsTrue(bytes.AsSpan(i * 512, 512).IndexOfAnyExcept((byte)i) < 0, $"sector {i}");
        }
    }

    [TestMethod]
    public void FlushIfDirty_FailedFlush_StaysDirtyAndRetries()
    {
        var disk = new MemoryDisk(DiskSize);
        using var volume = CreateModel(disk);
        using (var handle = Open(volume, "/disk.img", VolumeAccess.Write))
        {
            handle.Write(0, [1], out _);
        }

        disk.Failure = () => new IOException("device gone");
        Assert.AreEqual(VolumeStatus.IoError, volume.FlushIfDirty());
        disk.Failure = null;

        Assert.IsTrue(volume.IsDirty);
        Assert.AreEqual(VolumeStatus.Success, volume.FlushIfDirty());
        Assert.AreEqual(1, disk.FlushCount);
        Assert.IsFalse(volume.IsDirty);
    }

    public static IEnumerable<object[]> Failures =>
    [
        [new IOException("full", unchecked((int)0x80070070)), VolumeStatus.DiskFull],
        [new IOException("full", unchecked((int)0x80070027)), VolumeStatus.DiskFull],
        [new IOException("broken"), VolumeStatus.IoError],
        [new UnauthorizedAccessException("no"), VolumeStatus.AccessDenied],
        [new ArgumentOutOfRangeException("offset"), VolumeStatus.InvalidParameter],
        [new InvalidOperationException("bug"), VolumeStatus.IoError],
        [new ObjectDisposedException("disk"), VolumeStatus.IoError],
    ];

    [TestMethod]
    [DynamicData(nameof(Failures))]
    public void DiskExceptions_BecomeStatuses_NeverThrown(Exception exception, VolumeStatus expected)
    {
        var disk = new MemoryDisk(DiskSize);
        using var volume = CreateModel(disk);
        using var handle = Open(volume, "/disk.vhd", VolumeAccess.ReadWrite);
        disk.Failure = () => exception;

        Assert.AreEqual(expected, handle.Read(0, new byte[10], out var read));
        Assert.AreEqual(expected, handle.Write(0, new byte[10], out var written));
        Assert.AreEqual(expected, handle.Flush());
        Assert.AreEqual(expected, volume.Flush());
        Assert.AreEqual(0, read);
        Assert.AreEqual(0, written);
    }

    [TestMethod]
    public void DiskFull_OnUnix_FromErrno()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Inconclusive("errno-based HResults are a Unix thing");
        }

        var disk = new MemoryDisk(DiskSize);
        using var volume = CreateModel(disk);
        using var handle = Open(volume, "/disk.img", VolumeAccess.Write);
        disk.Failure = () => new IOException("No space left on device", 28);

        Assert.AreEqual(VolumeStatus.DiskFull, handle.Write(0, [1], out _));
    }

    [TestMethod]
    public void Security_IsKeptPerFile_AsACopy()
    {
        using var volume = CreateModel(new MemoryDisk(DiskSize));
        byte[] descriptor = [1, 0, 4, 0x80, 20, 0, 0, 0];

        Assert.AreEqual(VolumeStatus.Success, volume.GetSecurity("/disk.img", out var none));
        Assert.IsNull(none);
        Assert.AreEqual(VolumeStatus.Success, volume.SetSecurity("/DISK.IMG", descriptor));
        descriptor[0] = 99;

        volume.GetSecurity("/disk.img", out var stored);
        CollectionAssert.AreEqual(new byte[] { 1, 0, 4, 0x80, 20, 0, 0, 0 }, stored);
        volume.GetSecurity("/disk.vhd", out var other);
        Assert.IsNull(other);
        Assert.AreEqual(VolumeStatus.NotFound, volume.GetSecurity("/missing", out _));
    }

    [TestMethod]
    public void HugeDisk_HidesTheVhd_AndSaysWhy()
    {
        var logger = new CapturingLogger<VolumeModel>();
        using var volume = CreateModel(new MemoryDisk(VhdFooter.MaxDiskSize + 512), logger: logger);

        volume.List("/", out var entries);

        CollectionAssert.AreEqual(new[] { "disk.img", "disk.vhdx", "disk.vmdk" }, entries.Select(e => e.Name).ToArray());
        Assert.AreEqual(VolumeStatus.NotFound, volume.GetNode("/disk.vhd", out _));
        Assert.AreEqual("disk.vhd", volume.HiddenViews.Single().Name);
        StringAssert.Contains(volume.HiddenViews.Single().Reason, "2040 GiB");
        Assert.IsTrue(logger.Entries.Any(e => e.Message.Contains("disk.vhd", StringComparison.Ordinal) && e.Message.Contains("2040 GiB", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void DiskAtTheVhdLimit_ShowsTheVhd()
    {
        using var volume = CreateModel(new MemoryDisk(VhdFooter.MaxDiskSize));

        Assert.AreEqual(VolumeStatus.Success, volume.GetNode("/disk.vhd", out var node));
        Assert.AreEqual(VhdFooter.MaxDiskSize + 512, node!.Length);
    }

    [TestMethod]
    public void Dispose_FlushesDirtyDiskAndDisposesIt()
    {
        var disk = new MemoryDisk(DiskSize);
        var volume = CreateModel(disk);
        using (var handle = Open(volume, "/disk.img", VolumeAccess.Write))
        {
            handle.Write(0, [1], out _);
        }

        volume.Dispose();

        Assert.AreEqual(1, disk.FlushCount);
        Assert.IsTrue(disk.IsDisposed);
    }

    [TestMethod]
    [DataRow("")]
    [DataRow("a/b")]
    [DataRow("a\\b")]
    public void Constructor_BadBaseName_Throws(string baseName)
    {
        Assert.ThrowsExactly<ArgumentException>(() => new VolumeModel(
            new MemoryDisk(DiskSize),
            new VolumeModelOptions { BaseName = baseName, UniqueId = s_id },
            NullLogger<VolumeModel>.Instance));
    }
}
