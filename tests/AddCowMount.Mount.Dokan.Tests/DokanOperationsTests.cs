using System.Security.AccessControl;
using AddCowMount.Core.Volume;
using AddCowMount.Mount.Windows.Hosting;
using AddCowMount.Mount.Windows.Operations;
using AddCowMount.Mount.Windows.Security;
using AddCowMount.Mount.Windows.Status;
using DokanNet;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using FileAccess = DokanNet.FileAccess;

namespace AddCowMount.Mount.Dokan.Tests;

[TestClass]
public sealed class DokanOperationsTests
{
    private const string User = "S-1-5-21-1-2-3-1001";

    private NativeArgs _args = null!;
    private FileSetVolume _volume = null!;
    private byte[] _disk = null!;
    private DokanOperations _operations = null!;

    [TestInitialize]
    public void Setup()
    {
        _args = new NativeArgs();
        _volume = new FileSetVolume();
        _disk = _volume.AddFile("/disk.vhd", Enumerable.Range(0, 8192 + 512).Select(i => (byte)(i * 13)).ToArray());
        _volume.AddDirectory("/sub");
        _operations = Adapter(_volume);
    }

    [TestCleanup]
    public void Cleanup() => _args.Dispose();

    private static DokanOperations Adapter(IVolume volume)
        => new(new WindowsFileSystem(volume, User, NullLogger<WindowsFileSystem>.Instance), TimeSpan.FromSeconds(30));

    private DokanFileInfo Open(string path, FileAccess access)
    {
        var info = NativeArgs.Info();
        Assert.AreEqual(DokanResult.Success, _operations.CreateFile(_args.Path(path), access, FileShare.ReadWrite, FileMode.Open, FileOptions.None, FileAttributes.Normal, ref info));
        return info;
    }

    [TestMethod]
    public void CreateFile_ExistingFile_StoresContextAndOpensHandle()
    {
        var info = Open("\\disk.vhd", FileAccess.GenericRead | FileAccess.GenericWrite);

        var context = Assert.IsInstanceOfType<DokanFileContext>(info.Context);
        Assert.AreEqual("/disk.vhd", context.Path);
        Assert.AreEqual(1, _volume.OpenHandles);
        Assert.IsFalse(info.IsDirectory);
    }

    [TestMethod]
    public void CreateFile_Missing_IsObjectNameNotFoundWithoutContext()
    {
        var info = NativeArgs.Info();

        Assert.AreEqual(DokanResult.FileNotFound, _operations.CreateFile(_args.Path("\\none.vhd"), FileAccess.ReadData, FileShare.Read, FileMode.Open, FileOptions.None, FileAttributes.Normal, ref info));
        Assert.IsNull(info.Context);
    }

    [TestMethod]
    public void CreateFile_Directory_SetsIsDirectory()
    {
        var info = NativeArgs.Info();

        Assert.AreEqual(DokanResult.Success, _operations.CreateFile(_args.Path("\\sub"), FileAccess.ReadData, FileShare.Read, FileMode.Open, FileOptions.None, FileAttributes.Normal, ref info));
        Assert.IsTrue(info.IsDirectory);
    }

    [TestMethod]
    public void CreateFile_ExistingWithOpenOrCreate_IsAlreadyExists()
    {
        var info = NativeArgs.Info();

        Assert.AreEqual(DokanResult.AlreadyExists, _operations.CreateFile(_args.Path("\\disk.vhd"), FileAccess.GenericRead, FileShare.Read, FileMode.OpenOrCreate, FileOptions.None, FileAttributes.Normal, ref info));
    }

    [TestMethod]
    public void ReadFile_FillsNativeBufferWithVolumeBytes()
    {
        var info = Open("\\disk.vhd", FileAccess.ReadData);
        var bytes = new byte[4096];

        Assert.AreEqual(DokanResult.Success, _operations.ReadFile(_args.Path("\\disk.vhd"), _args.Buffer(bytes), out var read, 1000, ref info));

        Assert.AreEqual(4096, read);
        CollectionAssert.AreEqual(_disk[1000..5096], bytes);
    }

    [TestMethod]
    public void WriteFile_WritesNativeBufferToVolume()
    {
        var info = Open("\\disk.vhd", FileAccess.GenericWrite);
        var data = Enumerable.Repeat((byte)0x5A, 1024).ToArray();

        Assert.AreEqual(DokanResult.Success, _operations.WriteFile(_args.Path("\\disk.vhd"), _args.Buffer(data).AsReadOnly(), out var written, 512, ref info));

        Assert.AreEqual(1024, written);
        CollectionAssert.AreEqual(data, _volume.Content("/disk.vhd")[512..1536]);
    }

