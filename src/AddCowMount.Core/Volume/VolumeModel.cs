using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using AddCowMount.Core.Alignment;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Core.Volume;

/// <summary>
/// The volume shown for one composed add-cow disk: the root "/" holds NAME.img (the raw disk), NAME.vhd
/// (the disk plus a fixed VHD footer; hidden above 2040 GiB), NAME.vhdx (a fixed VHDX in front of the disk,
/// up to 64 TiB) and NAME.vmdk (a monolithicFlat descriptor pointing at NAME.img). All behaviour lives here;
/// the FUSE and Dokan adapters only translate and ask (<see cref="CanWrite"/>, <see cref="CanDelete"/>).
/// </summary>
/// <remarks>
/// The parts: <see cref="VolumeViews"/> decides which views a disk gets, <see cref="VolumePath"/> parses paths,
/// this file answers the file-system questions, <c>VolumeModel.Io.cs</c> moves bytes and flushes.
/// </remarks>
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
/// refused whole unless the footer part is unchanged. The VHDX accepts well-formed header rewrites (kept in a
/// sidecar) and refuses any other structure change with <see cref="VolumeStatus.IoError"/>
/// (<see cref="VhdxDiskView"/>). The VMDK descriptor refuses every write (<see cref="VolumeStatus.AccessDenied"/>).</item>
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

        var created = VolumeViews.AsUtc(options.CreationTimeUtc);
        var written = VolumeViews.AsUtc(options.LastWriteTimeUtc);
        _root = new Entry("", view: null, created, written);
        var (views, hidden) = VolumeViews.Build(disk, options, logger);
        HiddenViews = hidden;
        _files = [.. views.Select(v => new Entry(v.Name, v, created, v.ShowsDiskContent ? written : created))];

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

    /// <summary>Views this disk does not get, with the reason (a disk past 2040 GiB has no NAME.vhd).</summary>
    public IReadOnlyList<HiddenView> HiddenViews { get; }

    /// <summary>The id given in the options (VHD unique id, VHDX Virtual Disk ID, VMDK image uuid).</summary>
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
        node = TryResolve(path, out var entry, out var status) ? ToNode(entry) : null;
        return status;
    }

    public VolumeStatus List(string directoryPath, out IReadOnlyList<VolumeNode> entries)
    {
        entries = [];
        if (!TryResolve(directoryPath, out var entry, out var status))
        {
            return status;
        }

        if (!entry.IsDirectory)
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

    /// <summary>
    /// Whether <paramref name="path"/> can be opened for writing: <see cref="VolumeStatus.WriteProtected"/> on a
    /// read-only mount, otherwise Success (the views refuse what they must per write); the lookup's status for a
    /// missing path. Adapters ask this instead of deciding (FUSE access(W_OK), Dokan CreateFile).
    /// </summary>
    public VolumeStatus CanWrite(string path)
    {
        return !TryResolve(path, out _, out var status) ? status : IsReadOnly ? VolumeStatus.WriteProtected : VolumeStatus.Success;
    }

    /// <summary>
    /// Whether <paramref name="path"/> can be deleted: never (the views are the disk), so
    /// <see cref="VolumeStatus.AccessDenied"/>, <see cref="VolumeStatus.WriteProtected"/> on a read-only mount;
    /// the lookup's status for a missing path. <see cref="Delete"/> gives the same answer.
    /// </summary>
    public VolumeStatus CanDelete(string path)
    {
        return !TryResolve(path, out _, out var status) ? status : Refusal();
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
        var kind = VolumePath.Parse(path, out var name);
        return kind switch
        {
            VolumePath.Kind.Root => VolumeStatus.AlreadyExists,
            VolumePath.Kind.Name => Find(name) is not null ? VolumeStatus.AlreadyExists : Refusal(),
            _ => VolumePath.Missing(kind),
        };
    }

    public VolumeStatus Delete(string path) => CanDelete(path);

    public VolumeStatus Rename(string fromPath, string toPath, bool replaceExisting)
    {
        return !TryResolve(fromPath, out _, out var status) ? status : Refusal();
    }

    public VolumeStatus SetLength(string path, long length)
    {
        if (!TryResolve(path, out var entry, out var status))
        {
            return status;
        }

        if (entry.View is null)
        {
            return VolumeStatus.IsADirectory;
        }

        return length == entry.View.Length ? VolumeStatus.Success : Refusal();
    }

    public VolumeStatus SetTimes(string path, DateTime? creationTimeUtc, DateTime? lastAccessTimeUtc, DateTime? lastWriteTimeUtc)
    {
        if (!TryResolve(path, out var entry, out var status))
        {
            return status;
        }

        if (IsReadOnly)
        {
            return VolumeStatus.WriteProtected;
        }

        entry.SetTimes(creationTimeUtc.HasValue ? VolumeViews.AsUtc(creationTimeUtc.Value) : null,
            lastAccessTimeUtc.HasValue ? VolumeViews.AsUtc(lastAccessTimeUtc.Value) : null,
            lastWriteTimeUtc.HasValue ? VolumeViews.AsUtc(lastWriteTimeUtc.Value) : null);
        return VolumeStatus.Success;
    }

    public VolumeStatus GetSecurity(string path, out byte[]? descriptor)
    {
        descriptor = TryResolve(path, out var entry, out var status) ? entry.GetSecurity() : null;
        return status;
    }

    public VolumeStatus SetSecurity(string path, byte[] descriptor)
    {
        if (descriptor is null)
        {
            return VolumeStatus.InvalidParameter;
        }

        if (!TryResolve(path, out var entry, out var status))
        {
            return status;
        }

        if (IsReadOnly)
        {
            return VolumeStatus.WriteProtected;
        }

        entry.SetSecurity(descriptor);
        return VolumeStatus.Success;
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

    internal VolumeNode ToNode(Entry entry)
    {
        var (created, accessed, written) = entry.GetTimes();
        return new VolumeNode(
            entry.IsDirectory ? "/" : entry.Name,
            entry.IsDirectory,
            entry.View?.Length ?? 0,
            IsReadOnly && !entry.IsDirectory,
            created,
            written,
            accessed);
    }

    private VolumeStatus Refusal() => IsReadOnly ? VolumeStatus.WriteProtected : VolumeStatus.AccessDenied;

    /// <summary>The entry at <paramref name="path"/> (status Success), or false with NotFound / InvalidParameter.</summary>
    private bool TryResolve(string path, [NotNullWhen(true)] out Entry? entry, out VolumeStatus status)
    {
        var kind = VolumePath.Parse(path, out var name);
        entry = kind switch
        {
            VolumePath.Kind.Root => _root,
            VolumePath.Kind.Name => Find(name),
            _ => null,
        };
        status = entry is not null ? VolumeStatus.Success : VolumePath.Missing(kind);
        return entry is not null;
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

    [LoggerMessage(Level = LogLevel.Information, Message = "The disk cannot be written; the volume is mounted read-only")]
    private static partial void LogDiskNotWritable(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Disk {Operation} for {File} failed ({Status})")]
    private static partial void LogDiskFailed(ILogger logger, string operation, string file, VolumeStatus status, Exception exception);
}
