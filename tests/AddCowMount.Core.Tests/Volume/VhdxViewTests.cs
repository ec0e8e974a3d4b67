using System.Security.Cryptography;
using AddCowMount.Core.Format;
using AddCowMount.Core.Volume;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AddCowMount.Core.Tests.Volume;

/// <summary>NAME.vhdx through the volume: payload straight to the disk, header rewrites kept in the sidecar, every layout change refused.</summary>
[TestClass]
public sealed class VhdxViewTests
{
    private const long MiB = 1024 * 1024;
    private const long DiskSize = (20 * MiB) + 512; // three 8 MiB blocks, the last one partial
    private static readonly Guid s_id = new("01234567-89ab-cdef-0123-456789abcdef");
    private static readonly VhdxLayout s_layout = VhdxLayout.Create(DiskSize, s_id);

    private static VolumeModel Model(MemoryDisk disk, string? sidecar, bool readOnly = false, ILogger<VolumeModel>? logger = null) =>
        new(disk, new VolumeModelOptions
        {
            BaseName = "disk",
            UniqueId = s_id,
            ReadOnly = readOnly,
            VhdxHeaderSidecarPath = sidecar,
            LeaveDiskOpen = true,
        }, logger ?? NullLogger<VolumeModel>.Instance);

    private static byte[] Read(IVolume volume, long offset, int count)
    {
        Assert.AreEqual(VolumeStatus.Success, volume.Open("/disk.vhdx", VolumeAccess.Read, out var handle));
        using (handle)
        {
            var buffer = new byte[count];
            Assert.AreEqual(VolumeStatus.Success, handle!.Read(offset, buffer, out var n));
            Assert.AreEqual(count, n);
            return buffer;
        }
    }

    private static VolumeStatus Write(IVolume volume, long offset, ReadOnlySpan<byte> data)
    {
        Assert.AreEqual(VolumeStatus.Success, volume.Open("/disk.vhdx", VolumeAccess.ReadWrite, out var handle));
        using (handle)
        {
            return handle!.Write(offset, data, out _);
        }
    }

    private static string Hash(IVolume volume) => Convert.ToHexString(SHA256.HashData(Read(volume, 0, (int)s_layout.FileLength)));

    private static string HashDisk(MemoryDisk disk)
    {
        var bytes = new byte[disk.Length];
        disk.Read(0, bytes);
        return Convert.ToHexString(SHA256.HashData(bytes));
    }

    [TestMethod]
    public void Reads_StructureThenTheDiskThenZeros()
    {
        var disk = MemoryDisk.WithPattern(DiskSize);
        using var volume = Model(disk, sidecar: null);
        volume.GetNode("/disk.vhdx", out var node);
        var all = Read(volume, 0, (int)s_layout.FileLength);
        var diskBytes = new byte[DiskSize];
        disk.Read(0, diskBytes);
        var (h1, h2) = s_layout.InitialHeaders();

        Assert.AreEqual(s_layout.FileLength, node!.Length);
        CollectionAssert.AreEqual(s_layout.StructureBytes(h1.ToArray(), h2.ToArray()), all[..(int)s_layout.PayloadOffset]);
        CollectionAssert.AreEqual(diskBytes, all[(int)s_layout.PayloadOffset..(int)s_layout.PayloadEnd]);
        Assert.IsFalse(all.AsSpan((int)s_layout.PayloadEnd).ContainsAnyExcept((byte)0));
        // A read across the structure/payload boundary.
        CollectionAssert.AreEqual(all[((int)s_layout.PayloadOffset - 100)..((int)s_layout.PayloadOffset + 100)], Read(volume, s_layout.PayloadOffset - 100, 200));
    }

    [TestMethod]
    public void PayloadWrites_LandAtTheSameDiskOffsets()
    {
        var disk = new MemoryDisk(DiskSize);
        using var volume = Model(disk, sidecar: null);
        var data = new byte[4096];
        Array.Fill(data, (byte)0x5A);

        Assert.AreEqual(VolumeStatus.Success, Write(volume, s_layout.PayloadOffset + (9 * MiB), data));

        var back = new byte[4096];
        disk.Read(9 * MiB, back);
        CollectionAssert.AreEqual(data, back);
        Assert.IsTrue(volume.IsDirty);
    }

    [TestMethod]
    public void HeaderRewrite_IsKeptInTheSidecar_AndShownAfterReopen()
    {
        using var dir = new TempDirectory();
        var sidecar = VhdxHeaderStore.SidecarPathFor(dir.Combine("disk.add-cow"));
        var disk = MemoryDisk.WithPattern(DiskSize);
        var rewrite = (s_layout.InitialHeaders().Header1 with { SequenceNumber = 3, FileWriteGuid = Guid.NewGuid() }).ToArray();
        string before;
        using (var volume = Model(disk, sidecar))
        {
            Assert.IsFalse(File.Exists(sidecar), "nothing is written before a header is");
            Assert.AreEqual(VolumeStatus.Success, Write(volume, VhdxLayout.Header1Offset, rewrite));
            CollectionAssert.AreEqual(rewrite, Read(volume, VhdxLayout.Header1Offset, 4096));
            before = Hash(volume);
        }

        Assert.AreEqual(8192, new FileInfo(sidecar).Length);
        CollectionAssert.AreEqual(rewrite, File.ReadAllBytes(sidecar)[..4096]);
        using var reopened = Model(disk, sidecar);
        Assert.AreEqual(before, Hash(reopened));
        Assert.IsFalse(File.Exists(sidecar + ".tmp"));
    }

