using AddCowMount.Core.Hosting;
using AddCowMount.Core.Volume;

namespace AddCowMount.TestSupport;

/// <summary>
/// A mount backend that mounts nothing: it keeps the volume <see cref="MountHost"/> hands it, so a test can open
/// and write files the way a FUSE or Dokan client would, and it can be told to fail its stop or be "unmounted from
/// outside".
/// </summary>
public sealed class FakeMountBackend : IMountBackend
{
    private readonly Lock _lock = new();
    private readonly List<FakeMountedFileSystem> _mounts = [];

    public string Name => "fake";

    /// <summary>When set, <see cref="IsAvailable"/> says no, with this reason.</summary>
    public string? UnavailableReason { get; set; }

    /// <summary>When set, every <see cref="IMountedFileSystem.Stop"/> throws it (as FUSE's lazy detach does with files still open).</summary>
    public Exception? StopFailure { get; set; }

    public IReadOnlyList<FakeMountedFileSystem> Mounts
    {
        get
        {
            lock (_lock)
            {
                return [.. _mounts];
            }
        }
    }

    /// <summary>The one live mount's file system.</summary>
    public FakeMountedFileSystem Mounted => Mounts.Single();

    public bool IsAvailable(out string reason)
    {
        reason = UnavailableReason ?? string.Empty;
        return UnavailableReason is null;
    }

    public IMountedFileSystem Mount(IVolume volume, MountRequest request)
    {
        var mounted = new FakeMountedFileSystem(this, volume, request);
        lock (_lock)
        {
            _mounts.Add(mounted);
        }

        return mounted;
    }

    public string PathOf(string mountPoint, string fileName) => Path.Combine(mountPoint, fileName);
}

/// <summary>One mount of <see cref="FakeMountBackend"/>.</summary>
public sealed class FakeMountedFileSystem(FakeMountBackend backend, IVolume volume, MountRequest request) : IMountedFileSystem
{
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _stops;
    private int _disposals;

    public IVolume Volume { get; } = volume;

    public MountRequest Request { get; } = request;

    public Task Completion => _completion.Task;

    public int StopCount => Volatile.Read(ref _stops);

    public int DisposeCount => Volatile.Read(ref _disposals);

    public void Stop()
    {
        Interlocked.Increment(ref _stops);
        if (backend.StopFailure is { } failure)
        {
            throw failure;
        }

        _completion.TrySetResult();
    }

    /// <summary>What `fusermount3 -u` or a Dokan removal from outside does: the file system is gone.</summary>
    public void UnmountFromOutside() => _completion.TrySetResult();

    public void Dispose() => Interlocked.Increment(ref _disposals);
}
