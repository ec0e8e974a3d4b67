using AddCowMount.Core.Format;
using AddCowMount.Core.Volume;

namespace AddCowMount.Core.Tests.Volume;

[TestClass]
public sealed class DiskExceptionMapperTests
{
    [TestMethod]
    [DataRow(AddCowError.OutOfRange, VolumeStatus.InvalidParameter)]
    [DataRow(AddCowError.InvalidArgument, VolumeStatus.InvalidParameter)]
    [DataRow(AddCowError.ReadOnly, VolumeStatus.WriteProtected)]
    [DataRow(AddCowError.AccessDenied, VolumeStatus.AccessDenied)]
    [DataRow(AddCowError.IoError, VolumeStatus.IoError)]
    [DataRow(AddCowError.ImageFileTooShort, VolumeStatus.IoError)]
    public void EngineErrors_MapByCode(AddCowError error, VolumeStatus expected) =>
        Assert.AreEqual(expected, DiskExceptionMapper.ToStatus(new AddCowException(error, "/x", "any text")));

    [TestMethod]
    public void EngineError_WrappingDiskFull_IsDiskFull()
    {
        int diskFull = OperatingSystem.IsWindows() ? unchecked((int)0x80070070) : 28;
        var inner = new IOException("No space left on device", diskFull);
        Assert.AreEqual(VolumeStatus.DiskFull, DiskExceptionMapper.ToStatus(new AddCowException(AddCowError.IoError, "/x", "flush failed", inner)));
        Assert.AreEqual(VolumeStatus.DiskFull, DiskExceptionMapper.ToStatus(inner));
    }
}
