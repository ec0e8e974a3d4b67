using AddCowMount.Core.Alignment;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Format;
using AddCowMount.Core.Storage;
using AddCowMount.Core.Volume;
using Microsoft.Extensions.Logging.Abstractions;

namespace AddCowMount.Core.Tests.Engine;

/// <summary>
/// TryMapUnchanging / TryMapRead: a read may be taken from a file range only where that range holds exactly the bytes
/// a read returns and nothing can write it while the disk is open. Every "true" is checked against the bytes a read
/// gives; every case a read would answer differently (overlay data that later writes change, zeros past the base,
/// copy-on-read, an unlocked look) must say false.
/// </summary>
[TestClass]
public sealed class MapUnchangingTests
{
    private const int Sector = 512;
    private const int BaseLength = 256 * 1024;

    [TestMethod]
    public void UnallocatedSectors_MapToTheBaseFile_AndHoldWhatAReadReturns()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, BaseLength, seed: 5);
        using var disk = new SectorAligningDisk(AddCowImage.Open(path, new ImageOpenOptions { Writable = true }));

        Assert.IsTrue(disk.TryMapUnchanging(64 * 1024, 128 * 1024, out FileRange range));

        Assert.AreEqual(64 * 1024, range.Offset);
        Assert.AreEqual(128 * 1024, range.Length);
        CollectionAssert.AreEqual(Read(disk, 64 * 1024, 128 * 1024), ReadFile(range));
        CollectionAssert.AreEqual(File.ReadAllBytes(temp.Combine("base.raw"))[(64 * 1024)..(192 * 1024)], ReadFile(range));
    }

    [TestMethod]
    public void WrittenSectors_OfAWritableOverlay_AreNotMapped_NorIsARangeThatMixesLayers()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, BaseLength, seed: 6);
        using var disk = new SectorAligningDisk(AddCowImage.Open(path, new ImageOpenOptions { Writable = true }));
        disk.Write(96 * 1024, EngineFiles.Pattern(Sector, seed: 7));

        Assert.IsFalse(disk.TryMapUnchanging(96 * 1024, Sector, out _), "overlay data a later write would change");
        Assert.IsFalse(disk.TryMapUnchanging(64 * 1024, 64 * 1024, out _), "base, then one overlay sector");
        Assert.IsTrue(disk.TryMapUnchanging(0, 96 * 1024, out _), "the base before it");
        Assert.IsTrue(disk.TryMapUnchanging((96 * 1024) + Sector, 16 * 1024, out _), "the base after it");
    }

    [TestMethod]
    public void AReadOnlyOverlay_MapsItsWrittenSectors_ToItsImageFile()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, BaseLength, seed: 8);
        byte[] written = EngineFiles.Pattern(32 * 1024, seed: 9);
        using (var writable = new SectorAligningDisk(AddCowImage.Open(path, new ImageOpenOptions { Writable = true })))
        {
            writable.Write(32 * 1024, written);
            writable.Flush();
        }

        using var disk = new SectorAligningDisk(AddCowImage.Open(path));

        Assert.IsTrue(disk.TryMapUnchanging(32 * 1024, written.Length, out FileRange range));
        CollectionAssert.AreEqual(written, ReadFile(range));
        CollectionAssert.AreEqual(Read(disk, 32 * 1024, written.Length), ReadFile(range));
        Assert.IsFalse(disk.TryMapUnchanging(0, 64 * 1024, out _), "base, then image file");
    }

    [TestMethod]
    public void SectorsPastTheBase_ReadAsZeros_AndAreNotMapped()
    {
        using var temp = new TempDirectory();
        EngineFiles.WriteRaw(temp, "base.raw", BaseLength, seed: 10);
        string path = temp.Combine("disk.add-cow");
        AddCowImage.Create(path, new ImageCreateOptions { BackingFile = "base.raw", Size = 2 * BaseLength });
        using var disk = new SectorAligningDisk(AddCowImage.Open(path, new ImageOpenOptions { Writable = true }));

        Assert.IsFalse(disk.TryMapUnchanging(BaseLength, 64 * 1024, out _));
        Assert.IsFalse(disk.TryMapUnchanging(BaseLength - (32 * 1024), 64 * 1024, out _), "straddling the base's end");
        Assert.IsTrue(disk.TryMapUnchanging(BaseLength - (32 * 1024), 32 * 1024, out _));
    }

    [TestMethod]
    public void PartialSectors_MapAtTheirOwnOffsets_UnlessTheirSectorsMixLayers()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, BaseLength, seed: 15);
        using var disk = new SectorAligningDisk(AddCowImage.Open(path, new ImageOpenOptions { Writable = true }));
        disk.Write(8 * Sector, EngineFiles.Pattern(Sector, seed: 16));

        Assert.IsTrue(disk.TryMapUnchanging(100, (7 * Sector) - 100 - 3, out FileRange range), "inside sectors 0-6");
        Assert.AreEqual(100, range.Offset);
        Assert.AreEqual((7 * Sector) - 103, range.Length);
        CollectionAssert.AreEqual(Read(disk, 100, range.Length), ReadFile(range));
        Assert.IsFalse(disk.TryMapUnchanging(100, 8 * Sector, out _), "its last byte is in the written sector 8");
        Assert.IsFalse(disk.TryMapUnchanging((9 * Sector) - 1, 2, out _), "its first byte is in sector 8");
        Assert.IsTrue(disk.TryMapUnchanging((9 * Sector) + 1, 2, out range));
        Assert.AreEqual((9 * Sector) + 1, range.Offset);
    }

    [TestMethod]
    public void CopyOnRead_AndRangesOutsideTheDisk_AreNotMapped()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, BaseLength, seed: 11);
        using (var disk = new SectorAligningDisk(AddCowImage.Open(path, new ImageOpenOptions { Writable = true })))
        {
            Assert.IsFalse(disk.TryMapUnchanging(0, 0, out _), "empty");
            Assert.IsFalse(disk.TryMapUnchanging(-Sector, 4096, out _), "before the disk");
            Assert.IsFalse(disk.TryMapUnchanging(BaseLength - Sector, 4096, out _), "past the disk's end");
        }

        using var copying = new SectorAligningDisk(AddCowImage.Open(path, new ImageOpenOptions { Writable = true }), copyOnRead: true);
        Assert.IsFalse(copying.TryMapUnchanging(0, 4096, out _), "with copy-on-read a read writes the image file");
    }

    [TestMethod]
    public void AnUnlockedLook_AndAWritableBacking_AreNotMapped()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, BaseLength, seed: 12);

        using (var unlocked = new SectorAligningDisk(AddCowImage.Open(path, new ImageOpenOptions { ForceShare = true })))
        {
            Assert.IsFalse(unlocked.TryMapUnchanging(0, 4096, out _), "without a lock another process may write the base");
        }

        using var writableBacking = new SectorAligningDisk(AddCowImage.Open(path, new ImageOpenOptions { Writable = true, WritableBacking = true }));
        Assert.IsFalse(writableBacking.TryMapUnchanging(0, 4096, out _));
    }

    [TestMethod]
    public void Views_MapOnlyTheDiskTheyShow_AtTheDisksOffsets()
    {
        using var temp = new TempDirectory();
        string path = EngineFiles.CreateWithBacking(temp, 4 << 20, seed: 13);
        var disk = new SectorAligningDisk(AddCowImage.Open(path, new ImageOpenOptions { Writable = true }));
        using var volume = new VolumeModel(disk, new VolumeModelOptions { BaseName = "disk", UniqueId = Guid.NewGuid() }, NullLogger<VolumeModel>.Instance);
        long diskLength = disk.Length;
        VhdxLayout layout = VhdxLayout.Create(diskLength, Guid.NewGuid());

        using (IVolumeHandle img = Open(volume, "/disk.img", VolumeAccess.Read))
        {
            Assert.IsTrue(img.TryMapRead(8192, 65536, out FileRange range));
            Assert.AreEqual(8192, range.Offset);
            Assert.IsFalse(img.TryMapRead(diskLength - 4096, 8192, out _), "past the end of the file");
        }

        using (IVolumeHandle vhd = Open(volume, "/disk.vhd", VolumeAccess.Read))
        {
            Assert.IsTrue(vhd.TryMapRead(diskLength - 65536, 65536, out _));
            Assert.IsFalse(vhd.TryMapRead(diskLength - 65536, 65536 + VhdFooter.Size, out _), "the footer is the view's own");
        }

        using (IVolumeHandle vhdx = Open(volume, "/disk.vhdx", VolumeAccess.Read))
        {
            Assert.IsFalse(vhdx.TryMapRead(0, 65536, out _), "headers and metadata are the view's own");
            Assert.IsTrue(vhdx.TryMapRead(layout.PayloadOffset + 4096, 65536, out FileRange range));
            Assert.AreEqual(4096, range.Offset);
            byte[] viewBytes = new byte[65536];
            Assert.AreEqual(VolumeStatus.Success, vhdx.Read(layout.PayloadOffset + 4096, viewBytes, out int read));
            Assert.AreEqual(viewBytes.Length, read);
            CollectionAssert.AreEqual(viewBytes, ReadFile(range));
        }

        using IVolumeHandle vmdk = Open(volume, "/disk.vmdk", VolumeAccess.Read);
        Assert.IsFalse(vmdk.TryMapRead(0, 64, out _), "the descriptor is generated text");
    }

    private static IVolumeHandle Open(IVolume volume, string path, VolumeAccess access)
    {
        Assert.AreEqual(VolumeStatus.Success, volume.Open(path, access, out IVolumeHandle? handle));
        return handle!;
    }

    private static byte[] Read(IDisk disk, long offset, int length)
    {
        byte[] bytes = new byte[length];
        disk.Read(offset, bytes);
        return bytes;
    }

    private static byte[] ReadFile(FileRange range)
    {
        byte[] bytes = new byte[range.Length];
        Assert.AreEqual(range.Length, RandomAccess.Read(range.Handle, bytes, range.Offset));
        return bytes;
    }
}
