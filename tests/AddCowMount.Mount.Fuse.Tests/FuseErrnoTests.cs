using AddCowMount.Core.Volume;

namespace AddCowMount.Mount.Fuse.Tests;

[TestClass]
public sealed class FuseErrnoTests
{
    [TestMethod]
    [DataRow(VolumeStatus.Success, 0)]
    [DataRow(VolumeStatus.NotFound, 2)]
    [DataRow(VolumeStatus.AccessDenied, 13)]
    [DataRow(VolumeStatus.WriteProtected, 30)]
    [DataRow(VolumeStatus.AlreadyExists, 17)]
    [DataRow(VolumeStatus.NotSupported, 95)]
    [DataRow(VolumeStatus.InvalidParameter, 22)]
    [DataRow(VolumeStatus.IsADirectory, 21)]
    [DataRow(VolumeStatus.NotADirectory, 20)]
    [DataRow(VolumeStatus.DiskFull, 28)]
    [DataRow(VolumeStatus.IoError, 5)]
    public void FromStatus_MapsToLinuxErrno(VolumeStatus status, int errno)
    {
        Assert.AreEqual(errno, FuseErrno.FromStatus(status));
        Assert.AreEqual(-errno, FuseErrno.ToResult(status));
    }

    [TestMethod]
    public void FromStatus_EveryStatusHasItsOwnErrno()
    {
        VolumeStatus[] all = Enum.GetValues<VolumeStatus>();
        int[] errnos = [.. all.Select(FuseErrno.FromStatus)];

        Assert.HasCount(all.Length, errnos.Distinct(), "two statuses share an errno, or a new status fell through to EIO");
    }

    [TestMethod]
    public void FromStatus_UnknownValue_IsEio()
    {
        Assert.AreEqual(FuseErrno.EIO, FuseErrno.FromStatus((VolumeStatus)999));
    }

    [TestMethod]
    public void FromException_MapsKnownTypesAndDefaultsToEio()
    {
        Assert.AreEqual(FuseErrno.EACCES, FuseErrno.FromException(new UnauthorizedAccessException()));
        Assert.AreEqual(FuseErrno.EOPNOTSUPP, FuseErrno.FromException(new NotSupportedException()));
        Assert.AreEqual(FuseErrno.EINVAL, FuseErrno.FromException(new ArgumentOutOfRangeException("x")));
        Assert.AreEqual(FuseErrno.EIO, FuseErrno.FromException(new IOException()));
        Assert.AreEqual(FuseErrno.EIO, FuseErrno.FromException(new InvalidOperationException()));
    }
}
