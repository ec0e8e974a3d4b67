using AddCowMount.Core.Storage;

namespace AddCowMount.Core.Tests.Storage;

[TestClass]
public sealed class FileStorageTests
{
    /// <summary>
    /// A flush that fails must say so: .NET's RandomAccess.FlushToDisk ignores some fsync errors (EINVAL, ENOTCONN
    /// from a dead FUSE server), which would let a flush report data durable that is not. /dev/null refuses fsync
    /// with EINVAL.
    /// </summary>
    [TestMethod]
    [OSCondition(OperatingSystems.Linux)]
    public void Flush_WhenFsyncFails_Throws()
    {
        using IStorageFile file = FileStorage.Instance.Open("/dev/null", writable: true, StorageLock.Shared);
        IOException error = Assert.ThrowsExactly<IOException>(file.Flush);
        StringAssert.Contains(error.Message, "fsync of /dev/null failed");
    }

    [TestMethod]
    public void Flush_RegularFile_Succeeds()
    {
        using var temp = new TempDirectory();
        string path = temp.Combine("f.raw");
        File.WriteAllBytes(path, new byte[4096]);
        using (IStorageFile file = FileStorage.Instance.Open(path, writable: true, StorageLock.Exclusive))
        {
            file.Write(0, [1, 2, 3]);
            file.Flush();
        }

        Assert.AreEqual(1, File.ReadAllBytes(path)[0]);
    }
}
