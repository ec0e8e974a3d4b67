using AddCowMount.Core.Volume;

namespace AddCowMount.TestSupport;

/// <summary>
/// A small IVolume over byte arrays holding the files and folders a test adds (names case-insensitive, as on
/// Windows): fixed-size files, refusing creation, resizing and (by default) deletion, keeping security descriptors per path, counting flushes and open handles.
/// </summary>
public sealed class FileSetVolume : IVolume
{
    private static readonly DateTime s_time = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
    private readonly Dictionary<string, byte[]> _files = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, byte[]> _security = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _directories = new(StringComparer.OrdinalIgnoreCase) { "/" };
    private readonly Lock _lock = new();

    public FileSetVolume(bool isReadOnly = false) => IsReadOnly = isReadOnly;

    public VolumeInfo Info { get; set; } = new("ADDCOW", "NTFS", 0x1234ABCD, 4 << 20, 0, 512, 4096, 255);

    public bool IsReadOnly { get; }

    public bool AllowDelete { get; set; }

    public int FlushCount;

    public int OpenHandles;

    public int HandlesOpened;

    public Func<VolumeStatus>? FlushBehaviour { get; set; }

    public byte[] AddFile(string path, byte[] content)
    {
        _files[path] = content;
        return content;
    }

    public void AddDirectory(string path) => _directories.Add(path);

    public byte[] Content(string path) => _files[path];

    public VolumeStatus GetNode(string path, out VolumeNode? node)
    {
        lock (_lock)
        {
            if (_files.TryGetValue(path, out var data))
            {
                node = new VolumeNode(Name(path), false, data.Length, false, s_time, s_time, s_time);
                return VolumeStatus.Success;
            }

            if (_directories.Contains(path))
            {
                node = new VolumeNode(Name(path), true, 0, false, s_time, s_time, s_time);
                return VolumeStatus.Success;
            }

            node = null;
            return VolumeStatus.NotFound;
        }
    }

    public VolumeStatus List(string directoryPath, out IReadOnlyList<VolumeNode> entries)
    {
        lock (_lock)
        {
            if (!_directories.Contains(directoryPath))
            {
                entries = [];
                return _files.ContainsKey(directoryPath) ? VolumeStatus.NotADirectory : VolumeStatus.NotFound;
            }

            var prefix = directoryPath == "/" ? "/" : directoryPath + "/";
            var list = new List<VolumeNode>();
            foreach (var path in _files.Keys.Concat(_directories).Where(p => p != directoryPath && p.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && !p[prefix.Length..].Contains('/')))
            {
                GetNode(path, out var node);
                list.Add(node!);
            }

            entries = list;
            return VolumeStatus.Success;
        }
    }

    public VolumeStatus Open(string path, VolumeAccess access, out IVolumeHandle? handle)
    {
        handle = null;
        if (access.HasFlag(VolumeAccess.Write) && IsReadOnly)
        {
            return VolumeStatus.WriteProtected;
        }

        var status = GetNode(path, out var node);
        if (status != VolumeStatus.Success)
        {
            return status;
        }

        if (node!.IsDirectory)
        {
            return VolumeStatus.IsADirectory;
        }

        Interlocked.Increment(ref OpenHandles);
        Interlocked.Increment(ref HandlesOpened);
        handle = new Handle(this, path, node, access);
        return VolumeStatus.Success;
    }

    public VolumeStatus Create(string path, bool directory) => VolumeStatus.NotSupported;

    public VolumeStatus CanDelete(string path)
    {
        var status = GetNode(path, out _);
        return status != VolumeStatus.Success ? status : IsReadOnly ? VolumeStatus.WriteProtected : AllowDelete ? VolumeStatus.Success : VolumeStatus.AccessDenied;
    }

    public VolumeStatus CanWrite(string path)
    {
        var status = GetNode(path, out var node);
        return status != VolumeStatus.Success ? status : IsReadOnly ? VolumeStatus.WriteProtected : node!.IsReadOnly ? VolumeStatus.AccessDenied : VolumeStatus.Success;
    }

    public VolumeStatus Delete(string path)
    {
        if (!AllowDelete)
        {
            return VolumeStatus.AccessDenied;
        }

        lock (_lock)
        {
            return _files.Remove(path) || _directories.Remove(path) ? VolumeStatus.Success : VolumeStatus.NotFound;
        }
    }

    public VolumeStatus Rename(string fromPath, string toPath, bool replaceExisting) => VolumeStatus.NotSupported;

    public VolumeStatus SetLength(string path, long length)
    {
        var status = GetNode(path, out var node);
        return status != VolumeStatus.Success ? status : node!.Length == length ? VolumeStatus.Success : VolumeStatus.NotSupported;
    }

    public VolumeStatus SetTimes(string path, DateTime? creationTimeUtc, DateTime? lastAccessTimeUtc, DateTime? lastWriteTimeUtc)
        => GetNode(path, out _);

    public VolumeStatus GetSecurity(string path, out byte[]? descriptor)
    {
        lock (_lock)
        {
            _security.TryGetValue(path, out descriptor);
            return VolumeStatus.Success;
        }
    }

    public VolumeStatus SetSecurity(string path, byte[] descriptor)
    {
        lock (_lock)
        {
            _security[path] = descriptor;
            return VolumeStatus.Success;
        }
    }

    public VolumeStatus Flush()
    {
        Interlocked.Increment(ref FlushCount);
        return FlushBehaviour?.Invoke() ?? VolumeStatus.Success;
    }

    public void Dispose()
    {
    }

    private static string Name(string path) => path == "/" ? string.Empty : path[(path.LastIndexOf('/') + 1)..];

    private sealed class Handle(FileSetVolume volume, string path, VolumeNode node, VolumeAccess access) : IVolumeHandle
    {
        private bool _disposed;

        public VolumeNode Node { get; } = node;

        public VolumeAccess Access { get; } = access;

        public bool IsDisposed => _disposed;

        public VolumeStatus Read(long offset, Span<byte> buffer, out int bytesRead)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var data = volume._files[path];
            bytesRead = offset >= data.Length ? 0 : (int)Math.Min(buffer.Length, data.Length - offset);
            data.AsSpan((int)offset, bytesRead).CopyTo(buffer);
            return VolumeStatus.Success;
        }

        public VolumeStatus Write(long offset, ReadOnlySpan<byte> data, out int bytesWritten)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            bytesWritten = 0;
            if (!Access.HasFlag(VolumeAccess.Write))
            {
                return VolumeStatus.AccessDenied;
            }

            var target = volume._files[path];
            if (offset + data.Length > target.Length)
            {
                return VolumeStatus.InvalidParameter;
            }

            data.CopyTo(target.AsSpan((int)offset));
            bytesWritten = data.Length;
            return VolumeStatus.Success;
        }

        public VolumeStatus Flush() => volume.Flush();

        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                Interlocked.Decrement(ref volume.OpenHandles);
            }
        }
    }
}
