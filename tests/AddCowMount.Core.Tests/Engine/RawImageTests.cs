using AddCowMount.Core.Engine;
using AddCowMount.Core.Format;
using AddCowMount.Core.Storage;

namespace AddCowMount.Core.Tests.Engine;

/// <summary>A raw layer opened read-only refuses writes the way every other layer does, and leaves the file alone.</summary>
[TestClass]
public sealed class RawImageTests
{
    [TestMethod]
    public void ReadOnlyRawImage_RefusesWritesAndGrowth_WithTheReadOnlyError_AndTheFileStaysUnchanged()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.WriteRaw(temp, "base.raw", 4096, seed: 3);
        byte[] before = File.ReadAllBytes(path);
        using var raw = new RawImage(FileStorage.Instance.Open(path, writable: false, StorageLock.Shared));

        var write = Assert.ThrowsExactly<AddCowException>(() => raw.WriteSectors(1, new byte[512]));
        var grow = Assert.ThrowsExactly<AddCowException>(() => raw.EnsureLength(1 << 20));

        Assert.AreEqual(AddCowError.ReadOnly, write.Error);
        Assert.AreEqual(AddCowError.ReadOnly, grow.Error);
        Assert.AreEqual(path, write.FilePath);
        Assert.AreEqual(4096, raw.Length);
        CollectionAssert.AreEqual(before, File.ReadAllBytes(path));
    }
}
