using System.Buffers.Binary;
using AddCowMount.Core.Alignment;
using AddCowMount.Core.Format;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Core.Volume;

/// <summary>
/// The volume shown for one composed add-cow disk: the root "/" holds NAME.img (the raw disk), NAME.vhd
/// (the disk plus a fixed VHD footer; hidden above 2040 GiB) and NAME.vmdk (a monolithicFlat descriptor
/// pointing at NAME.img). All behaviour lives here; the FUSE and Dokan adapters only translate.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Nothing is thrown to callers: disk exceptions become statuses in <see cref="DiskExceptionMapper"/>.</item>
/// <item>Creating, deleting and renaming are refused with <see cref="VolumeStatus.AccessDenied"/>
/// (<see cref="VolumeStatus.WriteProtected"/> on a read-only mount); creating an existing name gives
/// <see cref="VolumeStatus.AlreadyExists"/>, a missing path <see cref="VolumeStatus.NotFound"/>.</item>
/// <item>Lengths cannot change: <see cref="SetLength"/> succeeds only for the current length.</item>
/// <item>Reads past the end return fewer bytes (0 at or past the end). Writes that end past the end are refused
/// with <see cref="VolumeStatus.InvalidParameter"/>; an adapter that must accept them (Dokan paging I/O)
/// clamps the data first with <see cref="ClampToLength"/>.</item>
/// <item>A write into the VHD footer never reaches the disk: rewriting the same bytes succeeds, any change
/// is refused with <see cref="VolumeStatus.AccessDenied"/> and logged; a write spanning disk and footer is
/// refused whole unless the footer part is unchanged. The VMDK descriptor refuses every write
/// (<see cref="VolumeStatus.AccessDenied"/>).</item>
/// <item>On a read-only mount (asked for, or the disk cannot write) every change is refused with
/// <see cref="VolumeStatus.WriteProtected"/>, including times and security; files are flagged read-only only then.</item>
/// <item>Times and security descriptors are kept in memory for the life of the mount.</item>
/// </list>
/// </remarks>
public sealed partial class VolumeModel : IVolume
{
    /// <summary>Allocation unit reported to the OS; the total size is the views' sizes rounded up to it.</summary>
    public const int AllocationUnit = 4096;

    public const int SectorSize = 512;

    public const int MaxComponentLength = 255;

    public const string FileSystemName = "NTFS";

    private readonly IDisk _disk;
    private readonly ILogger<VolumeModel> _logger;
    private readonly TimeProvider _timeProvider;
    private readonly bool _leaveDiskOpen;
    private readonly Entry _root;
    private readonly Entry[] _files;
    private int _dirty;
    private readonly Lock _openGate = new();
    private int _openHandles;
    private bool _closedToNewHandles;
    private int _disposed;

