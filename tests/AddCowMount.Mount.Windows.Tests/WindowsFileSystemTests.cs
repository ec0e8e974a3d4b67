using AddCowMount.Core.Volume;
using AddCowMount.Mount.Windows.Operations;
using AddCowMount.Mount.Windows.Security;
using AddCowMount.Mount.Windows.Status;
using Microsoft.Extensions.Logging.Abstractions;

namespace AddCowMount.Mount.Windows.Tests;

[TestClass]
public sealed class WindowsFileSystemTests
{
    private const string User = "S-1-5-21-1-2-3-1001";
    private const uint ReadData = FileAccessRights.ReadData;
    private const uint ReadWrite = FileAccessRights.GenericRead | FileAccessRights.GenericWrite;
    private const uint ReadAttributes = 0x80;

    private static (WindowsFileSystem Fs, FileSetVolume Volume, byte[] Disk) Create(bool readOnly = false, int length = 8192)
    {
        var volume = new FileSetVolume(readOnly);
        var disk = volume.AddFile("/disk.vhd", Enumerable.Range(0, length).Select(i => (byte)(i * 7)).ToArray());
        volume.AddDirectory("/sub");
        volume.AddFile("/sub/inner.img", new byte[1536]);
        return (new WindowsFileSystem(volume, User, NullLogger<WindowsFileSystem>.Instance), volume, disk);
    }

    private static DokanFileContext Open(WindowsFileSystem fs, string path, uint access)
    {
        Assert.AreEqual(NtStatusCodes.Success, fs.CreateFile(path, access, FileMode.Open, false, out var context, out _));
        return context!;
    }

    [TestMethod]
    public void Constructor_OwnerNotASid_Throws()
    {
        Assert.ThrowsExactly<FormatException>(() => new WindowsFileSystem(new FileSetVolume(), "user", NullLogger<WindowsFileSystem>.Instance));
    }

    [TestMethod]
    [DataRow(FileMode.Open)]
    [DataRow(FileMode.Truncate)]
    public void CreateFile_MissingFileWithOpen_IsObjectNameNotFound(FileMode mode)
    {
        var (fs, _, _) = Create();

        Assert.AreEqual(0xC0000034u, fs.CreateFile("/nope.vhd", ReadData, mode, false, out var context, out _));
        Assert.IsNull(context);
    }

    [TestMethod]
    public void CreateFile_NewFile_GivesVolumesRefusal()
    {
        var (fs, _, _) = Create();

        Assert.AreEqual(NtStatusCodes.NotSupported, fs.CreateFile("/new.vhd", ReadWrite, FileMode.CreateNew, false, out _, out _));
    }

    [TestMethod]
    public void CreateFile_NewFileOnReadOnlyMount_IsWriteProtected()
    {
        var (fs, _, _) = Create(readOnly: true);

        Assert.AreEqual(NtStatusCodes.MediaWriteProtected, fs.CreateFile("/new.vhd", ReadWrite, FileMode.OpenOrCreate, false, out _, out _));
    }

    [TestMethod]
    public void CreateFile_ExistingWithCreateNew_IsCollision()
    {
        var (fs, _, _) = Create();

        Assert.AreEqual(NtStatusCodes.ObjectNameCollision, fs.CreateFile("/disk.vhd", ReadWrite, FileMode.CreateNew, false, out var context, out _));
        Assert.IsNull(context);
    }

    [TestMethod]
    public void CreateFile_ExistingWithOpenOrCreate_OpensAndReportsAlreadyExists()
    {
        var (fs, volume, _) = Create();

        Assert.AreEqual(NtStatusCodes.ObjectNameCollision, fs.CreateFile("/disk.vhd", ReadWrite, FileMode.OpenOrCreate, false, out var context, out _));
        Assert.IsNotNull(context);
        Assert.AreEqual(1, volume.OpenHandles);
    }

