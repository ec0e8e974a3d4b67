using System.Collections.Concurrent;
using AddCowMount.Core.Storage;
using AddCowMount.Core.Volume;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Mount.Fuse;

/// <summary>Volume-wide numbers for statfs.</summary>
internal readonly record struct FuseStatFs(
    ulong BlockSize,
    ulong Blocks,
    ulong BlocksFree,
    ulong BlocksAvailable,
    ulong NameMax,
    ulong FileSystemId,
    bool ReadOnly);

/// <summary>
/// Translates FUSE operations into <see cref="IVolume"/> calls: finds the handle, makes one volume call, maps the
/// <see cref="VolumeStatus"/> through <see cref="FuseErrno"/>. Results are FUSE's: a count or 0 on success,
/// a negated errno on failure. Native marshalling lives in <see cref="Native.FuseOperations"/>; this class is
/// plain managed code, thread-safe, and testable without a mount.
/// </summary>
internal sealed partial class FuseVolumeAdapter : IDisposable
{
    private const int W_OK = 2;
    private const int X_OK = 1;
    private const int O_ACCMODE = 3;
    private const int O_WRONLY = 1;
    private const int O_RDWR = 2;
    private const uint RENAME_NOREPLACE = 1;
    private const uint RENAME_EXCHANGE = 2;

    private readonly IVolume _volume;
    private readonly ILogger _logger;
    private readonly uint _uid;
    private readonly uint _gid;
    private readonly ConcurrentDictionary<ulong, IVolumeHandle> _handles = new();
    private readonly TaskCompletionSource _initialized = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly MappedFileRanges _mappedFiles = new();
    private long _nextHandle;
    private long _largestRead;
    private long _largestWrite;
    private long _mappedReads;
    private int _destroyed;

    public FuseVolumeAdapter(IVolume volume, FuseMountOptions options, uint uid, uint gid, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(volume);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        _volume = volume;
        Options = options;
        _uid = uid;
        _gid = gid;
        _logger = logger;
        IsReadOnly = options.ReadOnly || volume.IsReadOnly;
    }

    public FuseMountOptions Options { get; }

    /// <summary>True when the mount or the volume is read-only: every modification is refused with EROFS.</summary>
    public bool IsReadOnly { get; }

    /// <summary>Completes once the kernel's INIT has been answered: the mount serves requests. Never disposed, so a
    /// mount whose loop ended early can still be asked.</summary>
    public Task Initialized => _initialized.Task;

    /// <summary>Largest single read request seen, in bytes (shows the negotiated max_read at work).</summary>
    public long LargestRead => Interlocked.Read(ref _largestRead);

    /// <summary>Largest single write request seen, in bytes.</summary>
    public long LargestWrite => Interlocked.Read(ref _largestWrite);

    public int OpenHandleCount => _handles.Count;

    /// <summary>Reads answered from a file mapping (<see cref="TryMapRead"/>) rather than read into memory.</summary>
    public long MappedReads => Interlocked.Read(ref _mappedReads);

    /// <summary>
    /// The smallest read answered from a mapping. Below it the second copy costs little, and a fault on a page the cache
    /// does not hold reads around it (the device's readahead window), where a 4 KiB pread at a random offset reads
    /// that page alone.
    /// </summary>
    internal const int MappedReadMinimum = 64 * 1024;

    public void OnInit(uint protocolMajor, uint protocolMinor, uint maxWrite, uint maxRead, uint maxBackground)
    {
        LogInit(_logger, protocolMajor, protocolMinor, maxWrite, maxRead, maxBackground);
        _initialized.TrySetResult();
    }

    /// <summary>libfuse is tearing the file system down (unmounted, or <c>fusermount3 -u</c>): make writes durable.</summary>
    public void OnDestroy()
    {
        if (Interlocked.Exchange(ref _destroyed, 1) != 0)
        {
            return;
        }

        VolumeStatus status = _volume.Flush();
        if (status != VolumeStatus.Success)
        {
            LogFlushFailed(_logger, status);
        }
    }

    public int GetAttr(string path, out FuseAttributes attributes)
    {
        VolumeStatus status = _volume.GetNode(path, out VolumeNode? node);
        if (status != VolumeStatus.Success || node is null)
        {
            attributes = default;
            return Trace("getattr", path, Fail(status));
        }

        attributes = ToAttributes(node);
        return Trace("getattr", path, 0);
    }

