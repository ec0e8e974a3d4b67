using AddCowMount.Core.Volume;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;

namespace AddCowMount.Mount.Fuse.Tests;

[TestClass]
public sealed class FuseVolumeAdapterTests
{
    private const int O_RDONLY = 0;
    private const int O_WRONLY = 1;
    private const int O_RDWR = 2;

    private static FuseVolumeAdapter Create(InMemoryVolume volume, bool readOnly = false) =>
        new(volume, new FuseMountOptions { ReadOnly = readOnly }, 1000, 100, NullLogger.Instance);

    [TestMethod]
    public void GetAttr_File_ReportsSizeModeOwner()
    {
        var volume = new InMemoryVolume(diskSize: 10_000);
        using FuseVolumeAdapter adapter = Create(volume);

        Assert.AreEqual(0, adapter.GetAttr("/DISK.IMG", out FuseAttributes attributes));
        Assert.AreEqual(10_000L, attributes.Size);
        Assert.AreEqual(0x81A4u, attributes.Mode);
        Assert.AreEqual(1000u, attributes.Uid);
        Assert.AreEqual(-FuseErrno.ENOENT, adapter.GetAttr("/missing", out _));
    }

    [TestMethod]
    public void ReadDirectory_ListsChildrenOnly()
    {
        using FuseVolumeAdapter adapter = Create(new InMemoryVolume());

        Assert.AreEqual(0, adapter.ReadDirectory("/", out IReadOnlyList<(string Name, FuseAttributes Attributes)> entries));
        CollectionAssert.AreEquivalent(new[] { "disk.img", "notes.txt", "views" }, entries.Select(e => e.Name).ToArray());
        Assert.AreEqual(-FuseErrno.ENOTDIR, adapter.ReadDirectory("/disk.img", out _));
    }

    [TestMethod]
    public void ReadWrite_ThroughHandle_HitsVolumeBytes()
    {
        var volume = new InMemoryVolume(diskSize: 4096);
        using FuseVolumeAdapter adapter = Create(volume);
        Assert.AreEqual(0, adapter.Open(InMemoryVolume.DiskPath, O_RDWR, out ulong handle));

        byte[] data = [1, 2, 3, 4, 5];
        Assert.AreEqual(5, adapter.Write(handle, 4091, data));
        CollectionAssert.AreEqual(data, volume.Disk[4091..]);

        byte[] buffer = new byte[100];
        Assert.AreEqual(5, adapter.Read(handle, 4091, buffer), "a read crossing the end is short");
        Assert.AreEqual(0, adapter.Read(handle, 4096, buffer));
        Assert.AreEqual(-FuseErrno.ENOSPC, adapter.Write(handle, 4095, data), "writes past the end are refused");
        Assert.AreEqual(0, adapter.Release(handle));
        Assert.AreEqual(0, volume.OpenHandles);
        Assert.AreEqual(-FuseErrno.EBADF, adapter.Read(handle, 0, buffer));
    }

    [TestMethod]
    public void Open_ForWriteOnReadOnlyMount_IsErofsAndOpensNothing()
    {
        var volume = new InMemoryVolume();
        using FuseVolumeAdapter adapter = Create(volume, readOnly: true);

        Assert.AreEqual(-FuseErrno.EROFS, adapter.Open(InMemoryVolume.DiskPath, O_WRONLY, out _));
        Assert.AreEqual(0, volume.OpenHandles);
        Assert.AreEqual(0, adapter.Open(InMemoryVolume.DiskPath, O_RDONLY, out ulong handle));
        Assert.AreEqual(-FuseErrno.EROFS, adapter.Write(handle, 0, [1]));
        Assert.AreEqual(-FuseErrno.EROFS, adapter.Truncate(InMemoryVolume.DiskPath, 0));
    }

    [TestMethod]
    public void RefusedChanges_MapThroughTheTable()
    {
        using FuseVolumeAdapter adapter = Create(new InMemoryVolume());

        Assert.AreEqual(-FuseErrno.EACCES, adapter.Unlink(InMemoryVolume.DiskPath));
        Assert.AreEqual(-FuseErrno.EACCES, adapter.Rename(InMemoryVolume.DiskPath, "/other", 0));
        Assert.AreEqual(-FuseErrno.EACCES, adapter.Create("/new", O_WRONLY, out _));
        Assert.AreEqual(-FuseErrno.EEXIST, adapter.MakeDirectory(InMemoryVolume.ViewsPath));
        Assert.AreEqual(-FuseErrno.EINVAL, adapter.Truncate(InMemoryVolume.DiskPath, 0));
        Assert.AreEqual(0, adapter.Truncate(InMemoryVolume.DiskPath, 8 * 1024 * 1024), "truncating to the current size is a no-op");
        Assert.AreEqual(-FuseErrno.EACCES, adapter.Open(InMemoryVolume.NotesPath, O_WRONLY, out _), "read-only node");
    }

