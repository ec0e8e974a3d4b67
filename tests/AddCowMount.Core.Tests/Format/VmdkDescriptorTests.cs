using System.Text;
using AddCowMount.Core.Format;

namespace AddCowMount.Core.Tests.Format;

[TestClass]
public sealed class VmdkDescriptorTests
{
    private static readonly Guid s_id = new("01234567-89ab-cdef-0123-456789abcdef");

    [TestMethod]
    public void Create_Writable_HasRwFlatExtentAndDdb()
    {
        var descriptor = VmdkDescriptor.Create("disk.img", 100L * 1024 * 1024, readOnly: false, s_id);
        var lines = descriptor.Text.Split('\n');

        Assert.AreEqual("# Disk DescriptorFile", lines[0]);
        CollectionAssert.Contains(lines, "createType=\"monolithicFlat\"");
        CollectionAssert.Contains(lines, "parentCID=ffffffff");
        CollectionAssert.Contains(lines, "RW 204800 FLAT \"disk.img\" 0");
        CollectionAssert.Contains(lines, "ddb.adapterType = \"ide\"");
        CollectionAssert.Contains(lines, "ddb.geometry.cylinders = \"203\"");
        CollectionAssert.Contains(lines, "ddb.geometry.heads = \"16\"");
        CollectionAssert.Contains(lines, "ddb.geometry.sectors = \"63\"");
        CollectionAssert.Contains(lines, "ddb.uuid.image = \"01234567-89ab-cdef-0123-456789abcdef\"");
        Assert.IsTrue(lines.Any(l => l.StartsWith("ddb.uuid.modification = ", StringComparison.Ordinal)));
        CollectionAssert.AreEqual(Encoding.ASCII.GetBytes(descriptor.Text), descriptor.Bytes);
    }

    [TestMethod]
    public void Create_ReadOnly_HasRdonlyExtent()
    {
        var descriptor = VmdkDescriptor.Create("disk.img", 1024 * 1024, readOnly: true, s_id);

        StringAssert.Contains(descriptor.Text, "\nRDONLY 2048 FLAT \"disk.img\" 0\n");
        Assert.IsFalse(descriptor.Text.Contains("\nRW ", StringComparison.Ordinal));
    }

    [TestMethod]
    public void Create_SameInputs_SameBytes_CidFromId()
    {
        var a = VmdkDescriptor.Create("disk.img", 1024 * 1024, false, s_id);
        var b = VmdkDescriptor.Create("disk.img", 1024 * 1024, false, s_id);
        var c = VmdkDescriptor.Create("disk.img", 1024 * 1024, false, Guid.NewGuid());

        CollectionAssert.AreEqual(a.Bytes, b.Bytes);
        var cid = a.Text.Split('\n').Single(l => l.StartsWith("CID=", StringComparison.Ordinal));
        Assert.AreEqual(12, cid.Length);
        Assert.AreNotEqual(cid, c.Text.Split('\n').Single(l => l.StartsWith("CID=", StringComparison.Ordinal)));
    }

    [TestMethod]
    [DataRow("with\"quote.img")]
    [DataRow("sub/disk.img")]
    [DataRow("dïsk.img")]
    [DataRow("")]
    public void Create_BadExtentName_Throws(string name)
    {
        Assert.Throws<ArgumentException>(() => VmdkDescriptor.Create(name, 1024 * 1024, false, s_id));
    }

    [TestMethod]
    public void Create_SizeNotWholeSectors_Throws()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => VmdkDescriptor.Create("disk.img", 1000, false, s_id));
    }

    [TestMethod]
    [DataRow(2048L, 2L)]
    [DataRow(16L * 63, 1L)]
    [DataRow(1L << 40, 16383L)]
    public void ComputeGeometry_IdeStyle(long sectors, long cylinders)
    {
        Assert.AreEqual((cylinders, 16, 63), VmdkDescriptor.ComputeGeometry(sectors));
    }
}
