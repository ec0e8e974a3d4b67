using System.Diagnostics;
using System.Runtime.InteropServices;
using AddCowMount.Core.Volume;
using AddCowMount.Mount.Fuse.Native;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AddCowMount.Mount.Fuse;

/// <summary>Why a mount could not be made or ended.</summary>
public sealed class FuseMountException : IOException
{
    public FuseMountException(string message)
        : base(message)
    {
    }

    public FuseMountException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public FuseMountException()
    {
    }
}

/// <summary>
/// One FUSE mount of an <see cref="IVolume"/> with a Start/Stop lifetime. <see cref="Start"/> mounts, runs libfuse's
/// multithreaded loop on a background thread and returns once the kernel's INIT is answered (the mount point shows
/// the files). <see cref="Stop"/> flushes the volume, unmounts and waits for the loop; it is idempotent.
/// An external <c>fusermount3 -u</c> (or <c>umount</c>) also ends the loop: <see cref="Completion"/> then completes.
/// The volume stays owned by the caller.
/// </summary>
public sealed partial class FuseMount : IDisposable
{
    private static readonly TimeSpan s_busyRetry = TimeSpan.FromSeconds(2);

    private readonly ILogger<FuseMount> _logger;
    private readonly Func<IntPtr, int, int> _runLoop;
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IVolume? _volume;
    private FuseVolumeAdapter? _adapter;
    private GCHandle _adapterHandle;
    private IntPtr _operations;
    private IntPtr _fuse;
    private Thread? _loopThread;
    private FuseMountOptions _options = new();
    private bool _started;
    private int? _loopResult;
    private Exception? _loopException;

    public FuseMount(ILogger<FuseMount>? logger = null)
        : this(logger, null)
    {
    }

    /// <summary>Tests pass their own <paramref name="runLoop"/> (fuse, worker threads) -> result in place of <see cref="FuseSessionLoop.Run"/>.</summary>
    internal FuseMount(ILogger<FuseMount>? logger, Func<IntPtr, int, int>? runLoop)
    {
        _logger = logger ?? NullLogger<FuseMount>.Instance;
        _runLoop = runLoop ?? RunSessionLoop;
    }

    /// <summary>The absolute mount point once started.</summary>
    public string? MountPoint { get; private set; }

    /// <summary>Completes when the loop has ended and libfuse is torn down (after <see cref="Stop"/> or an external unmount).</summary>
    public Task Completion => _completion.Task;

    public bool IsRunning => _started && !_completion.Task.IsCompleted;

    internal FuseVolumeAdapter? Adapter => _adapter;

    /// <summary>True when libfuse3 can be loaded and /dev/fuse exists; <paramref name="reason"/> says what is missing.</summary>
    public static bool IsAvailable(out string reason)
    {
        if (!OperatingSystem.IsLinux())
        {
            reason = "FUSE mounts need Linux.";
            return false;
        }

        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            reason = $"The libfuse3 binding is laid out for x86_64, not {RuntimeInformation.ProcessArchitecture}.";
            return false;
        }

        if (!File.Exists("/dev/fuse"))
        {
            reason = "/dev/fuse is missing: load the fuse kernel module (modprobe fuse) or, in a container, pass --device /dev/fuse --cap-add SYS_ADMIN.";
            return false;
        }

        if (!LibFuse.TryGetVersion(out int version))
        {
            reason = $"{LibFuse.Library} cannot be loaded: install the fuse3 package (Debian/Ubuntu: apt-get install fuse3).";
            return false;
        }

        if (version < 312)
        {
            reason = $"libfuse {version / 100}.{version % 100} is too old; 3.12 or newer is needed.";
            return false;
        }

