using AddCowMount.Core.Volume;

namespace AddCowMount.Mount.Windows.Operations;

/// <summary>
/// Per-open state kept in Dokan's <c>info.Context</c> from CreateFile to CloseFile (not Cleanup: Windows
/// still sends paging I/O for a file after its last handle is cleaned up). Thread-safe: Dokan may call
/// the same context from several threads.
/// </summary>
public sealed class DokanFileContext : IDisposable
{
    private readonly Lock _lock = new();
    private IVolumeHandle? _handle;
    private bool _disposed;

    internal DokanFileContext(string path, bool isDirectory, IVolumeHandle? handle)
    {
        Path = path;
        IsDirectory = isDirectory;
        _handle = handle;
    }

    public string Path { get; }

    public bool IsDirectory { get; }

    public bool IsDisposed
    {
        get
        {
            lock (_lock)
            {
                return _disposed;
            }
        }
    }

    /// <summary>The data handle, if one has been opened.</summary>
    public IVolumeHandle? Handle
    {
        get
        {
            lock (_lock)
            {
                return _handle;
            }
        }
    }

    /// <summary>
    /// A handle that allows <paramref name="needed"/>, opening one (or reopening read-write) on first use:
    /// metadata-only opens have none, and the cache manager may write through a handle opened for reading.
    /// </summary>
    internal VolumeStatus EnsureHandle(IVolume volume, VolumeAccess needed, out IVolumeHandle? handle)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_handle is not null && (_handle.Access & needed) == needed)
            {
                handle = _handle;
                return VolumeStatus.Success;
            }

            var access = (_handle?.Access ?? 0) | needed;
            var status = volume.Open(Path, access, out var opened);
            if (status != VolumeStatus.Success || opened is null)
            {
                handle = null;
                return status == VolumeStatus.Success ? VolumeStatus.IoError : status;
            }

            _handle?.Dispose();
            _handle = opened;
            handle = opened;
            return VolumeStatus.Success;
        }
    }

    public void Dispose()
    {
        IVolumeHandle? handle;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            handle = _handle;
            _handle = null;
        }

        handle?.Dispose();
    }
}
