using AddCowMount.Core.Volume;
using AddCowMount.Mount.Windows.Status;

namespace AddCowMount.Mount.Windows.Tests;

[TestClass]
public sealed class NtStatusMapperTests
{
    [TestMethod]
    [DataRow(VolumeStatus.Success, 0x00000000u)]
    [DataRow(VolumeStatus.NotFound, 0xC0000034u)]
    [DataRow(VolumeStatus.AccessDenied, 0xC0000022u)]
    [DataRow(VolumeStatus.WriteProtected, 0xC00000A2u)]
    [DataRow(VolumeStatus.AlreadyExists, 0xC0000035u)]
    [DataRow(VolumeStatus.NotSupported, 0xC00000BBu)]
    [DataRow(VolumeStatus.InvalidParameter, 0xC000000Du)]
    [DataRow(VolumeStatus.IsADirectory, 0xC00000BAu)]
    [DataRow(VolumeStatus.NotADirectory, 0xC0000103u)]
    [DataRow(VolumeStatus.DiskFull, 0xC000007Fu)]
    [DataRow(VolumeStatus.IoError, 0xC0000185u)]
    public void FromVolumeStatus_EachStatus_GivesItsNtStatusNumber(VolumeStatus status, uint expected)
    {
        Assert.AreEqual(expected, NtStatusMapper.FromVolumeStatus(status));
    }

    [TestMethod]
    public void FromVolumeStatus_EveryEnumValue_IsMappedExplicitly()
    {
        foreach (var status in Enum.GetValues<VolumeStatus>())
        {
            Assert.AreNotEqual(NtStatusCodes.InternalError, NtStatusMapper.FromVolumeStatus(status), $"{status} falls through to the default");
        }
    }

    [TestMethod]
    public void FromVolumeStatus_UnknownValue_IsInternalError()
    {
        Assert.AreEqual(0xC00000E5u, NtStatusMapper.FromVolumeStatus((VolumeStatus)999));
    }

    public static IEnumerable<object[]> Exceptions =>
    [
        [new ObjectDisposedException("handle"), 0xC0000008u],
        [new UnauthorizedAccessException(), 0xC0000022u],
        [new FileNotFoundException(), 0xC0000034u],
        [new DirectoryNotFoundException(), 0xC000003Au],
        [new EndOfStreamException(), 0xC0000011u],
        [new IOException("disk full", unchecked((int)0x80070070)), 0xC000007Fu],
        [new IOException("handle disk full", unchecked((int)0x80070027)), 0xC000007Fu],
        [new IOException("bad sector"), 0xC0000185u],
        [new ArgumentOutOfRangeException("offset"), 0xC000000Du],
        [new ArgumentException("bad"), 0xC000000Du],
        [new NotImplementedException(), 0xC0000002u],
        [new NotSupportedException(), 0xC00000BBu],
        [new OperationCanceledException(), 0xC0000120u],
        [new OutOfMemoryException(), 0xC000009Au],
        [new InvalidOperationException(), 0xC00000E5u],
        [new NullReferenceException(), 0xC00000E5u],
    ];

    [TestMethod]
    [DynamicData(nameof(Exceptions))]
    public void FromException_MapsMostDerivedTypeFirst(Exception exception, uint expected)
    {
        Assert.AreEqual(expected, NtStatusMapper.FromException(exception), exception.GetType().Name);
    }

    [TestMethod]
    public void FromException_EngineErrorsMapByCode()
    {
        Assert.AreEqual(NtStatusCodes.MediaWriteProtected, NtStatusMapper.FromException(new Core.Format.AddCowException(Core.Format.AddCowError.ReadOnly, "/x", "read-only")));
        Assert.AreEqual(NtStatusCodes.InvalidParameter, NtStatusMapper.FromException(new Core.Format.AddCowException(Core.Format.AddCowError.OutOfRange, "/x", "past the end")));
        Assert.AreEqual(NtStatusCodes.IoDeviceError, NtStatusMapper.FromException(new Core.Format.AddCowException(Core.Format.AddCowError.IoError, "/x", "flush failed")));
    }

    [TestMethod]
    [DataRow(0x00000000u, true)]
    [DataRow(0x00000103u, true)]
    [DataRow(0x80000005u, false)]
    [DataRow(0xC0000022u, false)]
    public void IsSuccess_FollowsNtSuccess(uint status, bool expected)
    {
        Assert.AreEqual(expected, NtStatusCodes.IsSuccess(status));
    }
}
