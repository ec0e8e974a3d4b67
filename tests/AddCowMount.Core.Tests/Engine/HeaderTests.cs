using System.Buffers.Binary;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Format;

namespace AddCowMount.Core.Tests.Engine;

[TestClass]
public sealed class HeaderTests
{
    [TestMethod]
    public void FieldLocations_MatchTheSeedsPackedStruct()
    {
        Assert.AreEqual(0, AddCowHeader.FieldLocations.Magic);
        Assert.AreEqual(8, AddCowHeader.FieldLocations.Version);
        Assert.AreEqual(12, AddCowHeader.FieldLocations.BackingFile);
        Assert.AreEqual(1036, AddCowHeader.FieldLocations.ImageFile);
        Assert.AreEqual(2060, AddCowHeader.FieldLocations.Size);
        Assert.AreEqual(2068, AddCowHeader.Length);
    }

    [TestMethod]
    public void WriteTo_PutsEachFieldBigEndianAtItsOffset()
    {
        var header = new AddCowHeader("base.raw", "image.raw", 0x0102030405060708);
        byte[] bytes = new byte[AddCowHeader.Length];
        bytes.AsSpan().Fill(0xEE); // padding must be cleared
        header.WriteTo(bytes);

        CollectionAssert.AreEqual("ADD_COW"u8.ToArray().Append((byte)0xFF).ToArray(), bytes[..8]);
        CollectionAssert.AreEqual(new byte[] { 0, 0, 0, 1 }, bytes[8..12]);
        CollectionAssert.AreEqual("base.raw"u8.ToArray(), bytes[12..20]);
        Assert.IsTrue(bytes[20..1036].All(b => b == 0), "backing name padding is not zero");
        CollectionAssert.AreEqual("image.raw"u8.ToArray(), bytes[1036..1045]);
        Assert.IsTrue(bytes[1045..2060].All(b => b == 0), "image name padding is not zero");
        CollectionAssert.AreEqual(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }, bytes[2060..2068]);
    }

    [TestMethod]
    public void Parse_OfWrittenBytes_RoundTrips()
    {
        var header = new AddCowHeader("../some dir/bäcking.add-cow", "img.raw", 1536);
        byte[] bytes = new byte[AddCowHeader.Length];
        header.WriteTo(bytes);

        AddCowHeader parsed = AddCowHeader.Parse(bytes, "x");

        Assert.AreEqual(header, parsed);
        Assert.AreEqual(3, parsed.SectorCount);
        Assert.AreEqual(1, parsed.BitmapLength);
    }

    [TestMethod]
    public void Parse_GoldenHeader_ReadsTheSeedsFields()
    {
        byte[] bytes = File.ReadAllBytes(Path.Combine(Golden.SourceFolder("basic-1m"), "disk.add-cow"));

        AddCowHeader header = AddCowHeader.Parse(bytes, "disk.add-cow");

        Assert.AreEqual("backing.raw", header.BackingFile);
        Assert.AreEqual("image.raw", header.ImageFile);
        Assert.AreEqual(1048576UL, header.Size);
        Assert.IsTrue(AddCowHeader.HasMagic(bytes));
    }

    [TestMethod]
    [DataRow(0L, 0, (byte)0x01)]
    [DataRow(1L, 0, (byte)0x02)]
    [DataRow(7L, 0, (byte)0x80)]
    [DataRow(8L, 1, (byte)0x01)]
    [DataRow(13L, 1, (byte)0x20)]
    public void Write_OneSector_SetsBitLsbFirstOnDisk(long sector, int bitmapByte, byte expected)
    {
        using var temp = new TempDirectory();
        string path = temp.Combine("disk.add-cow");
        AddCowImage.Create(path, new ImageCreateOptions { Size = 64 * 1024 });
        using (AddCowImage image = AddCowImage.Open(path, new ImageOpenOptions { Writable = true }))
        {
            image.WriteSectors(sector, new byte[512]);
            image.Flush();
        }

        byte[] file = File.ReadAllBytes(path);
        byte[] bitmap = file[AddCowHeader.Length..(AddCowHeader.Length + 16)];
        Assert.AreEqual(expected, bitmap[bitmapByte]);
        Assert.AreEqual(1, bitmap.Sum(b => System.Numerics.BitOperations.PopCount(b)), "exactly one bit set");
    }

    [TestMethod]
    public void Open_BitSetByHand_ReadsThatSectorFromTheImageFile()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, 64 * 1024);
        byte[] sectorData = EngineFiles.Pattern(512, 99);
        EngineFiles.Patch(temp.Combine("disk.raw"), 10 * 512, sectorData);
        EngineFiles.Patch(path, AddCowHeader.Length + 1, [0x04]); // sector 10 = byte 1, bit 2

        using AddCowImage image = AddCowImage.Open(path);
        byte[] all = EngineFiles.ReadAll(image);
        byte[] backing = File.ReadAllBytes(temp.Combine("base.raw"));

        CollectionAssert.AreEqual(sectorData, all[(10 * 512)..(11 * 512)]);
        CollectionAssert.AreEqual(backing[(9 * 512)..(10 * 512)], all[(9 * 512)..(10 * 512)]);
        CollectionAssert.AreEqual(backing[(11 * 512)..(12 * 512)], all[(11 * 512)..(12 * 512)]);
        Assert.IsTrue(image.IsAllocated(10));
        Assert.AreEqual(1, image.AllocatedSectors);
    }

    [TestMethod]
    public void Size_IsBigEndianInTheFile()
    {
        using var temp = new TempDirectory();
        string path = temp.Combine("d.add-cow");
        AddCowImage.Create(path, new ImageCreateOptions { Size = 3 * 1024 * 1024 });

        byte[] file = File.ReadAllBytes(path);

        Assert.AreEqual(3UL * 1024 * 1024, BinaryPrimitives.ReadUInt64BigEndian(file.AsSpan(2060)));
    }
}
