using AddCowMount.Core.Volume;

namespace AddCowMount.Mount.Fuse.Tests;

[TestClass]
public sealed class FuseAttributesTests
{
    private static readonly DateTime s_time = new(2024, 5, 6, 7, 8, 9, DateTimeKind.Utc);

    private static VolumeNode File(long length, bool readOnly = false) => new("disk.img", false, length, readOnly, s_time, s_time, s_time);

    [TestMethod]
    public void RegularFile_Is0644OwnedByMounter()
    {
        FuseAttributes attributes = FuseAttributes.FromNode(File(1000), readOnlyMount: false, uid: 1000, gid: 100, blockSize: 4096);

        Assert.AreEqual(0x8000u | 0x1A4u, attributes.Mode); // S_IFREG | 0644
        Assert.AreEqual(1000u, attributes.Uid);
        Assert.AreEqual(100u, attributes.Gid);
        Assert.AreEqual(1000L, attributes.Size);
        Assert.AreEqual(2L, attributes.Blocks, "stat counts 512-byte blocks, rounded up");
        Assert.AreEqual(1UL, attributes.LinkCount);
        Assert.AreEqual(s_time, attributes.LastWriteTimeUtc);
        Assert.IsFalse(attributes.IsDirectory);
    }

    [TestMethod]
    [DataRow(true, false)]
    [DataRow(false, true)]
    public void ReadOnlyMountOrNode_Is0444(bool readOnlyMount, bool readOnlyNode)
    {
        FuseAttributes attributes = FuseAttributes.FromNode(File(512, readOnlyNode), readOnlyMount, 0, 0, 4096);

        Assert.AreEqual(0x8000u | 0x124u, attributes.Mode); // S_IFREG | 0444
    }

    [TestMethod]
    public void Directory_Is0755WithTwoLinks()
    {
        var node = new VolumeNode("/", true, 0, false, s_time, s_time, s_time);

        FuseAttributes attributes = FuseAttributes.FromNode(node, readOnlyMount: true, 5, 6, 4096);

        Assert.AreEqual(0x4000u | 0x1EDu, attributes.Mode); // S_IFDIR | 0755
        Assert.AreEqual(2UL, attributes.LinkCount);
        Assert.IsTrue(attributes.IsDirectory);
    }
}
