using AddCowMount.Core.Alignment;
using AddCowMount.Core.Engine;

namespace AddCowMount.Core.Tests.Engine;

[TestClass]
public sealed class ResizeTests
{
    private static readonly ImageOpenOptions s_writable = new() { Writable = true };

    [TestMethod]
    [DataRow(64 * 1024, 128 * 1024)]
    [DataRow(64 * 1024, 64 * 1024 + 1536)]
    [DataRow(64 * 1024, 3 * 1024 * 1024)]
    public void Resize_Grow_KeepsContentNewAreaZeroWithoutBacking(int oldSize, int newSize)
    {
        using var temp = new TempDirectory();
        string path = temp.Combine("disk.add-cow");
        AddCowImage.Create(path, new ImageCreateOptions { Size = oldSize });
        byte[] data = EngineFiles.Pattern(oldSize, 11);
        using (AddCowImage image = AddCowImage.Open(path, s_writable))
        {
            image.WriteSectors(0, data);
            image.Resize(newSize);
            Assert.AreEqual(newSize, image.Length);
        }

        using AddCowImage reopened = AddCowImage.Open(path);
        byte[] all = EngineFiles.ReadAll(reopened);
        Assert.AreEqual(newSize, all.Length);
        CollectionAssert.AreEqual(data, all[..oldSize]);
        Assert.IsTrue(all[oldSize..].All(b => b == 0), "grown area is not zero");
        Assert.AreEqual(oldSize / 512, reopened.AllocatedSectors);
    }

    [TestMethod]
    public void Resize_GrowOverLongerBacking_NewAreaShowsBacking()
    {
        using var temp = new TempDirectory();
        EngineFiles.WriteRaw(temp, "base.raw", 256 * 1024, 12);
        string path = temp.Combine("disk.add-cow");
        AddCowImage.Create(path, new ImageCreateOptions { BackingFile = "base.raw", Size = 64 * 1024 });
        using (AddCowImage image = AddCowImage.Open(path, s_writable))
        {
            image.Resize(256 * 1024);
        }

        using AddCowImage reopened = AddCowImage.Open(path);
        CollectionAssert.AreEqual(File.ReadAllBytes(temp.Combine("base.raw")), EngineFiles.ReadAll(reopened));
    }

    [TestMethod]
    public void Resize_Shrink_KeepsRemainingContent()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, 256 * 1024);
        byte[] data = EngineFiles.Pattern(256 * 1024, 13);
        using (AddCowImage image = AddCowImage.Open(path, s_writable))
        {
            image.WriteSectors(0, data);
            image.Resize(100 * 1024 + 300); // rounds down to whole sectors
        }

        using AddCowImage reopened = AddCowImage.Open(path);
        Assert.AreEqual(100 * 1024, reopened.Length);
        CollectionAssert.AreEqual(data[..(100 * 1024)], EngineFiles.ReadAll(reopened));
        Assert.AreEqual(100 * 1024, new FileInfo(temp.Combine("disk.raw")).Length);
    }

    /// <summary>Sectors cut off by a shrink must not come back as allocated (and zero) when the disk grows again.</summary>
    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void Resize_ShrinkThenGrow_CutSectorsShowBackingAgain(bool reopenBetween)
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, 256 * 1024);
        byte[] backing = File.ReadAllBytes(temp.Combine("base.raw"));
        AddCowImage image = AddCowImage.Open(path, s_writable);
        try
        {
            image.WriteSectors(0, EngineFiles.Pattern(256 * 1024, 14));
            image.Flush();
            image.Resize(64 * 1024 + 1536); // cut mid-byte of the bitmap and mid-chunk
            if (reopenBetween)
            {
                image.Dispose();
                image = AddCowImage.Open(path, s_writable);
            }

            image.Resize(256 * 1024);
            byte[] live = EngineFiles.ReadAll(image);
            CollectionAssert.AreEqual(backing[(64 * 1024 + 1536)..], live[(64 * 1024 + 1536)..], "before reopen");
            Assert.AreEqual((64 * 1024 + 1536) / 512, image.AllocatedSectors);
        }
        finally
        {
            image.Dispose();
        }

        using AddCowImage reopened = AddCowImage.Open(path);
        CollectionAssert.AreEqual(backing[(64 * 1024 + 1536)..], EngineFiles.ReadAll(reopened)[(64 * 1024 + 1536)..], "after reopen");
    }

    /// <summary>Padding bits past the last sector (set by another tool) must not become allocated sectors on grow.</summary>
    [TestMethod]
    public void Resize_GrowWithPaddingBitsSetOnDisk_NewSectorsUnallocated()
    {
        using var temp = new TempDirectory();
        EngineFiles.WriteRaw(temp, "base.raw", 128 * 1024, 16);
        string path = temp.Combine("disk.add-cow");
        AddCowImage.Create(path, new ImageCreateOptions { BackingFile = "base.raw", Size = (64 * 1024) + 1536 }); // 131 sectors
        EngineFiles.Patch(path, AddCowMount.Core.Format.AddCowHeader.Length + 16, [0xF8]); // bits of sectors 131..135: padding
        using (AddCowImage image = AddCowImage.Open(path, s_writable))
        {
            Assert.AreEqual(0, image.AllocatedSectors, "padding bits are not sectors");
            image.Resize(128 * 1024);
            Assert.AreEqual(0, image.AllocatedSectors);
        }

        using AddCowImage reopened = AddCowImage.Open(path);
        Assert.AreEqual(0, reopened.AllocatedSectors);
        CollectionAssert.AreEqual(File.ReadAllBytes(temp.Combine("base.raw")), EngineFiles.ReadAll(reopened));
    }

    [TestMethod]
    public void Resize_ReadOnly_Refused()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, 64 * 1024);
        using AddCowImage image = AddCowImage.Open(path);

        Assert.AreEqual(AddCowMount.Core.Format.AddCowError.ReadOnly, Assert.ThrowsExactly<AddCowMount.Core.Format.AddCowException>(() => image.Resize(128 * 1024)).Error);
    }

    [TestMethod]
    public void Resize_GrowThenUnalignedWritesAcrossOldEnd_ReadBack()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, 64 * 1024);
        byte[] backing = File.ReadAllBytes(temp.Combine("base.raw"));
        byte[] data = EngineFiles.Pattern(3000, 15);
        using (AddCowImage image = AddCowImage.Open(path, s_writable))
        {
            image.Resize(128 * 1024);
            using var disk = new SectorAligningDisk(image, ownsDevice: false);
            disk.Write((64 * 1024) - 1000, data);
        }

        using AddCowImage reopened = AddCowImage.Open(path);
        byte[] all = EngineFiles.ReadAll(reopened);
        byte[] expected = new byte[128 * 1024];
        backing.CopyTo(expected, 0);
        data.CopyTo(expected, (64 * 1024) - 1000);
        CollectionAssert.AreEqual(expected, all);
    }
}