    public VolumeModel(IDisk disk, VolumeModelOptions options, ILogger<VolumeModel> logger)
    {
        ArgumentNullException.ThrowIfNull(disk);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        var baseName = options.BaseName;
        if (string.IsNullOrWhiteSpace(baseName)
            || baseName.AsSpan().IndexOfAny("/\\\0") >= 0
            || baseName.Length + 5 > MaxComponentLength)
        {
            throw new ArgumentException($"'{baseName}' cannot be the base name of the volume's files.", nameof(options));
        }

        _disk = disk;
        _logger = logger;
        _timeProvider = options.TimeProvider ?? TimeProvider.System;
        _leaveDiskOpen = options.LeaveDiskOpen;
        UniqueId = options.UniqueId;

        IsReadOnly = options.ReadOnly || !disk.CanWrite;
        if (!options.ReadOnly && !disk.CanWrite)
        {
            LogDiskNotWritable(_logger);
        }

        var created = AsUtc(options.CreationTimeUtc);
        var written = AsUtc(options.LastWriteTimeUtc);
        var diskLength = disk.Length;
        _root = new Entry("", view: null, created, written);

        var files = new List<Entry> { new(baseName + ".img", new RawDiskView(baseName + ".img", disk), created, written) };
        if (diskLength > VhdFooter.MaxDiskSize)
        {
            LogViewHidden(_logger, baseName + ".vhd", $"the disk ({diskLength} bytes) is larger than VHD's limit of 2040 GiB");
        }
        else if (diskLength % SectorSize != 0)
        {
            LogViewHidden(_logger, baseName + ".vhd", $"the disk ({diskLength} bytes) is not a whole number of 512-byte sectors");
        }
        else
        {
            var footer = VhdFooter.Create(diskLength, options.UniqueId, created);
            files.Add(new(baseName + ".vhd", new VhdDiskView(baseName + ".vhd", disk, footer), created, written));
        }

        if (diskLength % SectorSize != 0)
        {
            LogViewHidden(_logger, baseName + ".vmdk", $"the disk ({diskLength} bytes) is not a whole number of 512-byte sectors");
        }
        else
        {
            try
            {
                // Always an RW extent: qemu skips every extent that is not RW (block/vmdk.c) and cannot open an
                // RDONLY descriptor at all; on a read-only mount the file system itself refuses the writes.
                var descriptor = VmdkDescriptor.Create(baseName + ".img", diskLength, readOnly: false, options.UniqueId);
                files.Add(new(baseName + ".vmdk", new VmdkDescriptorView(baseName + ".vmdk", descriptor), created, created));
            }
            catch (ArgumentException ex)
            {
                LogViewHidden(_logger, baseName + ".vmdk", ex.Message);
            }
        }

        _files = [.. files];

        long total = 0;
        foreach (var file in _files)
        {
            total += RoundUp(file.View!.Length, AllocationUnit);
        }

        Info = new VolumeInfo(
            options.VolumeLabel,
            FileSystemName,
            SerialNumberFrom(options.UniqueId),
            total,
            FreeBytes: 0,
            SectorSize,
            AllocationUnit,
            MaxComponentLength);
    }

    public VolumeInfo Info { get; }

    public bool IsReadOnly { get; }

    /// <summary>The id given in the options (VHD unique id, VMDK image uuid).</summary>
    public Guid UniqueId { get; }

    /// <summary>Handles opened and not yet closed: a mount with open handles is not unmounted without force.</summary>
    public int OpenHandleCount => Volatile.Read(ref _openHandles);

    internal void HandleClosed() => Interlocked.Decrement(ref _openHandles);

    /// <summary>True when a write reached the disk since the last successful flush.</summary>
    public bool IsDirty => Volatile.Read(ref _dirty) != 0;

    /// <summary>
    /// The number of bytes of a <paramref name="count"/>-byte write at <paramref name="offset"/> that fit in a
    /// file of <paramref name="fileLength"/> bytes (0 at or past the end): for adapters that must accept
    /// writes past the end (Dokan paging I/O) and pass only the part that fits.
    /// </summary>
    public static int ClampToLength(long fileLength, long offset, int count) =>
        offset < 0 || count <= 0 ? 0 : (int)Math.Clamp(fileLength - offset, 0, count);

    public VolumeStatus GetNode(string path, out VolumeNode? node)
    {
        var status = Resolve(path, out var entry);
        node = status == VolumeStatus.Success ? ToNode(entry!) : null;
        return status;
    }

    public VolumeStatus List(string directoryPath, out IReadOnlyList<VolumeNode> entries)
    {
        entries = [];
        var status = Resolve(directoryPath, out var entry);
        if (status != VolumeStatus.Success)
        {
            return status;
        }

        if (!entry!.IsDirectory)
        {
            return VolumeStatus.NotADirectory;
        }

        var nodes = new VolumeNode[_files.Length];
        for (var i = 0; i < _files.Length; i++)
        {
            nodes[i] = ToNode(_files[i]);
        }

        entries = nodes;
        return VolumeStatus.Success;
    }

    public VolumeStatus Open(string path, VolumeAccess access, out IVolumeHandle? handle)
    {
        handle = null;
        if ((access & ~VolumeAccess.ReadWrite) != 0)
        {
            return VolumeStatus.InvalidParameter;
        }

        var status = Resolve(path, out var entry);
        if (status != VolumeStatus.Success)
        {
            return status;
        }

        if (IsReadOnly && access.HasFlag(VolumeAccess.Write) && !entry!.IsDirectory)
        {
            return VolumeStatus.WriteProtected;
        }

        lock (_openGate)
        {
            if (_closedToNewHandles)
            {
                LogOpenRefusedUnmounting(_logger, entry!.Name);
                return VolumeStatus.AccessDenied;
            }

            handle = new VolumeHandle(this, entry!, access);
            Interlocked.Increment(ref _openHandles);
        }

        LogOpened(_logger, entry!.Name, access);
        return VolumeStatus.Success;
    }

