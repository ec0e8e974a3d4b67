using AddCowMount.Core.Alignment;
using AddCowMount.Core.Format;
using AddCowMount.Core.Volume;
using AddCowMount.Mount.Windows.Operations;
using AddCowMount.Mount.Windows.Security;
using AddCowMount.Mount.Windows.Status;
using Microsoft.Extensions.Logging.Abstractions;

namespace AddCowMount.Mount.Windows.Tests;

/// <summary>The Windows logic over the real <see cref="VolumeModel"/>: what Explorer and Hyper-V see of NAME.vhdx.</summary>
[TestClass]
public sealed class VolumeModelFileSystemTests
{
    private const string User = "S-1-5-21-1-2-3-1001";
    private const long DiskSize = 9L << 20;

    private sealed class ArrayDisk(long length) : IDisk
    {
        private readonly byte[] _bytes = new byte[length];

        public long Length => _bytes.Length;

        public bool CanWrite => true;

        public void Read(long offset, Span<byte> buffer) => _bytes.AsSpan((int)offset, buffer.Length).CopyTo(buffer);

        public void Write(long offset, ReadOnlySpan<byte> data) => data.CopyTo(_bytes.AsSpan((int)offset));

        public void Flush()
        {
        }

        public void Dispose()
        {
        }
    }

    private static WindowsFileSystem Create(bool readOnly = false)
    {
        var volume = new VolumeModel(new ArrayDisk(DiskSize), new VolumeModelOptions
        {
            BaseName = "disk",
            UniqueId = VhdFooter.StableId("/images/disk.add-cow"),
            ReadOnly = readOnly,
        }, NullLogger<VolumeModel>.Instance);
        return new WindowsFileSystem(volume, User, NullLogger<WindowsFileSystem>.Instance);
    }

    /// <summary>The bug: DeleteFile answered success on every writable mount though the volume refuses every delete, so Explorer reported deletes that never happened.</summary>
    [TestMethod]
    [DataRow("/disk.img")]
    [DataRow("/disk.vhd")]
    [DataRow("/disk.vhdx")]
    [DataRow("/disk.vmdk")]
    public void DeleteFile_OnAWritableMount_IsRefusedAsTheVolumeRefuses(string path)
    {
        var fs = Create();

        Assert.AreEqual(NtStatusCodes.AccessDenied, fs.DeleteFile(path));
        Assert.AreEqual(NtStatusCodes.Success, fs.GetFileInformation(path, out _), "still there");
    }

    [TestMethod]
    public void DeleteFile_OnAReadOnlyMount_IsWriteProtected()
    {
        Assert.AreEqual(NtStatusCodes.MediaWriteProtected, Create(readOnly: true).DeleteFile("/disk.vhdx"));
    }

    [TestMethod]
    public void Vhdx_IsListed_NeverSparseCompressedOrEncrypted()
    {
        var fs = Create();

        Assert.AreEqual(NtStatusCodes.Success, fs.FindFiles("/", out var entries));
        var vhdx = entries.Single(e => e.Name == "disk.vhdx");
        Assert.AreEqual(VhdxLayout.Create(DiskSize, Guid.Empty).FileLength, vhdx.Length);
        Assert.AreEqual(FileAttributes.Normal, vhdx.Attributes);
        Assert.AreEqual((FileAttributes)0, vhdx.Attributes & (FileAttributes.SparseFile | FileAttributes.Compressed | FileAttributes.Encrypted | FileAttributes.ReadOnly));
    }

    [TestMethod]
    public void Vhdx_OpensForWriting_AndKeepsTheAclHyperVAdds()
    {
        var fs = Create();
        Assert.AreEqual(NtStatusCodes.Success, fs.CreateFile("/disk.vhdx", FileAccessRights.GenericRead | FileAccessRights.GenericWrite, FileMode.Open, false, out var context, out _));
        using (context)
        {
            var vm = "S-1-5-83-1-10-20-30-40";
            var dacl = SecurityDescriptor.BuildAcl([(Sid.Parse(User), SecurityDescriptor.FileAllAccess), (Sid.Parse(vm), 0x0012019Fu)], 0);
            var update = new SecurityDescriptor(SecurityDescriptor.DaclPresent, null, null, null, dacl).ToBytes();

            Assert.AreEqual(NtStatusCodes.Success, fs.SetFileSecurity("/disk.vhdx", update, SecurityInformation.Dacl));
            fs.GetFileSecurity("/disk.vhdx", SecurityInformation.All, out var after);
            CollectionAssert.AreEqual(dacl, SecurityDescriptor.Parse(after).Dacl);
        }
    }

    [TestMethod]
    public void Vhdx_SectorAlignedPayloadWrite_LandsOnTheDisk_LayoutChangeIsAnIoError()
    {
        var fs = Create();
        Assert.AreEqual(NtStatusCodes.Success, fs.CreateFile("/disk.vhdx", FileAccessRights.GenericRead | FileAccessRights.GenericWrite, FileMode.Open, false, out var context, out _));
        using (context)
        {
            var layout = VhdxLayout.Create(DiskSize, Guid.Empty);
            var sector = new byte[4096];
            Array.Fill(sector, (byte)0x5A);
            Assert.AreEqual(NtStatusCodes.Success, fs.WriteFile("/disk.vhdx", context, layout.PayloadOffset + 4096, sector, pagingIo: false, writeToEndOfFile: false, out var written));
            Assert.AreEqual(4096, written);
            var img = new byte[4096];
            Assert.AreEqual(NtStatusCodes.Success, fs.ReadFile("/disk.img", null, 4096, img, out _));
            CollectionAssert.AreEqual(sector, img);

            Assert.AreEqual(NtStatusCodes.IoDeviceError, fs.WriteFile("/disk.vhdx", context, VhdxLayout.RegionTable1Offset, sector, pagingIo: false, writeToEndOfFile: false, out _));
        }
    }

    [TestMethod]
    public void CreateFile_ForWriting_OnAReadOnlyMount_AsksTheVolume()
    {
        var fs = Create(readOnly: true);

        Assert.AreEqual(NtStatusCodes.MediaWriteProtected, fs.CreateFile("/disk.vhdx", FileAccessRights.GenericWrite, FileMode.Open, false, out _, out _));
        Assert.AreEqual(NtStatusCodes.Success, fs.CreateFile("/disk.vhdx", FileAccessRights.GenericRead, FileMode.Open, false, out var context, out _));
        context?.Dispose();
    }
}
