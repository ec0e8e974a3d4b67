using AddCowMount.Core.Volume;
using AddCowMount.Mount.Windows.Security;
using AddCowMount.Mount.Windows.Status;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Mount.Windows.Operations;

/// <summary>
/// Everything a Windows mount decides, one method per Dokan callback, in platform-neutral types: paths are
/// volume paths ("/disk.vhd"), results are NTSTATUS numbers (<see cref="NtStatusCodes"/>). The DokanNet adapter
/// converts its arguments, calls one method here inside its single catch, and converts back.
/// Methods may throw; the adapter's catch sends every exception through <see cref="HandleException"/>.
/// </summary>
public sealed partial class WindowsFileSystem
{
    /// <summary>FILE_CASE_PRESERVED_NAMES | FILE_UNICODE_ON_DISK | FILE_PERSISTENT_ACLS.</summary>
    public const uint BaseFeatures = 0x2 | 0x4 | 0x8;

    /// <summary>FILE_READ_ONLY_VOLUME.</summary>
    public const uint ReadOnlyVolumeFeature = 0x0008_0000;

    /// <summary>What the volume calls itself to Windows: Hyper-V attaches virtual disks only from NTFS/ReFS volumes.</summary>
    public const string FileSystemName = "NTFS";

    private readonly IVolume _volume;
    private readonly string _ownerSid;
    private readonly ILogger _logger;

    /// <param name="volume">The volume to expose.</param>
    /// <param name="ownerSid">SID of the mounting user ("S-1-5-21-..."): owner of the default security descriptors.</param>
    /// <param name="logger">Callback failures and refused deletions are logged here.</param>
    public WindowsFileSystem(IVolume volume, string ownerSid, ILogger<WindowsFileSystem> logger)
    {
        ArgumentNullException.ThrowIfNull(volume);
        ArgumentNullException.ThrowIfNull(logger);
        _ = Sid.Parse(ownerSid);
        _volume = volume;
        _ownerSid = ownerSid;
        _logger = logger;
    }

    public IVolume Volume => _volume;

    /// <summary>The one exception path of every callback: log and map (see <see cref="NtStatusMapper.FromException"/>).</summary>
    public uint HandleException(string operation, string? path, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var status = NtStatusMapper.FromException(exception);
        try
        {
            LogCallbackFailed(_logger, operation, path ?? string.Empty, status, exception);
        }
        catch (Exception)
        {
            // Logging must not turn a mapped failure into an exception in native code.
        }

        return status;
    }

    public uint CreateFile(string path, uint desiredAccess, FileMode mode, bool directoryRequested, out DokanFileContext? context, out bool isDirectory)
    {
        context = null;
        isDirectory = false;
        var created = false;
        var status = _volume.GetNode(path, out var node);
        if (status == VolumeStatus.NotFound || (status == VolumeStatus.Success && node is null))
        {
            if (mode is FileMode.Open or FileMode.Truncate or FileMode.Append)
            {
                return NtStatusCodes.ObjectNameNotFound;
            }

            if (_volume.IsReadOnly)
            {
                return NtStatusCodes.MediaWriteProtected;
            }

            status = _volume.Create(path, directoryRequested);
            if (status != VolumeStatus.Success)
            {
                return NtStatusMapper.FromVolumeStatus(status);
            }

            created = true;
            status = _volume.GetNode(path, out node);
        }

        if (status != VolumeStatus.Success || node is null)
        {
            return MapMissing(status);
        }

        if (mode == FileMode.CreateNew && !created)
        {
            return NtStatusCodes.ObjectNameCollision;
        }

        if (node.IsDirectory)
        {
            if (mode is FileMode.Create or FileMode.Truncate)
            {
                return NtStatusCodes.AccessDenied;
            }

            context = new DokanFileContext(path, isDirectory: true, handle: null);
            isDirectory = true;
            return NtStatusCodes.Success;
        }

        if (directoryRequested)
        {
            return NtStatusCodes.NotADirectory;
        }

        if (!created && mode is FileMode.Create or FileMode.Truncate)
        {
            // Overwriting or truncating would change the size of a disk image: refused like SetEndOfFile.
            return _volume.IsReadOnly ? NtStatusCodes.MediaWriteProtected : NtStatusCodes.AccessDenied;
        }

        var request = FileAccessRights.ToVolumeAccess(desiredAccess);
        IVolumeHandle? handle = null;
        if (request.NeedsData)
        {
            if (request.Access.HasFlag(VolumeAccess.Write) && _volume.CanWrite(path) is var writable && writable != VolumeStatus.Success)
            {
                return Map(writable);
            }

            status = _volume.Open(path, request.Access, out handle);
            if (status != VolumeStatus.Success || handle is null)
            {
                return MapMissing(status);
            }
        }

        context = new DokanFileContext(path, isDirectory: false, handle);

        // Dokan turns a collision on an "open if" into success with ERROR_ALREADY_EXISTS for the caller.
        return mode == FileMode.OpenOrCreate && !created ? NtStatusCodes.ObjectNameCollision : NtStatusCodes.Success;
    }