    [TestMethod]
    public void WriteFile_PagingIoPastEnd_IsClampedToEndOfFile()
    {
        var info = Open("\\disk.vhd", FileAccess.GenericWrite);
        var paging = NativeArgs.Info(pagingIo: true);
        paging.Context = info.Context;
        var page = Enumerable.Repeat((byte)0xEE, 4096).ToArray();
        var before = (byte[])_disk.Clone();

        Assert.AreEqual(DokanResult.Success, _operations.WriteFile(_args.Path("\\disk.vhd"), _args.Buffer(page).AsReadOnly(), out var written, 8192, ref paging));

        Assert.IsTrue(paging.PagingIo);
        Assert.AreEqual(4096, written);
        var after = _volume.Content("/disk.vhd");
        Assert.AreEqual(before.Length, after.Length);
        CollectionAssert.AreEqual(before[..8192], after[..8192]);
        CollectionAssert.AreEqual(page[..512], after[8192..]);
    }

    [TestMethod]
    public void WriteFile_NonPagingPastEnd_IsDiskFull()
    {
        var info = Open("\\disk.vhd", FileAccess.GenericWrite);

        Assert.AreEqual(DokanResult.DiskFull, _operations.WriteFile(_args.Path("\\disk.vhd"), _args.Buffer(new byte[1024]).AsReadOnly(), out var written, 8192, ref info));
        Assert.AreEqual(0, written);
    }

    [TestMethod]
    public void CloseFile_FreesContextAndHandle_CleanupKeepsThem()
    {
        var info = Open("\\disk.vhd", FileAccess.GenericRead);
        var context = (DokanFileContext)info.Context!;

        _operations.Cleanup(_args.Path("\\disk.vhd"), ref info);
        Assert.AreEqual(1, _volume.OpenHandles);
        Assert.IsNotNull(info.Context);

        _operations.CloseFile(_args.Path("\\disk.vhd"), ref info);
        Assert.AreEqual(0, _volume.OpenHandles);
        Assert.IsNull(info.Context);
        Assert.IsTrue(context.IsDisposed);
    }

    [TestMethod]
    public void GetFileInformation_AndFindFiles_AgreeOnLengthAndAttributes()
    {
        var info = Open("\\disk.vhd", FileAccess.ReadAttributes);

        Assert.AreEqual(DokanResult.Success, _operations.GetFileInformation(_args.Path("\\disk.vhd"), out var byHandle, ref info));
        var root = NativeArgs.Info(isDirectory: true);
        Assert.AreEqual(DokanResult.Success, _operations.FindFiles(_args.Path("\\"), out var files, ref root));

        var listed = files.Single(f => f.FileName.ToString() == "disk.vhd");
        Assert.AreEqual(_disk.Length, byHandle.Length);
        Assert.AreEqual(byHandle.Length, listed.Length);
        Assert.AreEqual(FileAttributes.Normal, byHandle.Attributes);
        Assert.AreEqual(byHandle.Attributes, listed.Attributes);
        Assert.AreEqual(FileAttributes.Directory, files.Single(f => f.FileName.ToString() == "sub").Attributes);
    }

    [TestMethod]
    public void FindFilesWithPattern_IsNotImplementedSoDokanMatches()
    {
        var info = NativeArgs.Info(isDirectory: true);

        Assert.AreEqual(DokanResult.NotImplemented, _operations.FindFilesWithPattern(_args.Path("\\"), _args.Path("*.vhd"), out _, ref info));
    }

    [TestMethod]
    public void SetEndOfFile_OnlyCurrentSize()
    {
        var info = Open("\\disk.vhd", FileAccess.GenericWrite);

        Assert.AreEqual(DokanResult.Success, _operations.SetEndOfFile(_args.Path("\\disk.vhd"), _disk.Length, ref info));
        Assert.AreEqual((NtStatus)(long)NtStatusCodes.NotSupported, _operations.SetEndOfFile(_args.Path("\\disk.vhd"), 4096, ref info));
        Assert.AreEqual((NtStatus)(long)NtStatusCodes.NotSupported, _operations.SetAllocationSize(_args.Path("\\disk.vhd"), _disk.Length + 4096, ref info));
        Assert.AreEqual(_disk.Length, _volume.Content("/disk.vhd").Length);
    }