        reason = string.Empty;
        return true;
    }

    /// <summary>Mounts <paramref name="volume"/> at <paramref name="mountPoint"/> (an existing directory) and returns when it serves requests.</summary>
    public void Start(IVolume volume, string mountPoint, FuseMountOptions options)
    {
        ArgumentNullException.ThrowIfNull(volume);
        ArgumentException.ThrowIfNullOrEmpty(mountPoint);
        ArgumentNullException.ThrowIfNull(options);
        IReadOnlyList<string> arguments = FuseOptionBuilder.BuildArguments(options);
        string fullPath = Path.TrimEndingDirectorySeparator(Path.GetFullPath(mountPoint));

        lock (_gate)
        {
            if (_started)
            {
                throw new InvalidOperationException("This FuseMount was already started; create a new one per mount.");
            }

            if (!IsAvailable(out string reason))
            {
                throw new FuseMountException(reason);
            }

            if (!Directory.Exists(fullPath))
            {
                throw new FuseMountException($"Mount point '{fullPath}' is not an existing directory.");
            }

            _started = true;
            _volume = volume;
            _options = options;
            MountPoint = fullPath;
            _adapter = new FuseVolumeAdapter(volume, options, LibC.GetUid(), LibC.GetGid(), _logger);
            _adapterHandle = GCHandle.Alloc(_adapter);
            _operations = FuseOperations.Allocate();
            try
            {
                _fuse = CreateFuse(arguments);
                if (LibFuse.Mount(_fuse, fullPath) != 0)
                {
                    throw new FuseMountException(
                        $"Mounting at '{fullPath}' failed (libfuse printed the reason to stderr): check that it is not already mounted and that /dev/fuse is accessible.");
                }

                LogMounted(_logger, fullPath, string.Join(' ', arguments));
                _loopThread = new Thread(RunLoop) { IsBackground = true, Name = "fuse-loop " + fullPath };
                _loopThread.Start();
            }
            catch
            {
                ReleaseNative();
                _completion.TrySetResult();
                throw;
            }
        }

        int signalled = Task.WaitAny([_adapter.Initialized, _completion.Task], options.Timeout);
        if (signalled != 0)
        {
            Stop();
            throw signalled < 0
                ? new FuseMountException($"The kernel did not initialise the mount at '{fullPath}' within {options.Timeout}.")
                : LoopEndedEarly(fullPath);
        }
    }

    /// <summary>Flushes the volume, unmounts and waits for the loop to end. Harmless when not running or called twice.</summary>
    public void Stop()
    {
        string? mountPoint;
        lock (_gate)
        {
            if (!_started || _completion.Task.IsCompleted)
            {
                return;
            }

            mountPoint = MountPoint;
        }

        VolumeStatus flushed = _volume!.Flush();
        if (flushed != VolumeStatus.Success)
        {
            LogStopFlushFailed(_logger, flushed);
        }

        if (mountPoint is not null)
        {
            Unmount(mountPoint);
        }

        if (!_completion.Task.Wait(_options.Timeout))
        {
            throw new FuseMountException(
                $"'{mountPoint}' was detached, but files opened through it are still in use; the mount ends when they are closed (Completion then completes).");
        }
    }

    /// <summary>Blocks until the mount ends (Stop, fusermount3 -u, umount).</summary>
    public void WaitForExit() => _completion.Task.Wait();

    public bool WaitForExit(TimeSpan timeout) => _completion.Task.Wait(timeout);

    public void Dispose() => Stop();

    private unsafe IntPtr CreateFuse(IReadOnlyList<string> arguments)
    {
        FuseArgs args = default;
        try
        {
            foreach (string argument in arguments)
            {
                if (LibFuse.OptAddArg(&args, argument) != 0)
                {
                    throw new OutOfMemoryException("fuse_opt_add_arg failed.");
                }
            }

            IntPtr fuse = LibFuse.New(&args, _operations, FuseOperations.Size, GCHandle.ToIntPtr(_adapterHandle));
            if (fuse == IntPtr.Zero)
            {
                throw new FuseMountException($"libfuse refused the options '{string.Join(' ', arguments)}' (it printed the reason to stderr).");
            }

            return fuse;
        }
        finally
        {
            LibFuse.OptFreeArgs(&args);
        }
    }

    /// <summary>Our request loop, with the adapter's mapped reads (an adapter exists whenever the loop runs).</summary>
    private unsafe int RunSessionLoop(IntPtr fuse, int threads)
    {
        FuseVolumeAdapter? adapter = _adapter;
        return FuseSessionLoop.Run(fuse, threads, adapter is null ? null : adapter.TryMapRead);
    }

    private void RunLoop()
    {
        int result = -1;
        try
        {
            result = _runLoop(_fuse, _options.MaxThreads);
            _loopResult = result;
            LogLoopEnded(_logger, MountPoint ?? string.Empty, result);
        }
        catch (Exception exception)
        {
            _loopException = exception;
            LogLoopFailed(_logger, exception, MountPoint ?? string.Empty);
        }
        finally
        {
            lock (_gate)
            {
                ReleaseNative();
            }

            _completion.TrySetResult();
        }
    }

    /// <summary>The mount error when the loop ended before INIT: what the loop returned or threw (it ended, so both are set).</summary>
    private FuseMountException LoopEndedEarly(string mountPoint)
    {
        const string prefix = "The FUSE loop ended before the mount at '";
        if (_loopException is { } exception)
        {
            return new FuseMountException($"{prefix}{mountPoint}' was ready: {exception.Message}", exception);
        }

        int result = _loopResult ?? -1;
        string cause = result < -1 ? $"{Marshal.GetPInvokeErrorMessage(-result)} (errno {-result})" : $"the FUSE loop returned {result}";
        return new FuseMountException($"{prefix}{mountPoint}' was ready: {cause}; libfuse printed details to stderr.");
    }

    /// <summary>Tears down libfuse (fuse_destroy calls our destroy callback, which flushes the volume) and frees what the mount pinned.</summary>
    private void ReleaseNative()
    {
        if (_fuse != IntPtr.Zero)
        {
            LibFuse.Unmount(_fuse); // no-op when the kernel side is already gone
            LibFuse.Destroy(_fuse);
            _fuse = IntPtr.Zero;
        }

        _adapter?.OnDestroy();
        _adapter?.Dispose();
        if (_adapterHandle.IsAllocated)
        {
            _adapterHandle.Free();
        }

        if (_operations != IntPtr.Zero)
        {
            FuseOperations.Free(_operations);
            _operations = IntPtr.Zero;
        }
    }

    /// <summary>
    /// Unmounts so that the kernel aborts the connection and the loop's reads end. Busy mounts (a process still has a
    /// file open) are retried for a moment, then detached lazily: the loop then ends when the last file closes.
    /// </summary>
    private void Unmount(string mountPoint)
    {
        if (LibC.GetEffectiveUid() != 0)
        {
            RunFusermount(mountPoint, lazy: false);
            if (MountTable.Find(mountPoint) is not null && !_completion.Task.Wait(s_busyRetry))
            {
                LogLazyUnmount(_logger, mountPoint);
                RunFusermount(mountPoint, lazy: true);
            }

            return;
        }

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (LibC.Umount2(mountPoint, 0) == 0)
            {
                return;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno is LibC.EINVAL or LibC.ENOENT)
            {
                return; // not mounted any more (an external unmount won the race)
            }

            if (errno != LibC.EBUSY || deadline.Elapsed > s_busyRetry)
            {
                LogLazyUnmount(_logger, mountPoint);
                if (LibC.Umount2(mountPoint, LibC.MntDetach) != 0)
                {
                    throw new FuseMountException($"Unmounting '{mountPoint}' failed: errno {Marshal.GetLastPInvokeError()}.");
                }

                return;
            }

            Thread.Sleep(50);
        }
    }

    private void RunFusermount(string mountPoint, bool lazy)
    {
        var start = new ProcessStartInfo("fusermount3") { RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(lazy ? "-uz" : "-u");
        start.ArgumentList.Add("--");
        start.ArgumentList.Add(mountPoint);
        using Process process = Process.Start(start) ?? throw new FuseMountException("fusermount3 could not be started.");
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            LogFusermountFailed(_logger, mountPoint, process.ExitCode, error.Trim());
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Mounted at {MountPoint} ({Arguments})")]
    private static partial void LogMounted(ILogger logger, string mountPoint, string arguments);

    [LoggerMessage(Level = LogLevel.Information, Message = "FUSE loop for {MountPoint} ended ({Result})")]
    private static partial void LogLoopEnded(ILogger logger, string mountPoint, int result);

    [LoggerMessage(Level = LogLevel.Error, Message = "FUSE loop for {MountPoint} failed")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception, string mountPoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Flushing the volume before unmounting failed: {Status}")]
    private static partial void LogStopFlushFailed(ILogger logger, VolumeStatus status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{MountPoint} is busy; detaching it lazily (it goes away when the last file is closed)")]
    private static partial void LogLazyUnmount(ILogger logger, string mountPoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "fusermount3 for {MountPoint} exited {ExitCode}: {Error}")]
    private static partial void LogFusermountFailed(ILogger logger, string mountPoint, int exitCode, string error);
}