    /// <summary>Last handle closed. A delete marked with DeleteFile/DeleteDirectory happens now.</summary>
    public void Cleanup(string path, DokanFileContext? context, bool deletePending)
    {
        if (!deletePending)
        {
            return;
        }

        // The data handle goes first so the volume does not see the file as open while deleting it.
        context?.Dispose();
        var status = _volume.Delete(path);
        if (status != VolumeStatus.Success)
        {
            LogDeleteFailed(_logger, path, status);
        }
    }

    /// <summary>The handle is gone for good: release the per-handle state.</summary>
    public static void CloseFile(DokanFileContext? context) => context?.Dispose();

    public uint ReadFile(string path, DokanFileContext? context, long offset, Span<byte> buffer, out int bytesRead)
    {
        bytesRead = 0;
        if (offset < 0)
        {
            return NtStatusCodes.InvalidParameter;
        }

        return WithContext(path, context, VolumeAccess.Read, (IVolumeHandle handle, ref int read, Span<byte> target) =>
        {
            while (read < target.Length)
            {
                var status = handle.Read(offset + read, target[read..], out var n);
                if (status != VolumeStatus.Success)
                {
                    return Map(status);
                }

                if (n <= 0)
                {
                    break;
                }

                read += n;
            }

            return NtStatusCodes.Success;
        }, buffer, out bytesRead);
    }

    /// <param name="pagingIo">Write from the cache manager or memory manager: clamped to the end of the file (those round up to pages).</param>
    /// <param name="writeToEndOfFile">Append: the data would start at the end of the file, so it cannot fit.</param>
    public uint WriteFile(string path, DokanFileContext? context, long offset, ReadOnlySpan<byte> data, bool pagingIo, bool writeToEndOfFile, out int bytesWritten)
    {
        bytesWritten = 0;
        if (offset < 0 && !writeToEndOfFile)
        {
            return NtStatusCodes.InvalidParameter;
        }

        if (_volume.IsReadOnly)
        {
            return NtStatusCodes.MediaWriteProtected;
        }

        var owned = context is null;
        if (context is null)
        {
            context = OpenTransient(path, out var openStatus);
            if (context is null)
            {
                return openStatus;
            }
        }

        try
        {
            if (context.IsDirectory)
            {
                return NtStatusCodes.InvalidDeviceRequest;
            }

            var status = context.EnsureHandle(_volume, VolumeAccess.Write, out var handle);
            if (status != VolumeStatus.Success || handle is null)
            {
                return Map(status);
            }

            var length = handle.Node.Length;
            if (writeToEndOfFile)
            {
                offset = length;
            }

            var count = data.Length;
            if (pagingIo)
            {
                count = offset >= length ? 0 : (int)Math.Min(count, length - offset);
            }
            else if (offset > length - count)
            {
                // The file cannot grow: the disk's size is fixed by the image.
                return NtStatusCodes.DiskFull;
            }

            var written = 0;
            while (written < count)
            {
                status = handle.Write(offset + written, data[written..count], out var n);
                if (status != VolumeStatus.Success)
                {
                    bytesWritten = written;
                    return Map(status);
                }

                if (n <= 0)
                {
                    bytesWritten = written;
                    return NtStatusCodes.IoDeviceError;
                }

                written += n;
            }

            bytesWritten = pagingIo ? data.Length : written;
            return NtStatusCodes.Success;
        }
        finally
        {
            if (owned)
            {
                context.Dispose();
            }
        }
    }

    /// <summary>
    /// Durable flush (the volume's Flush, not a cache drain). <paramref name="keepAlive"/> is Dokan's
    /// TryResetTimeout, called every <paramref name="keepAliveInterval"/> while the flush runs.
    /// </summary>
    public uint FlushFileBuffers(DokanFileContext? context, Func<bool> keepAlive, TimeSpan keepAliveInterval)
    {
        var handle = context?.Handle;
        var status = FlushKeepAlive.Run(() => handle is null ? _volume.Flush() : handle.Flush(), keepAlive, keepAliveInterval);
        return Map(status);
    }