    public int ReadDirectory(string path, out IReadOnlyList<(string Name, FuseAttributes Attributes)> entries)
    {
        VolumeStatus status = _volume.List(path, out IReadOnlyList<VolumeNode> nodes);
        if (status != VolumeStatus.Success)
        {
            entries = [];
            return Trace("readdir", path, Fail(status));
        }

        var list = new List<(string, FuseAttributes)>(nodes.Count);
        foreach (VolumeNode node in nodes)
        {
            list.Add((node.Name, ToAttributes(node)));
        }

        entries = list;
        return Trace("readdir", path, 0);
    }

    public int Open(string path, int flags, out ulong handle)
    {
        handle = 0;
        VolumeAccess access = (flags & O_ACCMODE) switch
        {
            O_WRONLY => VolumeAccess.Write,
            O_RDWR => VolumeAccess.ReadWrite,
            _ => VolumeAccess.Read,
        };
        if (IsReadOnly && (access & VolumeAccess.Write) != 0)
        {
            return Trace("open", path, -FuseErrno.EROFS);
        }

        VolumeStatus status = _volume.Open(path, access, out IVolumeHandle? volumeHandle);
        if (status != VolumeStatus.Success || volumeHandle is null)
        {
            volumeHandle?.Dispose();
            return Trace("open", path, Fail(status));
        }

        handle = (ulong)Interlocked.Increment(ref _nextHandle);
        _handles[handle] = volumeHandle;
        return Trace("open", path, 0);
    }

    /// <summary>create(2)/open(O_CREAT) of a name that does not exist: the volume decides (it refuses new files).</summary>
    public int Create(string path, int flags, out ulong handle)
    {
        handle = 0;
        int result = CreateNode("create", path, directory: false);
        return result != 0 ? result : Open(path, flags, out handle);
    }

    public int MakeNode(string path) => CreateNode("mknod", path, directory: false);

    public int MakeDirectory(string path) => CreateNode("mkdir", path, directory: true);

    public int Unlink(string path) => Modify("unlink", path, () => _volume.Delete(path));

    public int RemoveDirectory(string path) => Modify("rmdir", path, () => _volume.Delete(path));

    public int Rename(string fromPath, string toPath, uint flags)
    {
        if ((flags & RENAME_EXCHANGE) != 0)
        {
            return Trace("rename", fromPath, -FuseErrno.EINVAL);
        }

        bool replace = (flags & RENAME_NOREPLACE) == 0;
        return Modify("rename", fromPath, () => _volume.Rename(fromPath, toPath, replace));
    }

    public int Truncate(string path, long length)
    {
        if (length < 0)
        {
            return Trace("truncate", path, -FuseErrno.EINVAL);
        }

        return Modify("truncate", path, () => _volume.SetLength(path, length));
    }

    public int SetTimes(string path, DateTime? lastAccessTimeUtc, DateTime? lastWriteTimeUtc) =>
        Modify("utimens", path, () => _volume.SetTimes(path, null, lastAccessTimeUtc, lastWriteTimeUtc));

    /// <summary>Modes are fixed: chmod to the mode already shown succeeds, anything else is EPERM.</summary>
    public int ChangeMode(string path, uint mode)
    {
        int result = GetAttr(path, out FuseAttributes attributes);
        if (result != 0)
        {
            return result;
        }

        const uint permissionBits = 0xFFF; // 07777
        return Trace("chmod", path, (mode & permissionBits) == (attributes.Mode & permissionBits) ? 0 : -FuseErrno.EPERM);
    }

    /// <summary>Owners are fixed: chown to the mounting user/group (or -1, "unchanged") succeeds, anything else is EPERM.</summary>
    public int ChangeOwner(string path, uint uid, uint gid)
    {
        int result = GetAttr(path, out _);
        if (result != 0)
        {
            return result;
        }

        bool same = (uid == uint.MaxValue || uid == _uid) && (gid == uint.MaxValue || gid == _gid);
        return Trace("chown", path, same ? 0 : -FuseErrno.EPERM);
    }