    [TestMethod]
    public void ChmodChown_OnlyNoOpsSucceed()
    {
        using FuseVolumeAdapter adapter = Create(new InMemoryVolume());

        Assert.AreEqual(0, adapter.ChangeMode(InMemoryVolume.DiskPath, 0x81A4));
        Assert.AreEqual(-FuseErrno.EPERM, adapter.ChangeMode(InMemoryVolume.DiskPath, 0x81FF));
        Assert.AreEqual(0, adapter.ChangeOwner(InMemoryVolume.DiskPath, 1000, uint.MaxValue));
        Assert.AreEqual(-FuseErrno.EPERM, adapter.ChangeOwner(InMemoryVolume.DiskPath, 0, 0));
        Assert.AreEqual(-FuseErrno.ENOENT, adapter.ChangeMode("/missing", 0x81A4));
    }

    [TestMethod]
    public void Access_ExecuteOnFileDeniedWriteOnReadOnlyMountErofs()
    {
        using FuseVolumeAdapter writable = Create(new InMemoryVolume());
        using FuseVolumeAdapter readOnly = Create(new InMemoryVolume(), readOnly: true);

        Assert.AreEqual(0, writable.Access(InMemoryVolume.DiskPath, 4 | 2));
        Assert.AreEqual(-FuseErrno.EACCES, writable.Access(InMemoryVolume.DiskPath, 1));
        Assert.AreEqual(0, writable.Access("/", 1));
        Assert.AreEqual(-FuseErrno.EROFS, readOnly.Access(InMemoryVolume.DiskPath, 2));
    }

    [TestMethod]
    public void AccessAndUnlink_AskTheVolume_InsteadOfDeciding()
    {
        var node = new VolumeNode("disk.vhdx", false, 4096, false, DateTime.UnixEpoch, DateTime.UnixEpoch, DateTime.UnixEpoch);
        var volume = new Mock<IVolume>();
        volume.SetupGet(v => v.IsReadOnly).Returns(false);
        volume.Setup(v => v.GetNode("/disk.vhdx", out node)).Returns(VolumeStatus.Success);
        volume.Setup(v => v.CanWrite("/disk.vhdx")).Returns(VolumeStatus.AccessDenied);
        volume.Setup(v => v.Delete("/disk.vhdx")).Returns(VolumeStatus.AccessDenied);
        using var adapter = new FuseVolumeAdapter(volume.Object, new FuseMountOptions(), 1000, 100, NullLogger.Instance);

        Assert.AreEqual(0, adapter.Access("/disk.vhdx", 4));
        Assert.AreEqual(-FuseErrno.EACCES, adapter.Access("/disk.vhdx", 2), "the node is not flagged read-only, but the volume says no");
        Assert.AreEqual(-FuseErrno.EACCES, adapter.Unlink("/disk.vhdx"));
        volume.Verify(v => v.CanWrite("/disk.vhdx"), Times.Once);
    }

    [TestMethod]
    public void FsyncAndDestroy_FlushTheVolume()
    {
        var volume = new InMemoryVolume();
        using FuseVolumeAdapter adapter = Create(volume);
        Assert.AreEqual(0, adapter.Open(InMemoryVolume.DiskPath, O_RDWR, out ulong handle));

        Assert.AreEqual(0, adapter.Flush(handle));
        Assert.AreEqual(0, volume.FlushCount, "close is not a durability point");
        Assert.AreEqual(0, adapter.Fsync(handle));
        Assert.AreEqual(1, volume.FlushCount);
        adapter.OnDestroy();
        adapter.OnDestroy();
        Assert.AreEqual(2, volume.FlushCount, "destroy flushes once");
    }

    [TestMethod]
    public void Dispose_ClosesHandlesTheKernelNeverReleased()
    {
        var volume = new InMemoryVolume();
        FuseVolumeAdapter adapter = Create(volume);
        Assert.AreEqual(0, adapter.Open(InMemoryVolume.DiskPath, O_RDONLY, out _));

        adapter.Dispose();

        Assert.AreEqual(0, volume.OpenHandles);
    }

    [TestMethod]
    public void StatFs_ReportsVolumeInfoInAllocationUnits()
    {
        using FuseVolumeAdapter adapter = Create(new InMemoryVolume());

        Assert.AreEqual(0, adapter.StatFs(out FuseStatFs statFs));
        Assert.AreEqual(4096UL, statFs.BlockSize);
        Assert.AreEqual(16384UL, statFs.Blocks);
        Assert.AreEqual(4096UL, statFs.BlocksAvailable);
        Assert.AreEqual(255UL, statFs.NameMax);
    }

    [TestMethod]
    public void GetAttr_VolumeSaysSuccessButNoNode_IsEio()
    {
        var volume = new Mock<IVolume>(MockBehavior.Strict);
        volume.SetupGet(v => v.IsReadOnly).Returns(false);
        VolumeNode? none = null;
        volume.Setup(v => v.GetNode("/x", out none)).Returns(VolumeStatus.Success);
        using var adapter = new FuseVolumeAdapter(volume.Object, new FuseMountOptions(), 0, 0, NullLogger.Instance);

        Assert.AreEqual(-FuseErrno.EIO, adapter.GetAttr("/x", out _));
    }

    [TestMethod]
    public void HandleException_AnswersErrnoWithoutThrowing()
    {
        using FuseVolumeAdapter adapter = Create(new InMemoryVolume());

        Assert.AreEqual(-FuseErrno.EIO, adapter.HandleException("read", new InvalidOperationException("boom")));
        Assert.AreEqual(-FuseErrno.EACCES, adapter.HandleException("open", new UnauthorizedAccessException()));
    }
}
