using System.Buffers.Binary;
using System.Text;
using AddCowMount.Core.Format;

namespace AddCowMount.Core.Tests.Format;

[TestClass]
public sealed class VhdxLayoutTests
{
    private const long MiB = 1024 * 1024;
    private static readonly Guid s_id = new("01234567-89ab-cdef-0123-456789abcdef");

    /// <summary>Bitwise CRC-32C (reflected polynomial 0x82F63B78), independent of the code under test.</summary>
    private static uint ReferenceCrc32C(ReadOnlySpan<byte> data, int zeroAt = -1)
    {
        uint crc = 0xFFFFFFFF;
        for (var i = 0; i < data.Length; i++)
        {
            var b = i >= zeroAt && i < zeroAt + 4 && zeroAt >= 0 ? (byte)0 : data[i];
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
            }
        }

        return ~crc;
    }

    private static byte[] Structure(VhdxLayout layout)
    {
        var (h1, h2) = layout.InitialHeaders();
        return layout.StructureBytes(h1.ToArray(), h2.ToArray());
    }

    [TestMethod]
    public void Crc32C_MatchesTheStandardCheckValue()
    {
        Assert.AreEqual(0xE3069283u, VhdxChecksum.Compute("123456789"u8));
        var random = new byte[4096];
        new Random(3).NextBytes(random);
        Assert.AreEqual(ReferenceCrc32C(random, 4), VhdxChecksum.Compute(random, 4));
    }

    [TestMethod]
    public void FileIdentifier_IsVhdxfileAndTheCreator()
    {
        var bytes = Structure(VhdxLayout.Create(100 * MiB, s_id));

        Assert.AreEqual("vhdxfile", Encoding.ASCII.GetString(bytes, 0, 8));
        Assert.AreEqual("AddCowMount", Encoding.Unicode.GetString(bytes, 8, 22));
        Assert.IsFalse(bytes.AsSpan(30, 64 * 1024 - 30).ContainsAnyExcept((byte)0));
    }

    [TestMethod]
    public void Headers_AtBothSlots_EveryField()
    {
        var bytes = Structure(VhdxLayout.Create(100 * MiB, s_id));

        ulong? previous = null;
        foreach (var offset in new[] { 64 * 1024, 128 * 1024 })
        {
            var h = bytes.AsSpan(offset, 4096);
            Assert.AreEqual("head", Encoding.ASCII.GetString(h[..4]));
            Assert.AreEqual(ReferenceCrc32C(h, 4), BinaryPrimitives.ReadUInt32LittleEndian(h[4..]));
            var sequence = BinaryPrimitives.ReadUInt64LittleEndian(h[8..]);
            Assert.AreEqual(offset == 64 * 1024 ? 1UL : 2UL, sequence);
            Assert.AreNotEqual(Guid.Empty, new Guid(h.Slice(16, 16)));            // FileWriteGuid
            Assert.AreNotEqual(Guid.Empty, new Guid(h.Slice(32, 16)));            // DataWriteGuid
            Assert.AreEqual(Guid.Empty, new Guid(h.Slice(48, 16)));               // LogGuid: nothing to replay
            Assert.AreEqual(0, BinaryPrimitives.ReadUInt16LittleEndian(h[64..]));  // LogVersion
            Assert.AreEqual(1, BinaryPrimitives.ReadUInt16LittleEndian(h[66..]));  // Version
            Assert.AreEqual((uint)MiB, BinaryPrimitives.ReadUInt32LittleEndian(h[68..]));
            Assert.AreEqual((ulong)MiB, BinaryPrimitives.ReadUInt64LittleEndian(h[72..]));
            Assert.IsFalse(h[80..].ContainsAnyExcept((byte)0));
            Assert.IsFalse(bytes.AsSpan(offset + 4096, 60 * 1024).ContainsAnyExcept((byte)0));
            Assert.AreNotEqual(previous, sequence);
            previous = sequence;
        }
    }

    [TestMethod]
    public void Headers_StablePerVirtualDiskId()
    {
        var a = VhdxLayout.Create(100 * MiB, s_id).InitialHeaders();
        var b = VhdxLayout.Create(200 * MiB, s_id).InitialHeaders();
        var c = VhdxLayout.Create(100 * MiB, Guid.NewGuid()).InitialHeaders();

        Assert.AreEqual(a, b);
        Assert.AreNotEqual(a.Header1.FileWriteGuid, c.Header1.FileWriteGuid);
    }

    [TestMethod]
    public void RegionTables_IdenticalWithCrcAndBothEntries()
    {
        var layout = VhdxLayout.Create(5L * 1024 * MiB, s_id);
        var bytes = Structure(layout);
        var t1 = bytes.AsSpan(192 * 1024, 64 * 1024);
        var t2 = bytes.AsSpan(256 * 1024, 64 * 1024);

        Assert.IsTrue(t1.SequenceEqual(t2));
        Assert.AreEqual("regi", Encoding.ASCII.GetString(t1[..4]));
        Assert.AreEqual(ReferenceCrc32C(t1, 4), BinaryPrimitives.ReadUInt32LittleEndian(t1[4..]));
        Assert.AreEqual(2u, BinaryPrimitives.ReadUInt32LittleEndian(t1[8..]));
        // GUIDs in Guid.ToByteArray layout: the BAT region 2DC27766-F623-4200-9D64-115E9BFD4A08.
        CollectionAssert.AreEqual(Convert.FromHexString("6677C22D23F600429D64115E9BFD4A08"), t1.Slice(16, 16).ToArray());
        Assert.AreEqual((ulong)(3 * MiB), BinaryPrimitives.ReadUInt64LittleEndian(t1[32..]));
        Assert.AreEqual((uint)layout.BatLength, BinaryPrimitives.ReadUInt32LittleEndian(t1[40..]));
        Assert.AreEqual(1u, BinaryPrimitives.ReadUInt32LittleEndian(t1[44..]));
        CollectionAssert.AreEqual(Convert.FromHexString("06A27C8B90479A4BB8FE575F050F886E"), t1.Slice(48, 16).ToArray());
        Assert.AreEqual((ulong)(2 * MiB), BinaryPrimitives.ReadUInt64LittleEndian(t1[64..]));
        Assert.AreEqual((uint)MiB, BinaryPrimitives.ReadUInt32LittleEndian(t1[72..]));
        Assert.AreEqual(1u, BinaryPrimitives.ReadUInt32LittleEndian(t1[76..]));
        Assert.IsFalse(t1[80..].ContainsAnyExcept((byte)0));
        Assert.IsFalse(bytes.AsSpan(320 * 1024, (int)(MiB - (320 * 1024))).ContainsAnyExcept((byte)0), "reserved space and no log");
        Assert.IsFalse(bytes.AsSpan((int)MiB, (int)MiB).ContainsAnyExcept((byte)0), "the log is empty");
    }

    [TestMethod]
    public void Metadata_FiveItemsWithTheirValuesAndFlags()
    {
        var layout = VhdxLayout.Create(100 * MiB + 512, s_id);
        var region = Structure(layout).AsSpan((int)(2 * MiB), (int)MiB);

        Assert.AreEqual("metadata", Encoding.ASCII.GetString(region[..8]));
        Assert.AreEqual(5, BinaryPrimitives.ReadUInt16LittleEndian(region[10..]));
        var expected = new (string Guid, uint Flags, byte[] Value)[]
        {
            ("CAA16737-FA36-4D43-B3B6-33F0AA44E76B", 4, [0, 0, 0x80, 0, 1, 0, 0, 0]), // 8 MiB blocks, LeaveBlockAllocated, no parent
            ("2FA54224-CD1B-4876-B211-5DBED83BF4B8", 6, BitConverter.GetBytes(100UL * (ulong)MiB + 512)),
            ("BECA12AB-B2E6-4523-93EF-C309E000C746", 6, s_id.ToByteArray()),
            ("8141BF1D-A96F-4709-BA47-F233A8FAAB5F", 6, BitConverter.GetBytes(512u)),
            ("CDA348C7-445D-4471-9CC9-E9885251C556", 6, BitConverter.GetBytes(4096u)),
        };
        for (var i = 0; i < expected.Length; i++)
        {
            var entry = region.Slice(32 + (i * 32), 32);
            Assert.AreEqual(new Guid(expected[i].Guid), new Guid(entry[..16]));
            var offset = (int)BinaryPrimitives.ReadUInt32LittleEndian(entry[16..]);
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(entry[20..]);
            Assert.IsGreaterThanOrEqualTo(64 * 1024, offset);
            Assert.AreEqual(expected[i].Flags, BinaryPrimitives.ReadUInt32LittleEndian(entry[24..]));
            CollectionAssert.AreEqual(expected[i].Value, region.Slice(offset, length).ToArray(), expected[i].Guid);
        }
    }

    [TestMethod]
    [DataRow(100 * MiB, 8 * MiB)]
    [DataRow(2L * 1024 * MiB, 16 * MiB)]
    [DataRow(3L * 1024 * 1024 * MiB, 32 * MiB)]
    [DataRow(64L * 1024 * 1024 * MiB, 64 * MiB)]
    public void BlockSize_AndChunkRatio(long size, long blockSize)
    {
        var layout = VhdxLayout.Create(size, s_id);

        Assert.AreEqual(blockSize, layout.BlockSize);
        Assert.AreEqual((1L << 23) * 512 / blockSize, layout.ChunkRatio);
    }

    [TestMethod]
    public void Bat_InterleavesASectorBitmapEntryAfterEveryChunk()
    {
        // 5 GiB: 16 MiB blocks, chunk ratio 256, 320 payload blocks: entries 0..255 blocks, 256 bitmap, 257..320 blocks 256..319.
        var layout = VhdxLayout.Create(5L * 1024 * MiB, s_id);
        Assert.AreEqual(320, layout.PayloadBlocks);
        Assert.AreEqual(321, layout.BatEntries);
        Assert.AreEqual(MiB, layout.BatLength);
        Assert.AreEqual(4 * MiB, layout.PayloadOffset);

        var bat = Structure(layout).AsSpan((int)(3 * MiB), (int)MiB);
        for (var e = 0; e < 400; e++)
        {
            var value = BinaryPrimitives.ReadUInt64LittleEndian(bat[(e * 8)..]);
            long? block = e < 256 ? e : e == 256 ? null : e <= 320 ? e - 1 : null;
            var expected = block is { } b ? (ulong)(layout.PayloadOffset + (b * 16 * MiB)) | 6 : 0;
            Assert.AreEqual(expected, value, $"entry {e}");
        }

        Assert.AreEqual(6UL, layout.BatEntry(0) & 7);
        Assert.AreEqual((ulong)(4 * MiB), layout.BatEntry(0) & ~0xFFFFFUL, "FileOffsetMB: bits 20..63");
    }

    [TestMethod]
    public void Bat_UnalignedReadsSeeTheSameBytes()
    {
        var layout = VhdxLayout.Create(5L * 1024 * MiB, s_id);
        var whole = Structure(layout);
        var (h1, h2) = layout.InitialHeaders();
        var part = new byte[1003];
        layout.ReadStructure((3 * MiB) + 2045, part, h1.ToArray(), h2.ToArray());

        CollectionAssert.AreEqual(whole.AsSpan((int)(3 * MiB) + 2045, 1003).ToArray(), part);
    }

    [TestMethod]
    public void LastPartialBlock_IsPaddedToAWholeBlock()
    {
        var layout = VhdxLayout.Create(100 * MiB + 512, s_id);

        Assert.AreEqual(13, layout.PayloadBlocks);
        Assert.AreEqual(layout.PayloadOffset + (13 * 8 * MiB), layout.FileLength);
        Assert.AreEqual(layout.PayloadOffset + (100 * MiB) + 512, layout.PayloadEnd);
        Assert.AreEqual((ulong)(layout.PayloadOffset + (12 * 8 * MiB)) | 6, layout.BatEntry(12));
        Assert.AreEqual(0UL, layout.BatEntry(13));
        Assert.AreEqual("padding after the disk's end", layout.RegionAt(layout.PayloadEnd));
    }

    [TestMethod]
    public void HugeDisk_LayoutCostsNoMemory()
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var layout = VhdxLayout.Create(VhdxLayout.MaxDiskSize, s_id);
        var entry = layout.BatEntry(layout.BatEntries - 1);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.AreEqual(1L << 20, layout.PayloadBlocks);
        Assert.AreEqual((1L << 20) + (((1L << 20) - 1) / 64), layout.BatEntries);
        Assert.AreEqual(9 * MiB, layout.BatLength);
        Assert.AreEqual((ulong)(layout.PayloadOffset + (((1L << 20) - 1) * 64 * MiB)) | 6, entry);
        Assert.IsLessThan(1L << 20, allocated, $"{allocated} bytes allocated");
    }

    [TestMethod]
    [DataRow(0L)]
    [DataRow(1000L)]
    [DataRow(64L * 1024 * 1024 * MiB + 512)]
    public void Unsupported_SaysWhy(long size)
    {
        Assert.IsNotNull(VhdxLayout.Unsupported(size));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => VhdxLayout.Create(size, s_id));
    }
}
