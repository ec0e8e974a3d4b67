using AddCowMount.Core.Storage;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Core.Volume;

/// <summary>The I/O part of the volume: opening, reading, writing and flushing the views.</summary>
public sealed partial class VolumeModel
{
    public VolumeStatus Open(string path, VolumeAccess access, out IVolumeHandle? handle)
    {
        handle = null;
        if ((access & ~VolumeAccess.ReadWrite) != 0)
        {
            return VolumeStatus.InvalidParameter;
        }

        if (!TryResolve(path, out var entry, out var status))
        {
            return status;
        }

        if (access.HasFlag(VolumeAccess.Write) && !entry.IsDirectory && CanWrite(path) is var writable && writable != VolumeStatus.Success)
        {
            return writable;
        }

        lock (_openGate)
        {
            if (_closedToNewHandles)
            {
                LogOpenRefusedUnmounting(_logger, entry.Name);
                return VolumeStatus.AccessDenied;
            }

            handle = new VolumeHandle(this, entry, access);
            Interlocked.Increment(ref _openHandles);
        }

        LogOpened(_logger, entry.Name, access);
        return VolumeStatus.Success;
    }

    internal VolumeStatus Read(Entry entry, VolumeAccess access, long offset, Span<byte> buffer, out int bytesRead)
    {
        bytesRead = 0;
        if (entry.View is not { } view)
        {
            return VolumeStatus.IsADirectory;
        }

        if (!access.HasFlag(VolumeAccess.Read))
        {
            return VolumeStatus.AccessDenied;
        }

        if (offset < 0)
        {
            return VolumeStatus.InvalidParameter;
        }

        var count = (int)Math.Clamp(view.Length - offset, 0, buffer.Length);
        if (count == 0)
        {
            return VolumeStatus.Success;
        }

        try
        {
            view.Read(offset, buffer[..count]);
        }
        catch (Exception ex)
        {
            var status = DiskExceptionMapper.ToStatus(ex);
            LogDiskFailed(_logger, "read", entry.Name, status, ex);
            return status;
        }

        bytesRead = count;
        return VolumeStatus.Success;
    }

    /// <summary>The view's answer for a range inside it (<see cref="DiskView.TryMapUnchanging"/>); false for anything <see cref="Read"/> would refuse or cut short.</summary>
    internal bool TryMapRead(Entry entry, VolumeAccess access, long offset, int length, out FileRange range)
    {
        range = default;
        if (entry.View is not { } view || !access.HasFlag(VolumeAccess.Read) || length <= 0 || offset < 0 || offset > view.Length - length)
        {
            return false;
        }

        try
        {
            return view.TryMapUnchanging(offset, length, out range);
        }
        catch (ObjectDisposedException)
        {
            return false; // the disk is closing: Read reports it
        }
    }

    internal VolumeStatus Write(Entry entry, VolumeAccess access, long offset, ReadOnlySpan<byte> data, out int bytesWritten)
    {
        bytesWritten = 0;
        if (entry.View is not { } view)
        {
            return VolumeStatus.IsADirectory;
        }

        if (IsReadOnly)
        {
            return VolumeStatus.WriteProtected;
        }

        if (!access.HasFlag(VolumeAccess.Write))
        {
            return VolumeStatus.AccessDenied;
        }

        if (offset < 0 || offset > view.Length || data.Length > view.Length - offset)
        {
            LogWritePastEnd(_logger, entry.Name, offset, data.Length, view.Length);
            return VolumeStatus.InvalidParameter;
        }

        if (data.IsEmpty)
        {
            return VolumeStatus.Success;
        }

        VolumeStatus status;
        string? reason;
        var touchesDisk = view.WritesDisk(offset, data.Length);
        try
        {
            status = view.Write(offset, data, out reason);
        }
        catch (Exception ex)
        {
            if (touchesDisk)
            {
                // Part of the write may have landed; the next write-back must flush it.
                Volatile.Write(ref _dirty, 1);
            }

            status = DiskExceptionMapper.ToStatus(ex);
            LogDiskFailed(_logger, "write", entry.Name, status, ex);
            return status;
        }

        if (status != VolumeStatus.Success)
        {
            LogWriteRefused(_logger, entry.Name, offset, data.Length, reason ?? status.ToString());
            return status;
        }

        if (touchesDisk)
        {
            Volatile.Write(ref _dirty, 1);
            var now = _timeProvider.GetUtcNow().UtcDateTime;
            foreach (var file in _files)
            {
                if (file.View is { ShowsDiskContent: true })
                {
                    file.Touch(now);
                }
            }
        }

        bytesWritten = data.Length;
        return VolumeStatus.Success;
    }

    internal VolumeStatus FlushDisk(string what)
    {
        try
        {
            _disk.Flush();
            return VolumeStatus.Success;
        }
        catch (Exception ex)
        {
            var status = DiskExceptionMapper.ToStatus(ex);
            LogDiskFailed(_logger, "flush", what, status, ex);
            return status;
        }
    }

    /// <summary>Flushes the disk (always, dirty or not).</summary>
    public VolumeStatus Flush() => FlushDisk("volume");

    /// <summary>
    /// Flushes the disk only when a write reached it since the last successful flush; the mount hosts call
    /// this on a timer (dirty write-back). A failed flush leaves the volume dirty so the next call retries.
    /// </summary>
    public VolumeStatus FlushIfDirty()
    {
        if (Interlocked.Exchange(ref _dirty, 0) == 0)
        {
            return VolumeStatus.Success;
        }

        var status = FlushDisk("write-back");
        if (status != VolumeStatus.Success)
        {
            Volatile.Write(ref _dirty, 1);
        }

        return status;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Write to {File} at {Offset} ({Count} bytes) refused: {Reason}")]
    private static partial void LogWriteRefused(ILogger logger, string file, long offset, int count, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Write to {File} at {Offset} ({Count} bytes) ends past the end of the file ({Length} bytes)")]
    private static partial void LogWritePastEnd(ILogger logger, string file, long offset, int count, long length);

    [LoggerMessage(Level = LogLevel.Trace, Message = "Opened {File} for {Access}")]
    private static partial void LogOpened(ILogger logger, string file, VolumeAccess access);
}