    [TestMethod]
    public void FlushFileBuffers_FlushesVolume()
    {
        var info = Open("\\disk.vhd", FileAccess.GenericWrite);

        Assert.AreEqual(DokanResult.Success, _operations.FlushFileBuffers(_args.Path("\\disk.vhd"), ref info));
        Assert.AreEqual(1, _volume.FlushCount);
    }

    [TestMethod]
    public void GetVolumeInformation_WritesNtfsAndLabelIntoNativeBuffers()
    {
        var label = _args.Chars(32);
        var name = _args.Chars(32);
        var info = NativeArgs.Info();
        uint serial = 0;

        Assert.AreEqual(DokanResult.Success, _operations.GetVolumeInformation(label, out var features, name, out var maxLength, ref serial, ref info));

        Assert.AreEqual("NTFS", UpToNul(name.Span));
        Assert.AreEqual("ADDCOW", UpToNul(label.Span));
        Assert.AreEqual(FileSystemFeatures.CasePreservedNames | FileSystemFeatures.UnicodeOnDisk | FileSystemFeatures.PersistentAcls, features);
        Assert.AreEqual(255u, maxLength);
        Assert.AreEqual(0x1234ABCDu, serial);
    }

    /// <summary>Dokan reads these buffers as NUL-terminated strings.</summary>
    private static string UpToNul(ReadOnlySpan<char> buffer)
    {
        var end = buffer.IndexOf('\0');
        Assert.IsGreaterThanOrEqualTo(0, end, "not NUL-terminated");
        return buffer[..end].ToString();
    }

    [TestMethod]
    public void GetDiskFreeSpace_ReportsVolumeInfo()
    {
        var info = NativeArgs.Info();

        Assert.AreEqual(DokanResult.Success, _operations.GetDiskFreeSpace(out var free, out var total, out var totalFree, ref info));
        Assert.AreEqual(4L << 20, total);
        Assert.AreEqual(0, free);
        Assert.AreEqual(0, totalFree);
    }

    [TestMethod]
    public void Callback_VolumeThrows_ReturnsMappedStatusInsteadOfThrowing()
    {
        var volume = new Mock<IVolume>(MockBehavior.Strict);
        VolumeNode? node;
        volume.Setup(v => v.GetNode("/disk.vhd", out node)).Throws(new IOException("bitmap unreadable"));
        var operations = Adapter(volume.Object);
        var info = NativeArgs.Info();

        var status = operations.CreateFile(_args.Path("\\disk.vhd"), FileAccess.ReadData, FileShare.Read, FileMode.Open, FileOptions.None, FileAttributes.Normal, ref info);

        Assert.AreEqual((NtStatus)(long)0xC0000185, status);
        volume.Verify(v => v.GetNode("/disk.vhd", out node), Times.Once);
        volume.VerifyNoOtherCalls();
    }

    [TestMethod]
    public void Callback_DisposedContext_IsInvalidHandle()
    {
        var info = Open("\\disk.vhd", FileAccess.ReadAttributes);
        ((DokanFileContext)info.Context!).Dispose();

        Assert.AreEqual(DokanResult.InvalidHandle, _operations.ReadFile(_args.Path("\\disk.vhd"), _args.Buffer(new byte[16]), out var read, 0, ref info));
        Assert.AreEqual(0, read);
    }

    [TestMethod]
    [OSCondition(OperatingSystems.Windows)]
    public void GetFileSecurity_Default_IsUserSystemAdministratorsFullControl()
    {
        var info = NativeArgs.Info();

        Assert.AreEqual(DokanResult.Success, _operations.GetFileSecurity(_args.Path("\\disk.vhd"), out var security, AccessControlSections.All, ref info));

        Assert.AreEqual(SecurityDescriptor.DefaultSddl(User, isDirectory: false), security!.GetSecurityDescriptorSddlForm(AccessControlSections.All));
    }

    [TestMethod]
    [OSCondition(OperatingSystems.Windows)]
    public void SetFileSecurity_HyperVAce_IsKeptForThatFile()
    {
        var info = NativeArgs.Info();
        var update = new FileSecurity();
        var vm = "S-1-5-83-1-10-20-30-40";
        update.SetSecurityDescriptorSddlForm($"D:P(A;;FA;;;{User})(A;;0x12019f;;;{vm})", AccessControlSections.Access);

        Assert.AreEqual(DokanResult.Success, _operations.SetFileSecurity(_args.Path("\\disk.vhd"), update, AccessControlSections.Access, ref info));
        Assert.AreEqual(DokanResult.Success, _operations.GetFileSecurity(_args.Path("\\disk.vhd"), out var after, AccessControlSections.All, ref info));

        var sddl = after!.GetSecurityDescriptorSddlForm(AccessControlSections.All);
        StringAssert.StartsWith(sddl, $"O:{User}G:{User}D:P");
        StringAssert.Contains(sddl, vm);
    }

