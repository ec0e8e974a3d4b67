using AddCowMount.Core.Engine;
using AddCowMount.Core.Format;

namespace AddCowMount.Core.Tests.Engine;

/// <summary>
/// QEMU-style image locking. Locks are per open file description (flock on Linux, share modes on Windows),
/// so two opens inside one test process conflict exactly as two processes would.
/// </summary>
[TestClass]
public sealed class LockingTests
{
    private static readonly ImageOpenOptions s_writable = new() { Writable = true };

    [TestMethod]
    public void Open_SecondWriter_InUseAndNothingChanged()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, 64 * 1024);
        using AddCowImage first = AddCowImage.Open(path, s_writable);
        Dictionary<string, string> before = EngineFiles.Snapshot(temp.Path);

        AddCowException ex = Assert.ThrowsExactly<AddCowException>(() => AddCowImage.Open(path, s_writable).Dispose());

        Assert.AreEqual(AddCowError.InUse, ex.Error);
        StringAssert.Contains(ex.Message, "disk.add-cow");
        StringAssert.Contains(ex.Message, "in use");
        EngineFiles.AssertUnchanged(before, temp.Path);
        first.WriteSectors(0, new byte[512]); // the first writer is unaffected
    }

    [TestMethod]
    public void Open_WriterWhileReaderHoldsIt_InUse()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, 64 * 1024);
        using AddCowImage reader = AddCowImage.Open(path);

        AddCowException ex = Assert.ThrowsExactly<AddCowException>(() => AddCowImage.Open(path, s_writable).Dispose());

        Assert.AreEqual(AddCowError.InUse, ex.Error);
    }

    [TestMethod]
    public void Open_ReaderWhileWriterHoldsIt_InUse()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, 64 * 1024);
        using AddCowImage writer = AddCowImage.Open(path, s_writable);

        AddCowException ex = Assert.ThrowsExactly<AddCowException>(() => AddCowImage.Open(path).Dispose());

        Assert.AreEqual(AddCowError.InUse, ex.Error);
    }

    [TestMethod]
    public void Open_TwoReaders_BothWork()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, 64 * 1024);

        using AddCowImage first = AddCowImage.Open(path);
        using AddCowImage second = AddCowImage.Open(path);

        CollectionAssert.AreEqual(EngineFiles.ReadAll(first), EngineFiles.ReadAll(second));
    }

    [TestMethod]
    public void Open_ForceShareWhileWriterHoldsIt_ReadsFlushedData()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, 64 * 1024);
        using AddCowImage writer = AddCowImage.Open(path, s_writable);
        byte[] data = EngineFiles.Pattern(1024, 7);
        writer.WriteSectors(4, data);
        writer.Flush();

        using AddCowImage inspector = AddCowImage.Open(path, new ImageOpenOptions { ForceShare = true });

        CollectionAssert.AreEqual(data, EngineFiles.ReadAll(inspector)[2048..3072]);
        Assert.AreEqual(2, inspector.AllocatedSectors);
    }

    [TestMethod]
    public void Open_ForceShareWritable_Refused()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, 64 * 1024);

        AddCowException ex = Assert.ThrowsExactly<AddCowException>(() =>
            AddCowImage.Open(path, new ImageOpenOptions { Writable = true, ForceShare = true }).Dispose());

        Assert.AreEqual(AddCowError.InvalidArgument, ex.Error);
    }

    [TestMethod]
    public void Open_WriterWhileAnotherImageUsesItAsBacking_InUse()
    {
        using var temp = new TempDirectory();
        string lower = EngineFiles.CreateWithBacking(temp, 64 * 1024);
        string upper = temp.Combine("upper.add-cow");
        AddCowImage.Create(upper, new ImageCreateOptions { BackingFile = "disk.add-cow" });
        using AddCowImage top = AddCowImage.Open(upper, s_writable);

        AddCowException ex = Assert.ThrowsExactly<AddCowException>(() => AddCowImage.Open(lower, s_writable).Dispose());

        Assert.AreEqual(AddCowError.InUse, ex.Error, "a backing file in use must not be opened for writing");
    }

    [TestMethod]
    public void Dispose_ReleasesTheLock()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, 64 * 1024);
        AddCowImage.Open(path, s_writable).Dispose();

        using AddCowImage again = AddCowImage.Open(path, s_writable);

        Assert.IsTrue(again.IsWritable);
    }
}