    [TestMethod]
    [DataRow(FileMode.Create)]
    [DataRow(FileMode.Truncate)]
    public void CreateFile_OverwriteOrTruncateExisting_IsRefusedAndKeepsBytes(FileMode mode)
    {
        var (fs, volume, disk) = Create();
        var before = (byte[])disk.Clone();

        Assert.AreEqual(NtStatusCodes.AccessDenied, fs.CreateFile("/disk.vhd", ReadWrite, mode, false, out _, out _));
        CollectionAssert.AreEqual(before, volume.Content("/disk.vhd"));
    }

    [TestMethod]
    public void CreateFile_MetadataOnlyOpen_OpensNoVolumeHandle()
    {
        var (fs, volume, _) = Create();

        var context = Open(fs, "/disk.vhd", ReadAttributes);

        Assert.IsNull(context.Handle);
        Assert.AreEqual(0, volume.HandlesOpened);
    }

    [TestMethod]
    public void CreateFile_Directory_SetsIsDirectory()
    {
        var (fs, _, _) = Create();

        Assert.AreEqual(NtStatusCodes.Success, fs.CreateFile("/sub", ReadData, FileMode.Open, false, out var context, out var isDirectory));
        Assert.IsTrue(isDirectory);
        Assert.IsTrue(context!.IsDirectory);
    }

    [TestMethod]
    public void CreateFile_DirectoryRequestedOnFile_IsNotADirectory()
    {
        var (fs, _, _) = Create();

        Assert.AreEqual(NtStatusCodes.NotADirectory, fs.CreateFile("/disk.vhd", ReadData, FileMode.Open, true, out _, out _));
    }

    [TestMethod]
    public void CreateFile_WriteOnReadOnlyMount_IsWriteProtected()
    {
        var (fs, volume, _) = Create(readOnly: true);

        Assert.AreEqual(NtStatusCodes.MediaWriteProtected, fs.CreateFile("/disk.vhd", ReadWrite, FileMode.Open, false, out _, out _));
        Assert.AreEqual(0, volume.HandlesOpened);
    }

    [TestMethod]
    public void ReadFile_ReturnsTheVolumesBytes()
    {
        var (fs, _, disk) = Create();
        var context = Open(fs, "/disk.vhd", ReadData);
        var buffer = new byte[1000];

        Assert.AreEqual(NtStatusCodes.Success, fs.ReadFile("/disk.vhd", context, 4097, buffer, out var read));

        Assert.AreEqual(1000, read);
        CollectionAssert.AreEqual(disk.AsSpan(4097, 1000).ToArray(), buffer);
    }

    [TestMethod]
    public void ReadFile_AcrossEnd_ReturnsOnlyWhatExists()
    {
        var (fs, _, disk) = Create();
        var buffer = new byte[4096];

        Assert.AreEqual(NtStatusCodes.Success, fs.ReadFile("/disk.vhd", Open(fs, "/disk.vhd", ReadData), disk.Length - 100, buffer, out var read));

        Assert.AreEqual(100, read);
        CollectionAssert.AreEqual(disk[^100..], buffer[..100]);
    }

    [TestMethod]
    public void ReadFile_WithoutContext_OpensAndClosesTransientHandle()
    {
        var (fs, volume, disk) = Create();
        var buffer = new byte[512];

        Assert.AreEqual(NtStatusCodes.Success, fs.ReadFile("/disk.vhd", null, 512, buffer, out var read));

        Assert.AreEqual(512, read);
        CollectionAssert.AreEqual(disk[512..1024], buffer);
        Assert.AreEqual(0, volume.OpenHandles);
    }

    [TestMethod]
    public void ReadFile_OnMetadataOnlyHandle_OpensForReadOnFirstUse()
    {
        var (fs, volume, disk) = Create();
        var context = Open(fs, "/disk.vhd", ReadAttributes);
        var buffer = new byte[16];

        Assert.AreEqual(NtStatusCodes.Success, fs.ReadFile("/disk.vhd", context, 0, buffer, out _));

        CollectionAssert.AreEqual(disk[..16], buffer);
        Assert.AreEqual(VolumeAccess.Read, context.Handle!.Access);
        Assert.AreEqual(1, volume.OpenHandles);
    }

