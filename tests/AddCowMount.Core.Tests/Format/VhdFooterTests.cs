using System.Buffers.Binary;
using System.Text;
using AddCowMount.Core.Format;
using AddCowMount.Core.Tests.Volume;

namespace AddCowMount.Core.Tests.Format;

[TestClass]
public sealed class VhdFooterTests
{
    private static readonly Guid s_id = new("01234567-89ab-cdef-0123-456789abcdef");
    private static readonly DateTime s_time = new(2000, 1, 1, 0, 1, 40, DateTimeKind.Utc);

    [TestMethod]
    public void Size_Is512()
    {
        Assert.AreEqual(512, VhdFooter.Size);
        Assert.AreEqual(85, VhdFooter.FieldLocations.Reserved);
    }

    [TestMethod]
    public void Create_WritesEveryFieldBigEndian()
    {
        var bytes = VhdFooter.Create(1024 * 1024, s_id, s_time).ToArray();

        Assert.AreEqual("conectix", Encoding.ASCII.GetString(bytes, 0, 8));
        Assert.AreEqual(2u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(8)));
        Assert.AreEqual(0x00010000u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(12)));
        Assert.AreEqual(ulong.MaxValue, BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(16)));
        Assert.AreEqual(100u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(24)));
        Assert.AreEqual("win ", Encoding.ASCII.GetString(bytes, 28, 4));
        Assert.AreEqual("Wi2k", Encoding.ASCII.GetString(bytes, 36, 4));
        Assert.AreEqual(1024UL * 1024, BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(40)));
        Assert.AreEqual(1024UL * 1024, BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(48)));
        // 2048 sectors: 17 sectors/track, 4 heads, 30 cylinders (spec algorithm).
        Assert.AreEqual(30, BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(56)));
        Assert.AreEqual(4, bytes[58]);
        Assert.AreEqual(17, bytes[59]);
        Assert.AreEqual(2u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(60)));
        CollectionAssert.AreEqual(Convert.FromHexString("0123456789ABCDEF0123456789ABCDEF"), bytes[68..84]);
        Assert.AreEqual(0, bytes[84]);
        Assert.IsTrue(bytes.AsSpan(85).IndexOfAnyExcept((byte)0) < 0, "reserved bytes must be zero");

        uint sum = 0;
        for (var i = 0; i < 512; i++)
        {
            sum += i is >= 64 and < 68 ? 0u : bytes[i];
        }

        Assert.AreEqual(~sum, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(64)));
    }

    [TestMethod]
    public void Parse_RoundTripsCreate()
    {
        var footer = VhdFooter.Create(10L * 1024 * 1024 * 1024, s_id, s_time);

        var parsed = VhdFooter.Parse(footer.ToArray());

        Assert.AreEqual(footer, parsed);
        Assert.AreEqual(s_time, parsed.TimeStampUtc);
    }

    [TestMethod]
    public void Parse_FlippedByte_ThrowsChecksumMismatch()
    {
        var bytes = VhdFooter.Create(1024 * 1024, s_id, s_time).ToArray();
        bytes[50] ^= 1;

        Assert.IsFalse(VhdFooter.TryParse(bytes, out _));
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => VhdFooter.Parse(bytes));
        StringAssert.Contains(ex.Message, "checksum");
    }

    [TestMethod]
    public void Parse_WrongCookie_SaysNotAVhd()
    {
        var bytes = VhdFooter.Create(1024 * 1024, s_id, s_time).ToArray();
        "QFI\xfb"u8.CopyTo(bytes);

        var ex = Assert.ThrowsExactly<InvalidDataException>(() => VhdFooter.Parse(bytes));
        StringAssert.Contains(ex.Message, "conectix");
    }

    [TestMethod]
    public void Parse_Short_Throws()
    {
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => VhdFooter.Parse(new byte[100]));
        StringAssert.Contains(ex.Message, "truncated");
    }

    [TestMethod]
    [DataRow(-512L)]
    [DataRow(1000L)]
    [DataRow(VhdFooter.MaxDiskSize + 512)]
    public void Create_BadSize_Throws(long size)
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => VhdFooter.Create(size, s_id, s_time));
    }

    [TestMethod]
    public void Create_AtLimit_Works()
    {
        var footer = VhdFooter.Create(VhdFooter.MaxDiskSize, s_id, s_time);

        Assert.AreEqual((ulong)VhdFooter.MaxDiskSize, footer.CurrentSize);
        Assert.AreEqual(new VhdGeometry(65535, 16, 255), footer.Geometry);
    }

    [TestMethod]
    [DataRow(0L, 0u)]
    [DataRow(-5L, 0u)]
    [DataRow(86400L, 86400u)]
    public void ToTimeStamp_SecondsSince2000(long seconds, uint expected)
    {
        Assert.AreEqual(expected, VhdFooter.ToTimeStamp(new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(seconds)));
    }

    [TestMethod]
    public void StableId_SameTextSameId_DifferentTextDifferentId()
    {
        var a = VhdFooter.StableId("/data/vm/disk.add-cow");

        Assert.AreEqual(a, VhdFooter.StableId("/data/vm/disk.add-cow"));
        Assert.AreNotEqual(a, VhdFooter.StableId("/data/vm/other.add-cow"));
        Assert.AreNotEqual(Guid.Empty, a);
        Assert.AreEqual(4, a.Version);
    }

    /// <summary>Known-good bytes: qemu-img's own fixed VHD footer parses, and our checksum and geometry agree with qemu's.</summary>
    [TestMethod]
    [DataRow("1M")]
    [DataRow("10M")]
    [DataRow("127M")]
    [DataRow("1000M")]
    [DataRow("40G")]
    public void Parse_QemuImgFixedVhd_AcceptsFooterAndRecomputesChecksum(string size)
    {
        using var temp = new TempDirectory();
        var path = temp.Combine("qemu.vhd");
        QemuImg.RunChecked("create", "-q", "-f", "vpc", "-o", "subformat=fixed", path, size);

        var bytes = new byte[VhdFooter.Size];
        using (var file = File.OpenRead(path))
        {
            file.Seek(-VhdFooter.Size, SeekOrigin.End);
            file.ReadExactly(bytes);
        }

        var footer = VhdFooter.Parse(bytes);

        Assert.AreEqual(BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(64)), VhdFooter.ComputeChecksum(bytes));
        Assert.AreEqual(footer.Checksum, VhdFooter.ComputeChecksum(bytes));
        Assert.AreEqual(VhdFooter.DiskTypeFixed, footer.DiskType);
        Assert.AreEqual(footer.Geometry, VhdFooter.ComputeGeometry((long)footer.CurrentSize / 512), "CHS geometry differs from qemu's");
        Assert.AreEqual(new FileInfo(path).Length - VhdFooter.Size, (long)footer.CurrentSize);
    }

    [TestMethod]
    public void ComputeGeometry_CapsAtSpecMaximum()
    {
        Assert.AreEqual(new VhdGeometry(65535, 16, 255), VhdFooter.ComputeGeometry(long.MaxValue / 1024));
    }
}