    public int Access(string path, int mask)
    {
        VolumeStatus status = _volume.GetNode(path, out VolumeNode? node);
        if (status != VolumeStatus.Success || node is null)
        {
            return Trace("access", path, Fail(status));
        }

        if ((mask & W_OK) != 0 && IsReadOnly)
        {
            return Trace("access", path, -FuseErrno.EROFS);
        }

        if ((mask & W_OK) != 0 && _volume.CanWrite(path) is var writable && writable != VolumeStatus.Success)
        {
            return Trace("access", path, FuseErrno.ToResult(writable));
        }

        if ((mask & X_OK) != 0 && !node.IsDirectory)
        {
            return Trace("access", path, -FuseErrno.EACCES);
        }

        // R_OK: every node is readable.
        return Trace("access", path, 0);
    }

    /// <summary>Reads into <paramref name="buffer"/>; returns the byte count (short only at end of file) or -errno.</summary>
    public int Read(ulong handle, long offset, Span<byte> buffer)
    {
        if (!_handles.TryGetValue(handle, out IVolumeHandle? volumeHandle))
        {
            return -FuseErrno.EBADF;
        }

        if (offset < 0)
        {
            return -FuseErrno.EINVAL;
        }

        RecordLargest(ref _largestRead, buffer.Length);
        int total = 0;
        while (total < buffer.Length)
        {
            VolumeStatus status = volumeHandle.Read(offset + total, buffer[total..], out int read);
            if (status != VolumeStatus.Success)
            {
                return TraceIo("read", offset, buffer.Length, total > 0 ? total : Fail(status));
            }

            if (read <= 0)
            {
                break;
            }

            total += read;
        }

        return TraceIo("read", offset, buffer.Length, total);
    }

    /// <summary>
    /// A read answered whole by one range of a file nothing writes (<see cref="IVolumeHandle.TryMapRead"/>: the golden
    /// base under an overlay), as the address of that range in a read-only mapping of the file, for the loop to reply
    /// from (<see cref="Native.FuseSessionLoop"/>): the kernel then copies the page-cache pages once, into the client's
    /// buffer. Only reads of <see cref="MappedReadMinimum"/> or more; false sends the request to <see cref="Read"/>.
    /// </summary>
    public unsafe bool TryMapRead(ulong handle, long offset, int length, out byte* data)
    {
        data = null;
        if (length < MappedReadMinimum || offset < 0 || !_handles.TryGetValue(handle, out IVolumeHandle? volumeHandle)
            || !volumeHandle.TryMapRead(offset, length, out FileRange range) || !_mappedFiles.TryGetPointer(range, out data))
        {
            return false;
        }

        RecordLargest(ref _largestRead, length);
        Interlocked.Increment(ref _mappedReads);
        TraceIo("read (mapped)", offset, length, length);
        return true;
    }

    /// <summary>Writes all of <paramref name="data"/>; returns the byte count or -errno.</summary>
    public int Write(ulong handle, long offset, ReadOnlySpan<byte> data)
    {
        if (!_handles.TryGetValue(handle, out IVolumeHandle? volumeHandle))
        {
            return -FuseErrno.EBADF;
        }

        if (IsReadOnly)
        {
            return TraceIo("write", offset, data.Length, -FuseErrno.EROFS);
        }

        if (offset < 0)
        {
            return -FuseErrno.EINVAL;
        }

        RecordLargest(ref _largestWrite, data.Length);
        int total = 0;
        while (total < data.Length)
        {
            VolumeStatus status = volumeHandle.Write(offset + total, data[total..], out int written);
            if (status != VolumeStatus.Success)
            {
                return TraceIo("write", offset, data.Length, total > 0 ? total : Fail(status));
            }

            if (written <= 0)
            {
                // A volume that accepts nothing without saying why: report it rather than spin.
                return TraceIo("write", offset, data.Length, total > 0 ? total : -FuseErrno.EIO);
            }

            total += written;
        }

        return TraceIo("write", offset, data.Length, total);
    }

    /// <summary>
    /// close(2) of one descriptor. Deliberately not a durability point (a close per dd block or per qemu-img
    /// probe would cost a disk flush each); fsync and unmount are.
    /// </summary>
    public int Flush(ulong handle) => _handles.ContainsKey(handle) ? 0 : -FuseErrno.EBADF;

    /// <summary>fsync/fdatasync: the handle's writes (or, without a handle, the volume's) become durable.</summary>
    public int Fsync(ulong handle)
    {
        if (handle == 0)
        {
            return Trace("fsync", "/", FuseErrno.ToResult(_volume.Flush()));
        }

        if (!_handles.TryGetValue(handle, out IVolumeHandle? volumeHandle))
        {
            return -FuseErrno.EBADF;
        }

        return Trace("fsync", volumeHandle.Node.Name, FuseErrno.ToResult(volumeHandle.Flush()));
    }