    [TestMethod]
    public void ReadFile_Directory_IsInvalidDeviceRequest()
    {
        var (fs, _, _) = Create();
        fs.CreateFile("/sub", ReadData, FileMode.Open, true, out var context, out _);

        Assert.AreEqual(NtStatusCodes.InvalidDeviceRequest, fs.ReadFile("/sub", context, 0, new byte[8], out var read));
        Assert.AreEqual(0, read);
    }

    [TestMethod]
    public void WriteFile_InsideFile_WritesBytes()
    {
        var (fs, volume, _) = Create();
        var context = Open(fs, "/disk.vhd", ReadWrite);
        var data = Enumerable.Repeat((byte)0xAB, 700).ToArray();

        Assert.AreEqual(NtStatusCodes.Success, fs.WriteFile("/disk.vhd", context, 100, data, pagingIo: false, writeToEndOfFile: false, out var written));

        Assert.AreEqual(700, written);
        CollectionAssert.AreEqual(data, volume.Content("/disk.vhd")[100..800]);
    }

    [TestMethod]
    public void WriteFile_PagingIoPastEnd_IsClampedToEndOfFile()
    {
        var (fs, volume, disk) = Create(length: 8192 + 512);
        var context = Open(fs, "/disk.vhd", ReadWrite);
        var page = Enumerable.Repeat((byte)0xCD, 4096).ToArray();
        var before = (byte[])disk.Clone();

        Assert.AreEqual(NtStatusCodes.Success, fs.WriteFile("/disk.vhd", context, 8192, page, pagingIo: true, writeToEndOfFile: false, out var written));

        Assert.AreEqual(4096, written, "the whole page is acknowledged");
        var after = volume.Content("/disk.vhd");
        Assert.AreEqual(8192 + 512, after.Length);
        CollectionAssert.AreEqual(before[..8192], after[..8192]);
        CollectionAssert.AreEqual(page[..512], after[8192..]);
    }

    [TestMethod]
    public void WriteFile_PagingIoBeyondEnd_WritesNothing()
    {
        var (fs, volume, disk) = Create();
        var before = (byte[])disk.Clone();

        Assert.AreEqual(NtStatusCodes.Success, fs.WriteFile("/disk.vhd", Open(fs, "/disk.vhd", ReadWrite), 8192, new byte[4096], pagingIo: true, writeToEndOfFile: false, out _));

        CollectionAssert.AreEqual(before, volume.Content("/disk.vhd"));
    }

    [TestMethod]
    public void WriteFile_NonPagingPastEnd_IsDiskFullAndWritesNothing()
    {
        var (fs, volume, disk) = Create();
        var before = (byte[])disk.Clone();

        Assert.AreEqual(NtStatusCodes.DiskFull, fs.WriteFile("/disk.vhd", Open(fs, "/disk.vhd", ReadWrite), 8000, new byte[512], pagingIo: false, writeToEndOfFile: false, out var written));

        Assert.AreEqual(0, written);
        CollectionAssert.AreEqual(before, volume.Content("/disk.vhd"));
    }

    [TestMethod]
    public void WriteFile_Append_IsDiskFull()
    {
        var (fs, _, _) = Create();

        Assert.AreEqual(NtStatusCodes.DiskFull, fs.WriteFile("/disk.vhd", Open(fs, "/disk.vhd", ReadWrite), 0, new byte[1], pagingIo: false, writeToEndOfFile: true, out _));
    }

    [TestMethod]
    public void WriteFile_ReadOnlyMount_IsWriteProtected()
    {
        var (fs, _, _) = Create(readOnly: true);

        Assert.AreEqual(NtStatusCodes.MediaWriteProtected, fs.WriteFile("/disk.vhd", Open(fs, "/disk.vhd", ReadData), 0, new byte[1], pagingIo: true, writeToEndOfFile: false, out _));
    }

