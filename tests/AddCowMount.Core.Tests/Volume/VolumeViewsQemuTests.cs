using AddCowMount.Core.Format;
using AddCowMount.Core.Volume;

namespace AddCowMount.Core.Tests.Volume;

/// <summary>The views' bytes as real clients see them: qemu-img reads the .vhd and the .vmdk as the .img's disk.</summary>
[TestClass]
[TestCategory("Integration")]
public sealed class VolumeViewsQemuTests
{
    /// <summary>Copies every view of the volume into <paramref name="folder"/> (same names), as a user's copy would.</summary>
    private static void CopyViews(IVolume volume, string folder)
    {
        Assert.AreEqual(VolumeStatus.Success, volume.List("/", out var entries));
        foreach (var entry in entries)
        {
            Assert.AreEqual(VolumeStatus.Success, volume.Open("/" + entry.Name, VolumeAccess.Read, out var handle));
            using (handle)
            using (var file = File.Create(Path.Combine(folder, entry.Name)))
            {
                var buffer = new byte[256 * 1024];
                long offset = 0;
                while (true)
                {
                    Assert.AreEqual(VolumeStatus.Success, handle!.Read(offset, buffer, out var read));
                    if (read == 0)
                    {
                        break;
                    }

                    file.Write(buffer, 0, read);
                    offset += read;
                }

                Assert.AreEqual(entry.Length, offset);
            }
        }
    }

    // Sizes whose CHS geometry covers fewer sectors than the disk: a creator other than "win " would make qemu report less.
    [TestMethod]
    [DataRow(1024L * 1024)]
    [DataRow(1024L * 1024 + 1536)]
    [DataRow(5L * 1024 * 1024 + 3 * 512)]
    [DataRow(33L * 1024 * 1024 + 512)]
    public void QemuImg_ReadsVhdAndVmdkAsTheDisk(long size)
    {
        using var temp = new TempDirectory();
        var disk = MemoryDisk.WithPattern(size, seed: (int)(size % 1000));
        using var volume = VolumeModelTests.CreateModel(disk);
        CopyViews(volume, temp.Path);
        var img = temp.Combine("disk.img");
        var vhd = temp.Combine("disk.vhd");
        var vmdk = temp.Combine("disk.vmdk");

        Assert.AreEqual(("vpc", size), QemuImg.Info("vpc", vhd));
        Assert.AreEqual(("vmdk", size), QemuImg.Info("vmdk", vmdk));
        StringAssert.Contains(QemuImg.RunChecked("compare", "-f", "vpc", "-F", "raw", vhd, img).Output, "identical");
        StringAssert.Contains(QemuImg.RunChecked("compare", "-f", "vmdk", "-F", "raw", vmdk, img).Output, "identical");
    }

    [TestMethod]
    public void QemuImg_CompareNoticesADifference()
    {
        // Guards the compare-based test above: a changed byte must make qemu-img compare fail.
        using var temp = new TempDirectory();
        using var volume = VolumeModelTests.CreateModel(MemoryDisk.WithPattern(1024 * 1024));
        CopyViews(volume, temp.Path);
        using (var file = File.OpenWrite(temp.Combine("disk.img")))
        {
            file.Position = 4096;
            file.WriteByte(0x5A);
        }

        var result = QemuImg.Run("compare", "-f", "vpc", "-F", "raw", temp.Combine("disk.vhd"), temp.Combine("disk.img"));

        Assert.AreEqual(1, result.ExitCode, result.Output + result.Error);
    }

    /// <summary>
    /// qemu skips every extent that is not "RW" (block/vmdk.c), so the read-only mount's descriptor keeps an RW extent
    /// (the read-only file system refuses writes instead): qemu must read it as the disk.
    /// </summary>
    [TestMethod]
    public void ReadOnlyVmdk_ReadsAsTheDiskInQemu()
    {
        using var temp = new TempDirectory();
        using var volume = VolumeModelTests.CreateModel(MemoryDisk.WithPattern(2L * 1024 * 1024), readOnly: true);
        CopyViews(volume, temp.Path);
        Assert.AreEqual(("vmdk", 2L * 1024 * 1024), QemuImg.Info("vmdk", temp.Combine("disk.vmdk")));
        StringAssert.Contains(
            QemuImg.RunChecked("compare", "-f", "vmdk", "-F", "raw", temp.Combine("disk.vmdk"), temp.Combine("disk.img")).Output,
            "identical");
    }

    [TestMethod]
    public void QemuImg_VhdWrittenThroughTheVolume_StaysValid()
    {
        using var temp = new TempDirectory();
        var disk = MemoryDisk.WithPattern(1024 * 1024);
        using var volume = VolumeModelTests.CreateModel(disk);
        Assert.AreEqual(VolumeStatus.Success, volume.Open("/disk.vhd", VolumeAccess.ReadWrite, out var handle));
        using (handle)
        {
            var tail = new byte[1024];
            handle!.Read(1024 * 1024 - 512, tail, out _);
            Array.Fill(tail, (byte)0xEE, 0, 512);
            Assert.AreEqual(VolumeStatus.Success, handle.Write(1024 * 1024 - 512, tail, out _));
        }

        CopyViews(volume, temp.Path);

        Assert.AreEqual(("vpc", 1024L * 1024), QemuImg.Info("vpc", temp.Combine("disk.vhd")));
        StringAssert.Contains(QemuImg.RunChecked("compare", "-f", "vpc", "-F", "raw", temp.Combine("disk.vhd"), temp.Combine("disk.img")).Output, "identical");
        Assert.IsTrue(disk.ReadAll()[^512..].All(b => b == 0xEE));
    }

    [TestMethod]
    [DataRow(5L * 1024 * 1024 + 3 * 512)]
    [DataRow(33L * 1024 * 1024 + 512)]
    public void ChosenSizes_AreOnesWhereChsFallsShort(long size)
    {
        // Makes the qemu test above meaningful: with CHS-derived sizes these disks would look shorter.
        Assert.IsLessThan(size / 512, VhdFooter.ComputeGeometry(size / 512).TotalSectors);
    }
}
