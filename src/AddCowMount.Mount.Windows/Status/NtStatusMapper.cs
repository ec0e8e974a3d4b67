using AddCowMount.Core.Volume;

namespace AddCowMount.Mount.Windows.Status;

/// <summary>
/// The one place where volume outcomes and exceptions become NTSTATUS values. Every Dokan callback
/// ends in <see cref="FromVolumeStatus"/> or, from its single catch, in <see cref="FromException"/>.
/// </summary>
public static class NtStatusMapper
{
    /// <summary>HRESULT of ERROR_DISK_FULL (0x70) and ERROR_HANDLE_DISK_FULL (0x27) as IOException carries them.</summary>
    private const int HResultDiskFull = unchecked((int)0x80070070);
    private const int HResultHandleDiskFull = unchecked((int)0x80070027);

    public static uint FromVolumeStatus(VolumeStatus status) => status switch
    {
        VolumeStatus.Success => NtStatusCodes.Success,
        VolumeStatus.NotFound => NtStatusCodes.ObjectNameNotFound,
        VolumeStatus.AccessDenied => NtStatusCodes.AccessDenied,
        VolumeStatus.WriteProtected => NtStatusCodes.MediaWriteProtected,
        VolumeStatus.AlreadyExists => NtStatusCodes.ObjectNameCollision,
        VolumeStatus.NotSupported => NtStatusCodes.NotSupported,
        VolumeStatus.InvalidParameter => NtStatusCodes.InvalidParameter,
        VolumeStatus.IsADirectory => NtStatusCodes.FileIsADirectory,
        VolumeStatus.NotADirectory => NtStatusCodes.NotADirectory,
        VolumeStatus.DiskFull => NtStatusCodes.DiskFull,
        VolumeStatus.IoError => NtStatusCodes.IoDeviceError,
        _ => NtStatusCodes.InternalError,
    };

    /// <summary>
    /// Maps an exception caught in a callback. Order matters: the most derived types come first
    /// (ObjectDisposedException is an InvalidOperationException, FileNotFoundException an IOException).
    /// </summary>
    public static uint FromException(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception switch
        {
            ObjectDisposedException => NtStatusCodes.InvalidHandle,
            UnauthorizedAccessException => NtStatusCodes.AccessDenied,
            FileNotFoundException => NtStatusCodes.ObjectNameNotFound,
            DirectoryNotFoundException => NtStatusCodes.ObjectPathNotFound,
            EndOfStreamException => NtStatusCodes.EndOfFile,
            AddCowMount.Core.Format.AddCowException => FromVolumeStatus(DiskExceptionMapper.ToStatus(exception)),
            IOException io when io.HResult is HResultDiskFull or HResultHandleDiskFull => NtStatusCodes.DiskFull,
            IOException => NtStatusCodes.IoDeviceError,
            ArgumentException => NtStatusCodes.InvalidParameter,
            NotImplementedException => NtStatusCodes.NotImplemented,
            NotSupportedException => NtStatusCodes.NotSupported,
            OperationCanceledException => NtStatusCodes.Cancelled,
            OutOfMemoryException or InsufficientExecutionStackException => NtStatusCodes.InsufficientResources,
            _ => NtStatusCodes.InternalError,
        };
    }
}