    [TestMethod]
    public void WriteFile_ThroughReadHandle_ReopensReadWrite()
    {
        // The cache manager may write back through the file object a reader opened first.
        var (fs, volume, _) = Create();
        var context = Open(fs, "/disk.vhd", ReadData);

        Assert.AreEqual(NtStatusCodes.Success, fs.WriteFile("/disk.vhd", context, 0, new byte[] { 9, 8, 7 }, pagingIo: true, writeToEndOfFile: false, out _));

        CollectionAssert.AreEqual(new byte[] { 9, 8, 7 }, volume.Content("/disk.vhd")[..3]);
        Assert.AreEqual(VolumeAccess.ReadWrite, context.Handle!.Access);
        Assert.AreEqual(1, volume.OpenHandles, "the read-only handle was replaced, not leaked");
    }

    [TestMethod]
    public void CloseFile_DisposesHandle_CleanupDoesNot()
    {
        var (fs, volume, _) = Create();
        var context = Open(fs, "/disk.vhd", ReadWrite);

        fs.Cleanup("/disk.vhd", context, deletePending: false);
        Assert.AreEqual(1, volume.OpenHandles, "paging I/O may still arrive after Cleanup");

        WindowsFileSystem.CloseFile(context);
        Assert.AreEqual(0, volume.OpenHandles);
        Assert.IsTrue(context.IsDisposed);
    }

    [TestMethod]
    public void Cleanup_DeletePending_DeletesThroughVolume()
    {
        var (fs, volume, _) = Create();
        volume.AllowDelete = true;
        var context = Open(fs, "/disk.vhd", ReadAttributes | 0x10000);
        Assert.AreEqual(NtStatusCodes.Success, fs.DeleteFile("/disk.vhd"));

        fs.Cleanup("/disk.vhd", context, deletePending: true);

        Assert.AreEqual(NtStatusCodes.ObjectNameNotFound, fs.GetFileInformation("/disk.vhd", out _));
    }

    [TestMethod]
    public void DeleteDirectory_NotEmpty_IsRefused()
    {
        var (fs, _, _) = Create();

        Assert.AreEqual(NtStatusCodes.DirectoryNotEmpty, fs.DeleteDirectory("/sub"));
        Assert.AreEqual(NtStatusCodes.AccessDenied, fs.DeleteDirectory("/"));
        Assert.AreEqual(NtStatusCodes.FileIsADirectory, fs.DeleteFile("/sub"));
    }

    [TestMethod]
    public void FlushFileBuffers_FlushesThroughTheHandle()
    {
        var (fs, volume, _) = Create();
        var context = Open(fs, "/disk.vhd", ReadWrite);

        Assert.AreEqual(NtStatusCodes.Success, fs.FlushFileBuffers(context, () => true, TimeSpan.FromSeconds(5)));
        Assert.AreEqual(1, volume.FlushCount);
    }

    [TestMethod]
    public void FlushFileBuffers_Failure_IsMapped()
    {
        var (fs, volume, _) = Create();
        volume.FlushBehaviour = () => VolumeStatus.IoError;

        Assert.AreEqual(NtStatusCodes.IoDeviceError, fs.FlushFileBuffers(null, () => true, TimeSpan.FromSeconds(5)));
    }

    [TestMethod]
    public void GetFileInformation_AndFindFiles_ReportTheSameLengthAndAttributes()
    {
        var (fs, _, disk) = Create();

        Assert.AreEqual(NtStatusCodes.Success, fs.GetFileInformation("/disk.vhd", out var info));
        Assert.AreEqual(NtStatusCodes.Success, fs.FindFiles("/", out var entries));

        var listed = entries.Single(e => e.Name == "disk.vhd");
        Assert.AreEqual(disk.Length, info.Length);
        Assert.AreEqual(info, listed);
        Assert.AreEqual(FileAttributes.Normal, info.Attributes);
        Assert.AreEqual(FileAttributes.Directory, entries.Single(e => e.Name == "sub").Attributes);
    }