    [TestMethod]
    [OSCondition(OperatingSystems.Linux | OperatingSystems.OSX)]
    public void GetFileSecurity_WithoutWindowsAcls_ReturnsStatusInsteadOfThrowing()
    {
        // FileSecurity throws PlatformNotSupportedException off Windows: the callback must still return a status.
        var info = NativeArgs.Info();

        Assert.AreEqual((NtStatus)(long)NtStatusCodes.NotSupported,
            _operations.GetFileSecurity(_args.Path("\\disk.vhd"), out var security, AccessControlSections.All, ref info));
        Assert.IsNull(security);
    }

    [TestMethod]
    [DataRow(AccessControlSections.Owner, SecurityInformation.Owner)]
    [DataRow(AccessControlSections.Group, SecurityInformation.Group)]
    [DataRow(AccessControlSections.Access, SecurityInformation.Dacl)]
    [DataRow(AccessControlSections.Audit, SecurityInformation.Sacl)]
    [DataRow(AccessControlSections.All, SecurityInformation.All)]
    [DataRow(AccessControlSections.None, SecurityInformation.None)]
    public void ToSecurityInformation_MapsSections(AccessControlSections sections, SecurityInformation expected)
    {
        Assert.AreEqual(expected, DokanOperations.ToSecurityInformation(sections));
    }

    public static IEnumerable<object[]> SameNumbers =>
    [
        ["FileNotFound", (long)DokanResult.FileNotFound, NtStatusCodes.ObjectNameNotFound],
        ["AlreadyExists", (long)DokanResult.AlreadyExists, NtStatusCodes.ObjectNameCollision],
        ["AccessDenied", (long)DokanResult.AccessDenied, NtStatusCodes.AccessDenied],
        ["DiskFull", (long)DokanResult.DiskFull, NtStatusCodes.DiskFull],
        ["NotImplemented", (long)DokanResult.NotImplemented, NtStatusCodes.NotImplemented],
        ["InvalidHandle", (long)DokanResult.InvalidHandle, NtStatusCodes.InvalidHandle],
        ["InvalidParameter", (long)DokanResult.InvalidParameter, NtStatusCodes.InvalidParameter],
        ["NotADirectory", (long)NtStatus.NotADirectory, NtStatusCodes.NotADirectory],
        ["DirectoryNotEmpty", (long)NtStatus.DirectoryNotEmpty, NtStatusCodes.DirectoryNotEmpty],
        ["MountManager", (long)DokanOptions.MountManager, DokanMountSettings.OptionMountManager],
        ["WriteProtection", (long)DokanOptions.WriteProtection, DokanMountSettings.OptionWriteProtection],
        ["CurrentSession", (long)DokanOptions.CurrentSession, DokanMountSettings.OptionCurrentSession],
        ["NetworkDrive", (long)DokanOptions.NetworkDrive, DokanMountSettings.OptionNetworkDrive],
        ["RemovableDrive", (long)DokanOptions.RemovableDrive, DokanMountSettings.OptionRemovableDrive],
        ["FixedDrive", (long)DokanOptions.FixedDrive, DokanMountSettings.OptionFixedDrive],
        ["WriteData", (long)FileAccess.WriteData, FileAccessRights.WriteData],
        ["AppendData", (long)FileAccess.AppendData, FileAccessRights.AppendData],
        ["GenericWrite", (long)FileAccess.GenericWrite, FileAccessRights.GenericWrite],
        ["GenericRead", (long)FileAccess.GenericRead, FileAccessRights.GenericRead],
        ["GenericAll", (long)FileAccess.GenericAll, FileAccessRights.GenericAll],
        ["ReadOnlyVolume", (long)FileSystemFeatures.ReadOnlyVolume, WindowsFileSystem.ReadOnlyVolumeFeature],
    ];

    /// <summary>The neutral project's numbers are cast to DokanNet's enums; they must be the same numbers.</summary>
    [TestMethod]
    [DynamicData(nameof(SameNumbers))]
    public void NeutralConstant_MatchesDokanNetNumber(string name, long dokanNet, uint neutral)
    {
        Assert.AreEqual(dokanNet, (long)neutral, name);
    }
}
