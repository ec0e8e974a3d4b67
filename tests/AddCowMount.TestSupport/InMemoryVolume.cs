using AddCowMount.Core.Volume;

namespace AddCowMount.TestSupport;

/// <summary>
/// A small IVolume over byte arrays: a root with a writable disk image, a read-only text file and a subfolder.
/// It refuses what the real volume refuses (creating, deleting, renaming, resizing) and counts flushes.
/// </summary>
public sealed class InMemoryVolume : IVolume
{
    public const string DiskPath = "/disk.img";
    public const string NotesPath = "/notes.txt";
    public const string ViewsPath = "/views";
    public const string ViewPath = "/views/copy.raw";

    private static readonly DateTime s_created = new(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc);
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.OrdinalIgnoreCase);
    private int _flushCount;
    private int _openHandles;

    public InMemoryVolume(int diskSize = 8 * 1024 * 1024, bool readOnly = false)
    {
        IsReadOnly = readOnly;
        Disk = new byte[diskSize];
        for (int i = 0; i < Disk.Length; i++)
        {
            Disk[i] = (byte)((i * 7) + (i >> 9));
        }

        Notes = "hello from the volume\n"u8.ToArray();
        _entries["/"] = new Entry(null, true, false);
        _entries[DiskPath] = new Entry(Disk, false, false);
        _entries[NotesPath] = new Entry(Notes, false, true);
        _entries[ViewsPath] = new Entry(null, true, false);
        _entries[ViewPath] = new Entry(new byte[4096], false, false);
    }

    public byte[] Disk { get; }

    public byte[] Notes { get; }

    public int FlushCount => Volatile.Read(ref _flushCount);

    /// <summary>Every write that reached the volume: its offset, length and the payload's address modulo 4096 (where the mount's buffer put it).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<(long Offset, int Length, int PageOffset)> Writes { get; } = new();

    public int OpenHandles => Volatile.Read(ref _openHandles);

    public DateTime? LastSetWriteTime { get; private set; }

    public VolumeInfo Info { get; } = new("addcow", "addcowfs", 0x1234ABCD, 64L * 1024 * 1024, 16L * 1024 * 1024, 512, 4096, 255);

    public bool IsReadOnly { get; }

    public VolumeStatus GetNode(string path, out VolumeNode? node)
    {
        node = _entries.TryGetValue(path, out Entry? entry) ? ToNode(path, entry) : null;
        return node is null ? VolumeStatus.NotFound : VolumeStatus.Success;
    }

    public VolumeStatus List(string directoryPath, out IReadOnlyList<VolumeNode> entries)
    {
        entries = [];
        if (!_entries.TryGetValue(directoryPath, out Entry? directory))
        {
            return VolumeStatus.NotFound;
        }

        if (!directory.IsDirectory)
        {
            return VolumeStatus.NotADirectory;
        }

        string prefix = directoryPath.EndsWith('/') ? directoryPath : directoryPath + "/";
        entries = [.. _entries
            .Where(e => e.Key != "/" && e.Key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && !e.Key[prefix.Length..].Contains('/', StringComparison.Ordinal))
            .Select(e => ToNode(e.Key, e.Value))];
        return VolumeStatus.Success;
    }

    public VolumeStatus Open(string path, VolumeAccess access, out IVolumeHandle? handle)
    {
        handle = null;
        if (!_entries.TryGetValue(path, out Entry? entry))
        {
            return VolumeStatus.NotFound;
        }

        if (entry.IsDirectory)
        {
            return VolumeStatus.IsADirectory;
        }

        if ((access & VolumeAccess.Write) != 0)
        {
            if (IsReadOnly)
            {
                return VolumeStatus.WriteProtected;
            }

            if (entry.IsReadOnly)
            {
                return VolumeStatus.AccessDenied;
            }
        }

        Interlocked.Increment(ref _openHandles);
        handle = new Handle(this, ToNode(path, entry), access, entry.Data!);
        return VolumeStatus.Success;
    }

    public VolumeStatus Create(string path, bool directory) =>
        _entries.ContainsKey(path) ? VolumeStatus.AlreadyExists : Refuse();

    public VolumeStatus Delete(string path) => CanDelete(path);

    public VolumeStatus CanDelete(string path) => _entries.ContainsKey(path) ? Refuse() : VolumeStatus.NotFound;

    public VolumeStatus CanWrite(string path) =>
        !_entries.TryGetValue(path, out Entry? entry) ? VolumeStatus.NotFound
        : IsReadOnly ? VolumeStatus.WriteProtected
        : entry.IsReadOnly && !entry.IsDirectory ? VolumeStatus.AccessDenied
        : VolumeStatus.Success;

    public VolumeStatus Rename(string fromPath, string toPath, bool replaceExisting) =>
        _entries.ContainsKey(fromPath) ? Refuse() : VolumeStatus.NotFound;

    public VolumeStatus SetLength(string path, long length)
    {
        if (!_entries.TryGetValue(path, out Entry? entry))
        {
            return VolumeStatus.NotFound;
        }

        if (IsReadOnly)
        {
            return VolumeStatus.WriteProtected;
        }

        return entry.Data is not null && entry.Data.Length == length ? VolumeStatus.Success : VolumeStatus.InvalidParameter;
    }

    public VolumeStatus SetTimes(string path, DateTime? creationTimeUtc, DateTime? lastAccessTimeUtc, DateTime? lastWriteTimeUtc)
    {
        if (!_entries.ContainsKey(path))
        {
            return VolumeStatus.NotFound;
        }

        if (IsReadOnly)
        {
            return VolumeStatus.WriteProtected;
        }

        LastSetWriteTime = lastWriteTimeUtc ?? LastSetWriteTime;
        return VolumeStatus.Success;
    }

    public VolumeStatus GetSecurity(string path, out byte[]? descriptor)
    {
        descriptor = null;
        return VolumeStatus.NotSupported;
    }

    public VolumeStatus SetSecurity(string path, byte[] descriptor) => VolumeStatus.NotSupported;

    public VolumeStatus Flush()
    {
        Interlocked.Increment(ref _flushCount);
        return VolumeStatus.Success;
    }

    public void Dispose()
    {
    }

    private VolumeStatus Refuse() => IsReadOnly ? VolumeStatus.WriteProtected : VolumeStatus.AccessDenied;

    private static VolumeNode ToNode(string path, Entry entry) =>
        new(path == "/" ? "/" : path[(path.LastIndexOf('/') + 1)..], entry.IsDirectory, entry.Data?.Length ?? 0, entry.IsReadOnly, s_created, s_created, s_created);

    private sealed record Entry(byte[]? Data, bool IsDirectory, bool IsReadOnly);

    private sealed class Handle(InMemoryVolume volume, VolumeNode node, VolumeAccess access, byte[] data) : IVolumeHandle
    {
        private int _disposed;

        public VolumeNode Node { get; } = node;

        public VolumeAccess Access { get; } = access;

        public VolumeStatus Read(long offset, Span<byte> buffer, out int bytesRead)
        {
            bytesRead = 0;
            if ((Access & VolumeAccess.Read) == 0)
            {
                return VolumeStatus.AccessDenied;
            }

            if (offset >= data.Length)
            {
                return VolumeStatus.Success;
            }

            bytesRead = (int)Math.Min(buffer.Length, data.Length - offset);
            data.AsSpan((int)offset, bytesRead).CopyTo(buffer);
            return VolumeStatus.Success;
        }

        public VolumeStatus Write(long offset, ReadOnlySpan<byte> bytes, out int bytesWritten)
        {
            bytesWritten = 0;
            if ((Access & VolumeAccess.Write) == 0)
            {
                return VolumeStatus.AccessDenied;
            }

            if (offset + bytes.Length > data.Length)
            {
                return VolumeStatus.DiskFull;
            }

            unsafe
            {
                fixed (byte* payload = bytes)
                {
                    volume.Writes.Enqueue((offset, bytes.Length, (int)((nuint)payload % 4096)));
                }
            }

            bytes.CopyTo(data.AsSpan((int)offset));
            bytesWritten = bytes.Length;
            return VolumeStatus.Success;
        }

        public VolumeStatus Flush() => volume.Flush();

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref volume._openHandles);
            }
        }
    }
}