    [TestMethod]
    public void GetFileInformation_NeverSparseOrCompressed_ReadOnlyOnlyOnReadOnlyMount()
    {
        var (writable, _, _) = Create();
        var (readOnly, _, _) = Create(readOnly: true);

        writable.GetFileInformation("/disk.vhd", out var w);
        readOnly.GetFileInformation("/disk.vhd", out var r);

        Assert.AreEqual(FileAttributes.Normal, w.Attributes);
        Assert.AreEqual(FileAttributes.ReadOnly, r.Attributes);
        Assert.AreEqual((FileAttributes)0, (w.Attributes | r.Attributes) & (FileAttributes.SparseFile | FileAttributes.Compressed));
    }

    [TestMethod]
    public void FindFiles_OnFile_IsNotADirectory()
    {
        var (fs, _, _) = Create();

        Assert.AreEqual(NtStatusCodes.NotADirectory, fs.FindFiles("/disk.vhd", out _));
    }

    [TestMethod]
    public void SetEndOfFile_CurrentSize_Succeeds()
    {
        var (fs, _, disk) = Create();

        Assert.AreEqual(NtStatusCodes.Success, fs.SetEndOfFile("/disk.vhd", disk.Length));
        Assert.AreEqual(NtStatusCodes.Success, fs.SetAllocationSize("/disk.vhd", disk.Length));
    }

    [TestMethod]
    [DataRow(0L)]
    [DataRow(4096L)]
    [DataRow(8193L)]
    [DataRow(1L << 40)]
    public void SetEndOfFile_OtherSize_IsRefusedAndSizeKept(long length)
    {
        var (fs, volume, disk) = Create();

        Assert.AreNotEqual(NtStatusCodes.Success, fs.SetEndOfFile("/disk.vhd", length));
        Assert.AreNotEqual(NtStatusCodes.Success, fs.SetAllocationSize("/disk.vhd", length));
        Assert.AreEqual(disk.Length, volume.Content("/disk.vhd").Length);
    }

    [TestMethod]
    public void SetEndOfFile_VolumeClaimsSuccessButSizeUnchanged_IsNotSupported()
    {
        var volume = new Moq.Mock<IVolume>(Moq.MockBehavior.Strict);
        var node = new VolumeNode("d", false, 100, false, default, default, default);
        volume.Setup(v => v.GetNode("/d", out node)).Returns(VolumeStatus.Success);
        volume.SetupGet(v => v.IsReadOnly).Returns(false);
        volume.Setup(v => v.SetLength("/d", 200)).Returns(VolumeStatus.Success);
        var fs = new WindowsFileSystem(volume.Object, User, NullLogger<WindowsFileSystem>.Instance);

        Assert.AreEqual(NtStatusCodes.NotSupported, fs.SetEndOfFile("/d", 200));
    }

    [TestMethod]
    public void GetVolumeInformation_IsNtfsWithAclsAndUnicodeNames()
    {
        var (fs, volume, _) = Create();

        var description = fs.GetVolumeInformation();

        Assert.AreEqual("NTFS", description.FileSystemName);
        Assert.AreEqual(volume.Info.Label, description.Label);
        Assert.AreEqual(0x2u | 0x4u | 0x8u, description.Features, "case-preserved, Unicode, persistent ACLs; not case-sensitive");
        Assert.AreEqual(255u, description.MaximumComponentLength);
        Assert.AreEqual(0x1234ABCDu, description.SerialNumber);
    }

    [TestMethod]
    public void GetVolumeInformation_ReadOnlyMount_SaysReadOnlyVolume()
    {
        var (fs, _, _) = Create(readOnly: true);

        Assert.AreEqual(0x0008_0000u, fs.GetVolumeInformation().Features & 0x0008_0000u);
    }

