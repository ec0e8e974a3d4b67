using AddCowMount.Core.Volume;

namespace AddCowMount.Mount.Fuse;

/// <summary>
/// The one table from <see cref="VolumeStatus"/> (and from exceptions) to Linux errno values. FUSE callbacks
/// return 0 for success or a negated errno; every adapter result passes through here.
/// </summary>
public static class FuseErrno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EIO = 5;
    public const int EBADF = 9;
    public const int EACCES = 13;
    public const int EEXIST = 17;
    public const int ENOTDIR = 20;
    public const int EISDIR = 21;
    public const int EINVAL = 22;
    public const int ENOSPC = 28;
    public const int EROFS = 30;
    public const int ENOSYS = 38;
    public const int EOPNOTSUPP = 95;

    /// <summary>The positive errno for a status; 0 for <see cref="VolumeStatus.Success"/>.</summary>
    public static int FromStatus(VolumeStatus status) => status switch
    {
        VolumeStatus.Success => 0,
        VolumeStatus.NotFound => ENOENT,
        VolumeStatus.AccessDenied => EACCES,
        VolumeStatus.WriteProtected => EROFS,
        VolumeStatus.AlreadyExists => EEXIST,
        VolumeStatus.NotSupported => EOPNOTSUPP,
        VolumeStatus.InvalidParameter => EINVAL,
        VolumeStatus.IsADirectory => EISDIR,
        VolumeStatus.NotADirectory => ENOTDIR,
        VolumeStatus.DiskFull => ENOSPC,
        VolumeStatus.IoError => EIO,
        _ => EIO,
    };

    /// <summary>The FUSE return value for a status: 0 or the negated errno.</summary>
    public static int ToResult(VolumeStatus status) => -FromStatus(status);

    /// <summary>The positive errno for an exception that reached a callback; anything unexpected is EIO.</summary>
    public static int FromException(Exception exception) => exception switch
    {
        UnauthorizedAccessException => EACCES,
        NotSupportedException => EOPNOTSUPP,
        ArgumentException => EINVAL,
        _ => EIO,
    };
}