    /// <summary>
    /// The volume is about to be unmounted: from now on every open is refused. Unless <paramref name="force"/>d this
    /// happens only when no handle is open (false, with the count, otherwise); one step with the opens, so no file
    /// opened meanwhile is cut off.
    /// </summary>
    public bool TryCloseToNewHandles(bool force, out int openHandles)
    {
        lock (_openGate)
        {
            openHandles = OpenHandleCount;
            if (!force && openHandles > 0)
            {
                return false;
            }

            _closedToNewHandles = true;
            return true;
        }
    }

    public VolumeStatus Create(string path, bool directory)
    {
        if (!TrySplit(path, out var name, out var isRoot))
        {
            return name is null ? VolumeStatus.InvalidParameter : VolumeStatus.NotFound;
        }

        if (isRoot || Find(name!) is not null)
        {
            return VolumeStatus.AlreadyExists;
        }

        return Refusal();
    }

    public VolumeStatus Delete(string path)
    {
        var status = Resolve(path, out _);
        return status != VolumeStatus.Success ? status : Refusal();
    }

    public VolumeStatus Rename(string fromPath, string toPath, bool replaceExisting)
    {
        var status = Resolve(fromPath, out _);
        return status != VolumeStatus.Success ? status : Refusal();
    }

    public VolumeStatus SetLength(string path, long length)
    {
        var status = Resolve(path, out var entry);
        if (status != VolumeStatus.Success)
        {
            return status;
        }

        if (entry!.IsDirectory)
        {
            return VolumeStatus.IsADirectory;
        }

        return length == entry.View!.Length ? VolumeStatus.Success : Refusal();
    }

    public VolumeStatus SetTimes(string path, DateTime? creationTimeUtc, DateTime? lastAccessTimeUtc, DateTime? lastWriteTimeUtc)
    {
        var status = Resolve(path, out var entry);
        if (status != VolumeStatus.Success)
        {
            return status;
        }

        if (IsReadOnly)
        {
            return VolumeStatus.WriteProtected;
        }

        entry!.SetTimes(creationTimeUtc.HasValue ? AsUtc(creationTimeUtc.Value) : null,
            lastAccessTimeUtc.HasValue ? AsUtc(lastAccessTimeUtc.Value) : null,
            lastWriteTimeUtc.HasValue ? AsUtc(lastWriteTimeUtc.Value) : null);
        return VolumeStatus.Success;
    }

    public VolumeStatus GetSecurity(string path, out byte[]? descriptor)
    {
        descriptor = null;
        var status = Resolve(path, out var entry);
        if (status == VolumeStatus.Success)
        {
            descriptor = entry!.GetSecurity();
        }

        return status;
    }

    public VolumeStatus SetSecurity(string path, byte[] descriptor)
    {
        if (descriptor is null)
        {
            return VolumeStatus.InvalidParameter;
        }

        var status = Resolve(path, out var entry);
        if (status != VolumeStatus.Success)
        {
            return status;
        }

        if (IsReadOnly)
        {
            return VolumeStatus.WriteProtected;
        }

        entry!.SetSecurity(descriptor);
        return VolumeStatus.Success;
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

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        FlushIfDirty();
        if (!_leaveDiskOpen)
        {
            try
            {
                _disk.Dispose();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                LogDiskFailed(_logger, "dispose", "", DiskExceptionMapper.ToStatus(ex), ex);
            }
        }
    }