    public uint GetFileInformation(string path, out FileEntry entry)
    {
        entry = default;
        var status = _volume.GetNode(path, out var node);
        if (status != VolumeStatus.Success || node is null)
        {
            return Map(status == VolumeStatus.Success ? VolumeStatus.NotFound : status);
        }

        entry = FileEntry.From(node, _volume.IsReadOnly);
        return NtStatusCodes.Success;
    }

    /// <summary>Directory listing (Dokan matches search patterns itself: FindFilesWithPattern is not implemented).</summary>
    public uint FindFiles(string path, out IReadOnlyList<FileEntry> entries)
    {
        entries = [];
        var status = _volume.List(path, out var nodes);
        if (status != VolumeStatus.Success)
        {
            return Map(status);
        }

        var result = new FileEntry[nodes.Count];
        for (var i = 0; i < nodes.Count; i++)
        {
            result[i] = FileEntry.From(nodes[i], _volume.IsReadOnly);
        }

        entries = result;
        return NtStatusCodes.Success;
    }

    /// <summary>Attributes are derived from the volume (never read-only, sparse or compressed); requests to change them are accepted and ignored.</summary>
    public uint SetFileAttributes(string path) => GetFileInformation(path, out _);

    public uint SetFileTime(string path, DateTime? creationTimeUtc, DateTime? lastAccessTimeUtc, DateTime? lastWriteTimeUtc)
        => Map(_volume.SetTimes(path, creationTimeUtc, lastAccessTimeUtc, lastWriteTimeUtc));

    /// <summary>Can the file be deleted? The delete itself happens in <see cref="Cleanup"/>.</summary>
    public uint DeleteFile(string path)
    {
        var status = _volume.GetNode(path, out var node);
        if (status != VolumeStatus.Success || node is null)
        {
            return Map(status == VolumeStatus.Success ? VolumeStatus.NotFound : status);
        }

        if (node.IsDirectory)
        {
            return NtStatusCodes.FileIsADirectory;
        }

        // Success here makes Windows report the delete as done: only the volume knows whether it will be.
        return Map(_volume.CanDelete(path));
    }

    /// <summary>Can the directory be deleted (it must be empty)? The delete itself happens in <see cref="Cleanup"/>.</summary>
    public uint DeleteDirectory(string path)
    {
        if (path == "/")
        {
            return NtStatusCodes.AccessDenied;
        }

        var status = _volume.List(path, out var entries);
        if (status != VolumeStatus.Success)
        {
            return Map(status);
        }

        if (entries.Count > 0)
        {
            return NtStatusCodes.DirectoryNotEmpty;
        }

        return Map(_volume.CanDelete(path));
    }

    public uint MoveFile(string fromPath, string toPath, bool replace)
        => _volume.IsReadOnly ? NtStatusCodes.MediaWriteProtected : Map(_volume.Rename(fromPath, toPath, replace));

    /// <summary>Only the current size is accepted; any other goes to the volume, which refuses size changes.</summary>
    public uint SetEndOfFile(string path, long length)
    {
        var status = _volume.GetNode(path, out var node);
        if (status != VolumeStatus.Success || node is null)
        {
            return Map(status == VolumeStatus.Success ? VolumeStatus.NotFound : status);
        }

        if (node.IsDirectory)
        {
            return NtStatusCodes.FileIsADirectory;
        }

        if (length == node.Length)
        {
            return NtStatusCodes.Success;
        }

        if (_volume.IsReadOnly)
        {
            return NtStatusCodes.MediaWriteProtected;
        }

        status = _volume.SetLength(path, length);
        if (status == VolumeStatus.Success)
        {
            // The IVolume contract says only the current size succeeds; a volume that claims otherwise is not trusted.
            return _volume.GetNode(path, out var after) == VolumeStatus.Success && after?.Length == length
                ? NtStatusCodes.Success
                : NtStatusCodes.NotSupported;
        }

        return Map(status);
    }

    /// <summary>Same rule as <see cref="SetEndOfFile"/>: the allocation must stay the current size.</summary>
    public uint SetAllocationSize(string path, long length) => SetEndOfFile(path, length);

    public uint GetDiskFreeSpace(out long freeBytesAvailable, out long totalNumberOfBytes, out long totalNumberOfFreeBytes)
    {
        var info = _volume.Info;
        freeBytesAvailable = info.FreeBytes;
        totalNumberOfBytes = info.TotalBytes;
        totalNumberOfFreeBytes = info.FreeBytes;
        return NtStatusCodes.Success;
    }