    [TestMethod]
    public void SameBytes_AnywhereInTheStructure_Succeed()
    {
        var disk = MemoryDisk.WithPattern(DiskSize);
        using var volume = Model(disk, sidecar: null);
        var structure = Read(volume, 0, (int)s_layout.PayloadOffset);

        Assert.AreEqual(VolumeStatus.Success, Write(volume, 0, structure));
        Assert.AreEqual(VolumeStatus.Success, Write(volume, s_layout.PayloadEnd, new byte[s_layout.FileLength - s_layout.PayloadEnd]));
    }

    /// <summary>A write at offset (a changed byte there), and whether the rest of the write is a payload write that must not land either.</summary>
    public static IEnumerable<object[]> LayoutChanges =>
    [
        ["file identifier", 8L],
        ["region table 1", VhdxLayout.RegionTable1Offset + 20],
        ["region table 2", VhdxLayout.RegionTable2Offset + 40],
        ["reserved after header 1", VhdxLayout.Header1Offset + 5000],
        ["log", VhdxLayout.LogOffset + 10],
        ["metadata", VhdxLayout.MetadataOffset + (64 * 1024)],
        ["BAT", VhdxLayout.BatOffset + 8],
        ["padding", s_layout.PayloadEnd + 1],
    ];

    [TestMethod]
    [DynamicData(nameof(LayoutChanges))]
    public void LayoutChange_IsRefusedWithAnIoError_LoggedAndChangesNothing(string what, long offset)
    {
        using var dir = new TempDirectory();
        var sidecar = VhdxHeaderStore.SidecarPathFor(dir.Combine("disk.add-cow"));
        var disk = MemoryDisk.WithPattern(DiskSize);
        var logger = new CapturingLogger<VolumeModel>();
        using var volume = Model(disk, sidecar, logger: logger);
        // Give the sidecar content first, so "unchanged" is a hash of a real file.
        Assert.AreEqual(VolumeStatus.Success, Write(volume, VhdxLayout.Header2Offset, (s_layout.InitialHeaders().Header2 with { SequenceNumber = 7 }).ToArray()));
        var sidecarBefore = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(sidecar)));
        var viewBefore = Hash(volume);
        var diskBefore = HashDisk(disk);

        // The changed byte, followed (where it fits) by a payload part that must not land either.
        var length = (int)Math.Min(s_layout.FileLength - offset, Math.Max(s_layout.PayloadOffset + 4096 - offset, 1));
        var data = Read(volume, offset, length);
        data[0] ^= 0xFF;
        data.AsSpan(Math.Max(0, (int)(s_layout.PayloadOffset - offset))).Fill(0x77);
        if (offset >= s_layout.PayloadEnd)
        {
            data.AsSpan(1).Clear();
        }

        Assert.AreEqual(VolumeStatus.IoError, Write(volume, offset, data), what);

        Assert.AreEqual(viewBefore, Hash(volume), what);
        Assert.AreEqual(diskBefore, HashDisk(disk), what);
        Assert.AreEqual(sidecarBefore, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(sidecar))), what);
        Assert.IsTrue(logger.Entries.Any(e => e.Level == LogLevel.Warning && e.Message.Contains("disk.vhdx", StringComparison.Ordinal)), what);
    }

    public static IEnumerable<object[]> BadHeaders =>
    [
        ["log to replay", (s_layout.InitialHeaders().Header1 with { SequenceNumber = 3, LogGuid = Guid.NewGuid() }).ToArray()],
        ["old sequence", (s_layout.InitialHeaders().Header1 with { SequenceNumber = 2, FileWriteGuid = Guid.NewGuid() }).ToArray()],
        ["moved log", (s_layout.InitialHeaders().Header1 with { SequenceNumber = 3, LogOffset = 8 << 20 }).ToArray()],
        ["version 2", (s_layout.InitialHeaders().Header1 with { SequenceNumber = 3, Version = 2 }).ToArray()],
        ["bad checksum", Corrupt((s_layout.InitialHeaders().Header1 with { SequenceNumber = 3 }).ToArray())],
    ];

    private static byte[] Corrupt(byte[] bytes)
    {
        bytes[200] ^= 1;
        return bytes;
    }

    [TestMethod]
    [DynamicData(nameof(BadHeaders))]
    public void BadHeaderRewrite_IsRefused_NoSidecarWritten(string what, byte[] header)
    {
        using var dir = new TempDirectory();
        var sidecar = VhdxHeaderStore.SidecarPathFor(dir.Combine("disk.add-cow"));
        var disk = MemoryDisk.WithPattern(DiskSize);
        using var volume = Model(disk, sidecar);
        var before = Hash(volume);

        Assert.AreEqual(VolumeStatus.IoError, Write(volume, VhdxLayout.Header1Offset, header), what);

        Assert.AreEqual(before, Hash(volume));
        Assert.IsFalse(File.Exists(sidecar));
    }

    [TestMethod]
    public void PartialHeaderWrite_ThatBreaksTheChecksum_IsRefused()
    {
        var disk = MemoryDisk.WithPattern(DiskSize);
        using var volume = Model(disk, sidecar: null);
        var rewrite = (s_layout.InitialHeaders().Header1 with { SequenceNumber = 3 }).ToArray();

        // The new checksum without the new sequence number: the header it would leave is torn.
        Assert.AreEqual(VolumeStatus.IoError, Write(volume, VhdxLayout.Header1Offset, rewrite.AsSpan(0, 8)));
        // The whole first sector carries every changed field: the header it leaves is the well-formed rewrite.
        Assert.AreEqual(VolumeStatus.Success, Write(volume, VhdxLayout.Header1Offset, rewrite.AsSpan(0, 512)));
        CollectionAssert.AreEqual(rewrite, Read(volume, VhdxLayout.Header1Offset, 4096));
    }

    [TestMethod]
    public void QemuSequence_OpenThenFirstWrite_AllAccepted()
    {
        var disk = MemoryDisk.WithPattern(DiskSize);
        using var volume = Model(disk, sidecar: null);
        var (h1, h2) = s_layout.InitialHeaders();
        var open1 = h1 with { SequenceNumber = 3, FileWriteGuid = Guid.NewGuid() };
        var open2 = h2 with { SequenceNumber = 4, FileWriteGuid = open1.FileWriteGuid };
        var write1 = open1 with { SequenceNumber = 5, DataWriteGuid = Guid.NewGuid() };
        var write2 = open2 with { SequenceNumber = 6, DataWriteGuid = write1.DataWriteGuid };

        foreach (var (offset, header) in new[] { (VhdxLayout.Header1Offset, open1), (VhdxLayout.Header2Offset, open2), (VhdxLayout.Header1Offset, write1), (VhdxLayout.Header2Offset, write2) })
        {
            Assert.AreEqual(VolumeStatus.Success, Write(volume, offset, header.ToArray()), $"sequence {header.SequenceNumber}");
        }

        CollectionAssert.AreEqual(write2.ToArray(), Read(volume, VhdxLayout.Header2Offset, 4096));
    }

    [TestMethod]
    public void CorruptSidecar_FallsBackToTheInitialHeaders_AndSaysSo()
    {
        using var dir = new TempDirectory();
        var sidecar = VhdxHeaderStore.SidecarPathFor(dir.Combine("disk.add-cow"));
        File.WriteAllBytes(sidecar, new byte[8192]);
        var logger = new CapturingLogger<VolumeModel>();
        var disk = MemoryDisk.WithPattern(DiskSize);
        using var volume = Model(disk, sidecar, logger: logger);

        CollectionAssert.AreEqual(s_layout.InitialHeaders().Header1.ToArray(), Read(volume, VhdxLayout.Header1Offset, 4096));
        Assert.IsTrue(logger.Entries.Any(e => e.Level == LogLevel.Warning && e.Message.Contains(sidecar, StringComparison.Ordinal)));
    }

    [TestMethod]
    public void ReadOnlyMount_RefusesEvenAHeaderRewrite()
    {
        var disk = MemoryDisk.WithPattern(DiskSize);
        using var volume = Model(disk, sidecar: null, readOnly: true);

        Assert.AreEqual(VolumeStatus.WriteProtected, volume.Open("/disk.vhdx", VolumeAccess.ReadWrite, out _));
        Assert.AreEqual(VolumeStatus.WriteProtected, volume.CanWrite("/disk.vhdx"));
        volume.GetNode("/disk.vhdx", out var node);
        Assert.IsTrue(node!.IsReadOnly);
    }

    [TestMethod]
    public void HugeOverlay_OpensWithoutAllocatingItsBat()
    {
        var disk = new MemoryDisk(3L * 1024 * 1024 * MiB);
        var before = GC.GetAllocatedBytesForCurrentThread();
        using var volume = Model(disk, sidecar: null);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        volume.List("/", out var entries);
        CollectionAssert.AreEqual(new[] { "disk.img", "disk.vhdx", "disk.vmdk" }, entries.Select(e => e.Name).ToArray());
        Assert.IsLessThan(2L << 20, allocated, $"{allocated} bytes allocated at open");
        var lastEntry = Read(volume, VhdxLayout.BatOffset + ((VhdxLayout.Create(disk.Length, s_id).BatEntries - 1) * 8), 8);
        Assert.AreEqual(6, lastEntry[0] & 7);
    }
}