    internal VolumeStatus Read(Entry entry, VolumeAccess access, long offset, Span<byte> buffer, out int bytesRead)
    {
        bytesRead = 0;
        if (entry.IsDirectory)
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

        var view = entry.View!;
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

    internal VolumeStatus Write(Entry entry, VolumeAccess access, long offset, ReadOnlySpan<byte> data, out int bytesWritten)
    {
        bytesWritten = 0;
        if (entry.IsDirectory)
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

        var view = entry.View!;
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
                if (file.View!.ShowsDiskContent)
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

    internal VolumeNode ToNode(Entry entry)
    {
        var (created, accessed, written) = entry.GetTimes();
        return new VolumeNode(
            entry.IsDirectory ? "/" : entry.Name,
            entry.IsDirectory,
            entry.IsDirectory ? 0 : entry.View!.Length,
            IsReadOnly && !entry.IsDirectory,
            created,
            written,
            accessed);
    }

    private VolumeStatus Refusal() => IsReadOnly ? VolumeStatus.WriteProtected : VolumeStatus.AccessDenied;

    private VolumeStatus Resolve(string path, out Entry? entry)
    {
        entry = null;
        if (!TrySplit(path, out var name, out var isRoot))
        {
            return name is null ? VolumeStatus.InvalidParameter : VolumeStatus.NotFound;
        }

        entry = isRoot ? _root : Find(name!);
        return entry is null ? VolumeStatus.NotFound : VolumeStatus.Success;
    }

    /// <summary>
    /// Splits a rooted path ('/' or '\' separated, trailing separator allowed) into the one name under the root.
    /// False with a null name for an invalid path; false with a name for a deeper path (nothing lives deeper).
    /// </summary>
    private bool TrySplit(string path, out string? name, out bool isRoot)
    {
        name = null;
        isRoot = false;
        if (path is null || path.Length == 0 || (path[0] != '/' && path[0] != '\\'))
        {
            return false;
        }

        var rest = path.AsSpan(1).TrimEnd("/\\");
        if (rest.IsEmpty)
        {
            isRoot = true;
            return true;
        }

        var separator = rest.IndexOfAny('/', '\\');
        if (separator >= 0)
        {
            // "/disk.img/x": under a file; anything else deeper does not exist.
            name = rest[..separator].ToString();
            return false;
        }

        name = rest.ToString();
        return true;
    }

    private Entry? Find(string name)
    {
        foreach (var file in _files)
        {
            if (string.Equals(file.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return file;
            }
        }

        return null;
    }

    private static long RoundUp(long value, long unit) => (value + unit - 1) / unit * unit;

    private static DateTime AsUtc(DateTime time) => time.Kind switch
    {
        DateTimeKind.Local => time.ToUniversalTime(),
        DateTimeKind.Unspecified => DateTime.SpecifyKind(time, DateTimeKind.Utc),
        _ => time,
    };

    /// <summary>XOR of the id's four 32-bit words: stable per disk, differs between disks.</summary>
    private static uint SerialNumberFrom(Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes, bigEndian: true, out _);
        return BinaryPrimitives.ReadUInt32BigEndian(bytes)
            ^ BinaryPrimitives.ReadUInt32BigEndian(bytes[4..])
            ^ BinaryPrimitives.ReadUInt32BigEndian(bytes[8..])
            ^ BinaryPrimitives.ReadUInt32BigEndian(bytes[12..]);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Open of {File} refused: the volume is being unmounted")]
    private static partial void LogOpenRefusedUnmounting(ILogger logger, string file);

    [LoggerMessage(Level = LogLevel.Information, Message = "{View} is not shown: {Reason}")]
    private static partial void LogViewHidden(ILogger logger, string view, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The disk cannot be written; the volume is mounted read-only")]
    private static partial void LogDiskNotWritable(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Write to {File} at {Offset} ({Count} bytes) refused: {Reason}")]
    private static partial void LogWriteRefused(ILogger logger, string file, long offset, int count, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Write to {File} at {Offset} ({Count} bytes) ends past the end of the file ({Length} bytes)")]
    private static partial void LogWritePastEnd(ILogger logger, string file, long offset, int count, long length);

    [LoggerMessage(Level = LogLevel.Error, Message = "Disk {Operation} for {File} failed ({Status})")]
    private static partial void LogDiskFailed(ILogger logger, string operation, string file, VolumeStatus status, Exception exception);

    [LoggerMessage(Level = LogLevel.Trace, Message = "Opened {File} for {Access}")]
    private static partial void LogOpened(ILogger logger, string file, VolumeAccess access);
}
