using AddCowMount.Core.Alignment;
using AddCowMount.Core.Engine;

namespace AddCowMount.Core.Tests.Engine;

/// <summary>
/// A 2 TiB overlay has a 512 MiB bitmap. Opening must not read or allocate it: asserted by memory (bitmap
/// chunks loaded and bytes allocated), never by wall-clock time.
/// </summary>
[TestClass]
public sealed class LargeDiskTests
{
    private const long TwoTiB = 2L << 40;

    [TestMethod]
    public void Open_2TiBOverlay_LoadsNoBitmapAndFarEndWorks()
    {
        using var temp = new TempDirectory();
        string path = temp.Combine("big.add-cow");
        AddCowImage.Create(path, new ImageCreateOptions { Size = TwoTiB });
        Assert.AreEqual(2068 + (TwoTiB / 512 / 8), new FileInfo(path).Length);

        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        AddCowImage image = AddCowImage.Open(path, new ImageOpenOptions { Writable = true });
        long openAllocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        byte[] head = EngineFiles.Pattern(4096, 21);
        byte[] tail = EngineFiles.Pattern(3001, 22);
        try
        {
            Assert.AreEqual(0, image.LoadedBitmapChunks, "open read bitmap chunks");
            Assert.IsLessThan(2L * 1024 * 1024, openAllocated, $"open allocated {openAllocated} bytes for a 512 MiB bitmap");

            using var disk = new SectorAligningDisk(image, ownsDevice: false);
            disk.Write(0, head);
            disk.Write(TwoTiB - 3001, tail);
            disk.Flush();
            Assert.AreEqual(2, image.LoadedBitmapChunks, "only the first and last 64 KiB bitmap chunks are needed");
        }
        finally
        {
            image.Dispose();
        }

        using AddCowImage reopened = AddCowImage.Open(path);
        using var view = new SectorAligningDisk(reopened, ownsDevice: false);
        byte[] readTail = new byte[3001 + 10];
        view.Read(TwoTiB - readTail.Length, readTail);
        byte[] readHead = new byte[4096];
        view.Read(0, readHead);
        CollectionAssert.AreEqual(tail, readTail[10..]);
        Assert.IsTrue(readTail[..10].All(b => b == 0));
        CollectionAssert.AreEqual(head, readHead);
        Assert.AreEqual(2, reopened.LoadedBitmapChunks);
        Assert.IsTrue(reopened.IsAllocated((TwoTiB / 512) - 1));
        Assert.IsFalse(reopened.IsAllocated((TwoTiB / 512) - 7));
    }
}
