using AddCowMount.Core.Format;

namespace AddCowMount.Core.Volume;

/// <summary>The one place where an exception from the disk becomes a <see cref="VolumeStatus"/>.</summary>
public static class DiskExceptionMapper
{
    // Windows: HRESULT_FROM_WIN32(ERROR_DISK_FULL) and HRESULT_FROM_WIN32(ERROR_HANDLE_DISK_FULL).
    private const int HResultDiskFull = unchecked((int)0x80070070);
    private const int HResultHandleDiskFull = unchecked((int)0x80070027);

    // Unix: .NET puts the raw errno in HResult (ENOSPC, EDQUOT on Linux).
    private const int ErrnoNoSpace = 28;
    private const int ErrnoQuota = 122;

    public static VolumeStatus ToStatus(Exception exception) => exception switch
    {
        // The engine's own errors map by code, never by message.
        AddCowException { Error: AddCowError.OutOfRange or AddCowError.InvalidArgument } => VolumeStatus.InvalidParameter,
        AddCowException { Error: AddCowError.ReadOnly } => VolumeStatus.WriteProtected,
        AddCowException { Error: AddCowError.AccessDenied } => VolumeStatus.AccessDenied,
        AddCowException { InnerException: IOException inner } when IsDiskFull(inner.HResult) => VolumeStatus.DiskFull,
        AddCowException => VolumeStatus.IoError,
        IOException io when IsDiskFull(io.HResult) => VolumeStatus.DiskFull,
        IOException => VolumeStatus.IoError,
        UnauthorizedAccessException => VolumeStatus.AccessDenied,
        ArgumentException => VolumeStatus.InvalidParameter,
        _ => VolumeStatus.IoError,
    };

    public static bool IsDiskFull(int hresult) =>
        hresult is HResultDiskFull or HResultHandleDiskFull
        || (!OperatingSystem.IsWindows() && hresult is ErrnoNoSpace or ErrnoQuota);
}