    public VolumeDescription GetVolumeInformation()
    {
        var info = _volume.Info;
        var features = BaseFeatures | (_volume.IsReadOnly ? ReadOnlyVolumeFeature : 0);
        return new VolumeDescription(info.Label, FileSystemName, features, (uint)Math.Max(0, info.MaxComponentLength), info.SerialNumber);
    }

    /// <summary>The node's descriptor (the default one until someone sets it), reduced to <paramref name="sections"/>.</summary>
    public uint GetFileSecurity(string path, SecurityInformation sections, out byte[]? descriptor)
    {
        descriptor = null;
        var status = CurrentSecurity(path, out var current);
        if (status != NtStatusCodes.Success)
        {
            return status;
        }

        descriptor = current!.Select(sections).ToBytes();
        return NtStatusCodes.Success;
    }

    /// <summary>Replaces the <paramref name="sections"/> of the node's descriptor with those of <paramref name="update"/> and keeps the rest.</summary>
    public uint SetFileSecurity(string path, ReadOnlySpan<byte> update, SecurityInformation sections)
    {
        var incoming = SecurityDescriptor.Parse(update);
        var status = CurrentSecurity(path, out var current);
        if (status != NtStatusCodes.Success)
        {
            return status;
        }

        return Map(_volume.SetSecurity(path, current!.Merge(incoming, sections).ToBytes()));
    }

    /// <summary>Security descriptor given to the volume itself (DOKAN_OPTIONS.VolumeSecurityDescriptor).</summary>
    public byte[] VolumeSecurityDescriptor() => SecurityDescriptor.CreateDefault(_ownerSid, isDirectory: true).ToBytes();

    private uint CurrentSecurity(string path, out SecurityDescriptor? descriptor)
    {
        descriptor = null;
        var status = _volume.GetNode(path, out var node);
        if (status != VolumeStatus.Success || node is null)
        {
            return Map(status == VolumeStatus.Success ? VolumeStatus.NotFound : status);
        }

        status = _volume.GetSecurity(path, out var stored);
        if (status != VolumeStatus.Success)
        {
            return Map(status);
        }

        descriptor = stored is null
            ? SecurityDescriptor.CreateDefault(_ownerSid, node.IsDirectory)
            : SecurityDescriptor.Parse(stored);
        return NtStatusCodes.Success;
    }

    private delegate uint HandleAction(IVolumeHandle handle, ref int count, Span<byte> buffer);

    private uint WithContext(string path, DokanFileContext? context, VolumeAccess access, HandleAction action, Span<byte> buffer, out int count)
    {
        count = 0;
        var owned = context is null;
        if (context is null)
        {
            context = OpenTransient(path, out var openStatus);
            if (context is null)
            {
                return openStatus;
            }
        }

        try
        {
            if (context.IsDirectory)
            {
                return NtStatusCodes.InvalidDeviceRequest;
            }

            var status = context.EnsureHandle(_volume, access, out var handle);
            if (status != VolumeStatus.Success || handle is null)
            {
                return Map(status);
            }

            return action(handle, ref count, buffer);
        }
        finally
        {
            if (owned)
            {
                context.Dispose();
            }
        }
    }

    /// <summary>A context for a call that arrives without one (Dokan passes none if CreateFile did not set it).</summary>
    private DokanFileContext? OpenTransient(string path, out uint status)
    {
        var nodeStatus = _volume.GetNode(path, out var node);
        if (nodeStatus != VolumeStatus.Success || node is null)
        {
            status = Map(nodeStatus == VolumeStatus.Success ? VolumeStatus.NotFound : nodeStatus);
            return null;
        }

        status = NtStatusCodes.Success;
        return new DokanFileContext(path, node.IsDirectory, handle: null);
    }

    private static uint Map(VolumeStatus status) => NtStatusMapper.FromVolumeStatus(status);

    /// <summary>For a call that "succeeded" without giving what it promised (a node, a handle).</summary>
    private static uint MapMissing(VolumeStatus status) => NtStatusMapper.FromVolumeStatus(status == VolumeStatus.Success ? VolumeStatus.IoError : status);

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "Dokan {Operation} on '{Path}' failed with NTSTATUS 0x{Status:X8}")]
    private static partial void LogCallbackFailed(ILogger logger, string operation, string path, uint status, Exception exception);

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "Deleting '{Path}' was refused by the volume: {Status}")]
    private static partial void LogDeleteFailed(ILogger logger, string path, VolumeStatus status);
}
