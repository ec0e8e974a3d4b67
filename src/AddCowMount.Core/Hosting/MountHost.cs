using AddCowMount.Core.Alignment;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Format;
using AddCowMount.Core.Storage;
using AddCowMount.Core.Volume;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Core.Hosting;

/// <summary>What to mount and how.</summary>
public sealed record MountRequest
{
    public required string ImagePath { get; init; }

    public required string MountPoint { get; init; }

    public bool ReadOnly { get; init; }

    /// <summary>Reads fill the image file with backing data (QEMU's copy-on-read).</summary>
    public bool CopyOnRead { get; init; }

    /// <summary>Let other users reach the mount (FUSE allow_other). Off: only the mounting user.</summary>
    public bool AllowOther { get; init; }

    public bool AllowUnsafePaths { get; init; }

    /// <summary>Where the image's files live; the real file system unless a test says otherwise.</summary>
    public IStorageProvider Storage { get; init; } = FileStorage.Instance;

    /// <summary>How often written data is made durable when nobody flushes.</summary>
    public TimeSpan WriteBackInterval { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>A platform's way of showing an <see cref="IVolume"/> as files: FUSE on Linux, Dokan on Windows.</summary>
public interface IMountBackend
{
    string Name { get; }

    bool IsAvailable(out string reason);

    /// <summary>Mounts and returns once the files are visible.</summary>
    IMountedFileSystem Mount(IVolume volume, MountRequest request);

    /// <summary>Paths of the volume's files as the OS shows them under the mount point.</summary>
    string PathOf(string mountPoint, string fileName);
}

/// <summary>A live mount of a backend.</summary>
public interface IMountedFileSystem : IDisposable
{
    /// <summary>Completes when the file system is gone (stopped, or unmounted from outside).</summary>
    Task Completion { get; }

    void Stop();
}

/// <summary>
/// One mount's lifetime, the same for the CLI's foreground and background mounts and for the tray's:
/// open the image (locked), put the sector-aligning adapter and the volume model over it, mount through a
/// backend, announce it in the registry, serve the control channel, flush written data periodically,
/// and on stop flush, unmount, close and withdraw the announcement.
/// </summary>
public sealed partial class MountHost : IDisposable
{
    private readonly MountRequest _request;
    private readonly IMountBackend _backend;
    private readonly MountRegistry _registry;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private AddCowImage? _image;
    private VolumeModel? _volume;
    private IMountedFileSystem? _mounted;
    private Timer? _writeBack;
    private Task? _control;
    private static int s_hosts;
    private int _stopped;

    public MountHost(MountRequest request, IMountBackend backend, MountRegistry registry, ILoggerFactory loggerFactory)
    {
        _request = request;
        _backend = backend;
        _registry = registry;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<MountHost>();
    }

    public MountRecord? Record { get; private set; }

    /// <summary>Completes once the mount has ended and everything was flushed and closed.</summary>
    public Task Completion => _completion.Task;

    public int OpenHandles => _volume?.OpenHandleCount ?? 0;

    public void Start()
    {
        if (!_backend.IsAvailable(out string reason))
        {
            throw new AddCowException(AddCowError.InvalidArgument, _request.MountPoint, $"cannot mount with {_backend.Name}: {reason}");
        }

        string mountPoint = MountRegistry.NormalizeMountPoint(_request.MountPoint);
        if (_registry.Find(mountPoint) is { } existing)
        {
            throw new AddCowException(AddCowError.InUse, mountPoint,
                AddCowException.About(mountPoint, $"already serves {existing.Image} (pid {existing.Pid})"));
        }

        string imagePath = Path.GetFullPath(_request.ImagePath);
        try
        {
            _image = AddCowImage.Open(imagePath, new ImageOpenOptions
            {
                Writable = !_request.ReadOnly,
                AllowUnsafePaths = _request.AllowUnsafePaths,
                Storage = _request.Storage,
                LoggerFactory = _loggerFactory,
            });
            var disk = new SectorAligningDisk(_image, readOnly: _request.ReadOnly, copyOnRead: _request.CopyOnRead, ownsDevice: false);
            string baseName = Path.GetFileNameWithoutExtension(imagePath);
            _volume = new VolumeModel(disk, new VolumeModelOptions
            {
                BaseName = baseName,
                ReadOnly = _request.ReadOnly,
                UniqueId = VhdFooter.StableId(imagePath),
                VhdxHeaderSidecarPath = VhdxHeaderStore.SidecarPathFor(imagePath),
                VolumeLabel = baseName.Length > 32 ? baseName[..32] : baseName,
                CreationTimeUtc = File.GetCreationTimeUtc(imagePath),
                LastWriteTimeUtc = File.GetLastWriteTimeUtc(_image.ImageFilePath),
            }, _loggerFactory.CreateLogger<VolumeModel>());
            _mounted = _backend is IImageExportBackend export
                ? export.Export(_volume, _image, _request with { MountPoint = mountPoint })
                : _backend.Mount(_volume, _request with { MountPoint = mountPoint });
        }
        catch
        {
            _volume?.Dispose();
            _image?.Dispose();
            throw;
        }

        _volume.List("/", out IReadOnlyList<VolumeNode> files);
        int pid = Environment.ProcessId;
        Record = new MountRecord(mountPoint, imagePath, pid, _request.ReadOnly,
            files.Select(f => _backend.PathOf(mountPoint, f.Name)).Distinct().ToList(), DateTime.UtcNow, MountControl.PipeNameFor(pid, Interlocked.Increment(ref s_hosts)))
        {
            // An export serves the raw disk only: the file views it does not show are no news to its user.
            NotShown = _backend is IImageExportBackend ? [] : _volume.HiddenViews.Select(h => $"no {h.Name}: {h.Reason}").ToList(),
        };
        _registry.Register(Record);
        _control = MountControl.ServeAsync(Record.Control, HandleControl, _stopping.Token);
        if (!_request.ReadOnly && _request.WriteBackInterval > TimeSpan.Zero)
        {
            _writeBack = new Timer(_ => WriteBack(), null, _request.WriteBackInterval, _request.WriteBackInterval);
        }

        _mounted.Completion.ContinueWith(_ => Shutdown(), TaskScheduler.Default);
        LogMounted(_logger, imagePath, mountPoint);
    }

    /// <summary>
    /// Asks the mount to end and returns once it has (flushed, unmounted, closed). Refused (false) while handles
    /// are open, unless forced; the check and the stop are one step, so a file opened meanwhile is never cut off.
    /// A failure of the final flush faults <see cref="Completion"/>.
    /// </summary>
    public bool RequestStop(bool force)
    {
        if (!TryBeginStop(force, out _))
        {
            return false;
        }

        Shutdown();
        return true;
    }

    /// <summary>Ends the mount whatever state it is in: the final flush and every close run even when an earlier step
    /// failed. Never throws; a failed final flush shows in <see cref="Completion"/>.</summary>
    public void Dispose()
    {
        TryBeginStop(force: true, out _);
        Shutdown();
        ((IAsyncResult)_completion.Task).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(30));
    }

    private string HandleControl(string request) => request switch
    {
        "status" => $"handles {OpenHandles}",
        "unmount" => RequestStopAsync(force: false),
        "unmount --force" => RequestStopAsync(force: true),
        _ => "error unknown request",
    };

    private string RequestStopAsync(bool force)
    {
        if (!TryBeginStop(force, out int busy))
        {
            return $"busy {busy}";
        }

        // Answer first; the unmount itself runs after the reply is sent. New opens are refused from here on.
        _ = Task.Run(Shutdown);
        return "ok";
    }

    /// <summary>Unless forced, succeeds only when no handle is open, and from then on the volume refuses new opens.</summary>
    private bool TryBeginStop(bool force, out int openHandles)
    {
        openHandles = 0;
        if (Volatile.Read(ref _stopped) != 0 || _volume is null)
        {
            return true;
        }

        return _volume.TryCloseToNewHandles(force, out openHandles);
    }

    private void WriteBack()
    {
        try
        {
            _volume?.FlushIfDirty();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            LogWriteBackFailed(_logger, ex);
        }
    }

    /// <summary>
    /// Unmounts, makes everything written durable and closes, each step whatever failed before it: a backend that
    /// fails to stop (FUSE's lazy detach with files still open) must not keep the bitmap from its final flush.
    /// </summary>
    private void Shutdown()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        if (_writeBack is not null)
        {
            using var done = new ManualResetEvent(false);
            if (_writeBack.Dispose(done))
            {
                done.WaitOne(); // a write-back running now finishes before the final flush
            }
        }

        Step("stop the control channel", () =>
        {
            _stopping.Cancel();
            // An answer being written ("ok" to the unmount that started this stop) goes out before the process can end.
            _control?.Wait(TimeSpan.FromSeconds(5));
        });
        Step("unmount", () => _mounted?.Stop());
        Step("release the mount", () => _mounted?.Dispose());
        Exception? flushFailure = null;
        if (_image is not null)
        {
            try
            {
                _image.Flush();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                flushFailure = ex;
                LogFinalFlushFailed(_logger, _image.Path, ex.Message, ex);
            }
        }

        Step("close the volume", () => _volume?.Dispose());
        Step("close the image", () => _image?.Dispose());
        Step("withdraw the mount's record", () =>
        {
            if (Record is not null)
            {
                _registry.Unregister(Record.MountPoint, Record.Pid);
            }
        });

        if (flushFailure is not null)
        {
            string image = _image!.Path;
            _completion.TrySetException(new AddCowException(AddCowError.IoError, image,
                $"{image}: the final flush failed ({flushFailure.Message}); writes since the last successful flush may be lost", flushFailure));
            return;
        }

        LogUnmounted(_logger, _request.MountPoint);
        _completion.TrySetResult();
    }

    private void Step(string what, Action action)
    {
        try
        {
            action();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogShutdownStepFailed(_logger, what, ex.Message, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Mounted {Image} at {MountPoint}")]
    private static partial void LogMounted(ILogger logger, string image, string mountPoint);

    [LoggerMessage(Level = LogLevel.Information, Message = "Unmounted {MountPoint}")]
    private static partial void LogUnmounted(ILogger logger, string mountPoint);

    [LoggerMessage(Level = LogLevel.Error, Message = "Periodic flush failed")]
    private static partial void LogWriteBackFailed(ILogger logger, Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unmounting: could not {Step}: {Reason}")]
    private static partial void LogShutdownStepFailed(ILogger logger, string step, string reason, Exception ex);

    [LoggerMessage(Level = LogLevel.Error, Message = "The final flush of {Image} failed: {Reason}")]
    private static partial void LogFinalFlushFailed(ILogger logger, string image, string reason, Exception ex);
}