    public int Release(ulong handle)
    {
        if (!_handles.TryRemove(handle, out IVolumeHandle? volumeHandle))
        {
            return -FuseErrno.EBADF;
        }

        volumeHandle.Dispose();
        return 0;
    }

    public int StatFs(out FuseStatFs statFs)
    {
        VolumeInfo info = _volume.Info;
        ulong unit = (ulong)Math.Max(info.AllocationUnitSize > 0 ? info.AllocationUnitSize : info.SectorSize, 512);
        statFs = new FuseStatFs(
            unit,
            (ulong)Math.Max(info.TotalBytes, 0) / unit,
            (ulong)Math.Max(info.FreeBytes, 0) / unit,
            (ulong)Math.Max(info.FreeBytes, 0) / unit,
            (ulong)Math.Max(info.MaxComponentLength, 1),
            info.SerialNumber,
            IsReadOnly);
        return 0;
    }

    /// <summary>The one place an exception from a callback becomes an errno (logged, never rethrown).</summary>
    public int HandleException(string operation, Exception exception)
    {
        int errno = FuseErrno.FromException(exception);
        LogCallbackException(_logger, exception, operation, errno);
        return -errno;
    }

    /// <summary>Closes handles the kernel never released (the connection was aborted).</summary>
    public void Dispose()
    {
        foreach (ulong key in _handles.Keys)
        {
            if (_handles.TryRemove(key, out IVolumeHandle? volumeHandle))
            {
                volumeHandle.Dispose();
            }
        }

        _mappedFiles.Dispose();
    }

    internal FuseAttributes ToAttributes(VolumeNode node) =>
        FuseAttributes.FromNode(node, IsReadOnly, _uid, _gid, _volume.Info.AllocationUnitSize);

    private int CreateNode(string operation, string path, bool directory)
    {
        if (_volume.GetNode(path, out _) == VolumeStatus.Success)
        {
            return Trace(operation, path, -FuseErrno.EEXIST);
        }

        return Modify(operation, path, () => _volume.Create(path, directory));
    }

    private int Modify(string operation, string path, Func<VolumeStatus> change)
    {
        if (IsReadOnly)
        {
            return Trace(operation, path, -FuseErrno.EROFS);
        }

        return Trace(operation, path, FuseErrno.ToResult(change()));
    }

    /// <summary>A failure result: the status' errno, or EIO when the volume said Success but gave nothing back.</summary>
    private static int Fail(VolumeStatus status) =>
        status == VolumeStatus.Success ? -FuseErrno.EIO : FuseErrno.ToResult(status);

    private static void RecordLargest(ref long largest, long value)
    {
        long current = Interlocked.Read(ref largest);
        while (value > current)
        {
            long seen = Interlocked.CompareExchange(ref largest, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private int Trace(string operation, string path, int result)
    {
        LogCallback(_logger, operation, path, result);
        return result;
    }

    private int TraceIo(string operation, long offset, int size, int result)
    {
        LogIo(_logger, operation, offset, size, result);
        return result;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "FUSE {Operation} {Path} -> {Result}")]
    private static partial void LogCallback(ILogger logger, string operation, string path, int result);

    [LoggerMessage(Level = LogLevel.Trace, Message = "FUSE {Operation} offset {Offset} size {Size} -> {Result}")]
    private static partial void LogIo(ILogger logger, string operation, long offset, int size, int result);

    [LoggerMessage(Level = LogLevel.Debug, Message = "FUSE init: protocol {Major}.{Minor}, max_write {MaxWrite}, max_read {MaxRead}, max_background {MaxBackground}")]
    private static partial void LogInit(ILogger logger, uint major, uint minor, uint maxWrite, uint maxRead, uint maxBackground);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Flushing the volume at unmount failed: {Status}")]
    private static partial void LogFlushFailed(ILogger logger, VolumeStatus status);

    [LoggerMessage(Level = LogLevel.Error, Message = "FUSE {Operation} threw; answered -{Errno}")]
    private static partial void LogCallbackException(ILogger logger, Exception exception, string operation, int errno);
}