    [TestMethod]
    public void GetDiskFreeSpace_ReportsVolumeInfo()
    {
        var (fs, volume, _) = Create();

        fs.GetDiskFreeSpace(out var free, out var total, out var totalFree);

        Assert.AreEqual(volume.Info.TotalBytes, total);
        Assert.AreEqual(volume.Info.FreeBytes, free);
        Assert.AreEqual(volume.Info.FreeBytes, totalFree);
    }

    [TestMethod]
    public void GetFileSecurity_Unset_IsDefaultForUserSystemAdministrators()
    {
        var (fs, _, _) = Create();

        Assert.AreEqual(NtStatusCodes.Success, fs.GetFileSecurity("/disk.vhd", SecurityInformation.All, out var bytes));

        CollectionAssert.AreEqual(SecurityDescriptor.CreateDefault(User, isDirectory: false).ToBytes(), bytes);
    }

    [TestMethod]
    public void SetFileSecurity_DaclFromHyperV_IsKeptPerFileWithOwner()
    {
        var (fs, volume, _) = Create();
        var vm = "S-1-5-83-1-10-20-30-40";
        var dacl = SecurityDescriptor.BuildAcl([(Sid.Parse(User), SecurityDescriptor.FileAllAccess), (Sid.Parse(vm), 0x0012019Fu)], 0);
        var update = new SecurityDescriptor(SecurityDescriptor.DaclPresent, null, null, null, dacl).ToBytes();

        Assert.AreEqual(NtStatusCodes.Success, fs.SetFileSecurity("/disk.vhd", update, SecurityInformation.Dacl));

        fs.GetFileSecurity("/disk.vhd", SecurityInformation.All, out var after);
        var parsed = SecurityDescriptor.Parse(after);
        Assert.AreEqual(User, Sid.ToString(parsed.Owner));
        CollectionAssert.AreEqual(dacl, parsed.Dacl);
        fs.GetFileSecurity("/sub/inner.img", SecurityInformation.All, out var other);
        CollectionAssert.AreEqual(SecurityDescriptor.CreateDefault(User, false).ToBytes(), other, "other files keep their own descriptor");
        volume.GetSecurity("/disk.vhd", out var stored);
        CollectionAssert.AreEqual(after, stored);
    }

    [TestMethod]
    public void SetFileSecurity_Garbage_ThrowsForTheCallbackCatch()
    {
        var (fs, _, _) = Create();

        var exception = Assert.ThrowsExactly<ArgumentException>(() => fs.SetFileSecurity("/disk.vhd", new byte[] { 1, 2, 3 }, SecurityInformation.Dacl));
        Assert.AreEqual(NtStatusCodes.InvalidParameter, fs.HandleException("SetFileSecurity", "/disk.vhd", exception));
    }

    [TestMethod]
    public void GetFileSecurity_Missing_IsNotFound()
    {
        var (fs, _, _) = Create();

        Assert.AreEqual(NtStatusCodes.ObjectNameNotFound, fs.GetFileSecurity("/x", SecurityInformation.All, out var bytes));
        Assert.IsNull(bytes);
    }

    [TestMethod]
    public void HandleException_LogsOperationPathAndStatus()
    {
        var logger = new CapturingLogger<WindowsFileSystem>();
        var fs = new WindowsFileSystem(new FileSetVolume(), User, logger);

        var status = fs.HandleException("ReadFile", "/disk.vhd", new IOException("bitmap unreadable"));

        Assert.AreEqual(NtStatusCodes.IoDeviceError, status);
        var entry = logger.Entries.Single();
        StringAssert.Contains(entry.Message, "ReadFile");
        StringAssert.Contains(entry.Message, "/disk.vhd");
        StringAssert.Contains(entry.Message, "C0000185");
        Assert.IsInstanceOfType<IOException>(entry.Exception);
    }

    [TestMethod]
    public void VolumeSecurityDescriptor_IsInheritableDefault()
    {
        var (fs, _, _) = Create();

        CollectionAssert.AreEqual(SecurityDescriptor.CreateDefault(User, isDirectory: true).ToBytes(), fs.VolumeSecurityDescriptor());
    }
}
