namespace AddCowMount.Mount.Fuse.Tests;

[TestClass]
public sealed class MountTableTests
{
    [TestMethod]
    public void Parse_FuseLine_ReadsDeviceMountPointAndType()
    {
        MountEntry? entry = MountTable.Parse("412 30 0:98 / /tmp/my\\040mount rw,nosuid,nodev,relatime shared:1 - fuse.addcow addcow rw,user_id=0,group_id=0");

        Assert.IsNotNull(entry);
        Assert.AreEqual(0, entry.Major);
        Assert.AreEqual(98, entry.Minor);
        Assert.AreEqual("/tmp/my mount", entry.MountPoint);
        Assert.AreEqual("fuse.addcow", entry.FileSystemType);
        Assert.AreEqual("addcow", entry.Source);
    }

    [TestMethod]
    public void Parse_Garbage_IsNull()
    {
        Assert.IsNull(MountTable.Parse("not a mountinfo line"));
    }

    [TestMethod]
    public void Find_Root_IsListed()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("/proc/self/mountinfo is Linux only.");
        }

        Assert.IsNotNull(MountTable.Find("/"));
    }
}
