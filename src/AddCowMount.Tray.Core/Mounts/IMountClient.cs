namespace AddCowMount.Tray.Core.Mounts;

/// <summary>
/// The tray's view of the mount owner. The CLI <c>addcow</c> owns every mount (each a background process);
/// the tray only asks it, so a tray crash leaves disks mounted. Every failure throws
/// <see cref="MountClientException"/> carrying the text the user must read.
/// </summary>
public interface IMountClient
{
    Task<IReadOnlyList<MountInfo>> ListAsync(CancellationToken cancellationToken = default);

    Task MountAsync(MountRequest request, CancellationToken cancellationToken = default);

    Task UnmountAsync(string mountPoint, CancellationToken cancellationToken = default);

    Task CreateOverlayAsync(CreateOverlayRequest request, CancellationToken cancellationToken = default);
}

/// <summary>A mount operation failed; <see cref="Exception.Message"/> is fit to show the user.</summary>
public sealed class MountClientException : Exception
{
    public MountClientException()
    {
    }

    public MountClientException(string message)
        : base(message)
    {
    }

    public MountClientException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public MountClientException(string message, int exitCode)
        : base(message)
    {
        ExitCode = exitCode;
    }

    /// <summary>The CLI's exit code (1 error, 2 usage error), or null when the CLI did not run.</summary>
    public int? ExitCode { get; }
}
