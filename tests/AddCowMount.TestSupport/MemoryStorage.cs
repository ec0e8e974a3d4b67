using AddCowMount.Core.Storage;

namespace AddCowMount.TestSupport;

public enum StorageOpKind
{
    Write,
    SetLength,
    Flush,
}

/// <summary>One recorded mutation or flush of one file, in global order.</summary>
public sealed record StorageOp(int Sequence, string Path, StorageOpKind Kind, long Offset, byte[]? Data, long Length);

/// <summary>Where a fault hook is asked: before every operation on every file.</summary>
public readonly record struct FaultPoint(string Path, string Operation, long Offset, int Length);

/// <summary>What the hook wants: nothing, an exception, or a short write (part of the data lands, then the exception).</summary>
public sealed record Fault(Exception Error, int BytesThatLand = 0);

/// <summary>
/// An in-memory <see cref="IStorageProvider"/> that records every write, set-length and flush to each file and
/// can reconstruct the files as they would be after a power loss at any recorded point: everything a flush of that
/// file made durable, plus none (or a chosen subset) of the later unflushed operations. A fault hook can fail any
/// operation. Files are sparse past their stored bytes, so huge lengths cost nothing.
/// </summary>
public sealed class MemoryStorage : IStorageProvider
{
    private readonly Dictionary<string, MemoryFile> _files = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly List<StorageOp> _log = [];
    private Dictionary<string, (byte[] Bytes, long Length)> _baseline = new(StringComparer.Ordinal);
    private bool _recording;

    /// <summary>Asked before each operation; return null to let it happen.</summary>
    public Func<FaultPoint, Fault?>? FaultHook { get; set; }

    /// <summary>Number of writes and set-lengths ever made through opened files (recording or not).</summary>
    public int MutationCount { get; private set; }

    public int LogCount
    {
        get
        {
            lock (_lock)
            {
                return _log.Count;
            }
        }
    }

    public IReadOnlyList<StorageOp> Log => _log;

    public void AddFile(string path, byte[] bytes, long? length = null)
    {
        lock (_lock)
        {
            _files[Path.GetFullPath(path)] = new MemoryFile(bytes, length ?? bytes.Length);
        }
    }

    public byte[] ReadAllBytes(string path, int limit = int.MaxValue)
    {
        lock (_lock)
        {
            MemoryFile file = _files[Path.GetFullPath(path)];
            byte[] result = new byte[Math.Min(file.Length, limit)];
            file.Read(0, result);
            return result;
        }
    }

    public long LengthOf(string path)
    {
        lock (_lock)
        {
            return _files[Path.GetFullPath(path)].Length;
        }
    }

    /// <summary>Takes the current files as durable and starts recording.</summary>
    public void StartRecording()
    {
        lock (_lock)
        {
            _baseline = _files.ToDictionary(p => p.Key, p => (p.Value.Snapshot(), p.Value.Length), StringComparer.Ordinal);
            _log.Clear();
            _recording = true;
        }
    }

    /// <summary>
    /// The files after a power loss once the first <paramref name="point"/> recorded operations happened. Per file:
    /// the baseline, every operation up to its last flush before the point, then the later ones only where
    /// <paramref name="keep"/> says so (null keeps none).
    /// </summary>
    public MemoryStorage Crash(int point, Func<StorageOp, bool>? keep)
    {
        var result = new MemoryStorage();
        lock (_lock)
        {
            var lastFlush = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < point; i++)
            {
                if (_log[i].Kind == StorageOpKind.Flush)
                {
                    lastFlush[_log[i].Path] = i;
                }
            }

            foreach ((string path, (byte[] bytes, long length)) in _baseline)
            {
                result._files[path] = new MemoryFile((byte[])bytes.Clone(), length);
            }

            for (int i = 0; i < point; i++)
            {
                StorageOp op = _log[i];
                bool durable = lastFlush.TryGetValue(op.Path, out int flushed) && i < flushed;
                if (op.Kind == StorageOpKind.Flush || (!durable && (keep is null || !keep(op))))
                {
                    continue;
                }

                MemoryFile file = result._files[op.Path];
                if (op.Kind == StorageOpKind.Write)
                {
                    file.Write(op.Offset, op.Data);
                }
                else
                {
                    file.SetLength(op.Length);
                }
            }
        }

        return result;
    }

    public IStorageFile Open(string path, bool writable, StorageLock lockMode)
    {
        string full = Path.GetFullPath(path);
        lock (_lock)
        {
            if (!_files.TryGetValue(full, out MemoryFile? file))
            {
                throw new FileNotFoundException($"Could not find file '{full}'.", full);
            }

            if (file.IsDirectory)
            {
                throw new UnauthorizedAccessException($"Access to the path '{full}' is denied.");
            }

            return new Handle(this, full, file, writable);
        }
    }

    public IStorageFile CreateNew(string path)
    {
        string full = Path.GetFullPath(path);
        lock (_lock)
        {
            if (_files.ContainsKey(full))
            {
                throw new IOException($"The file '{full}' already exists.");
            }

            var file = new MemoryFile([], 0);
            _files[full] = file;
            return new Handle(this, full, file, writable: true);
        }
    }

    public bool Exists(string path)
    {
        lock (_lock)
        {
            return _files.ContainsKey(Path.GetFullPath(path));
        }
    }

    public void Delete(string path)
    {
        lock (_lock)
        {
            _files.Remove(Path.GetFullPath(path));
        }
    }

    public void Move(string sourcePath, string destinationPath, bool overwrite)
    {
        lock (_lock)
        {
            string from = Path.GetFullPath(sourcePath), to = Path.GetFullPath(destinationPath);
            if (!overwrite && _files.ContainsKey(to))
            {
                throw new IOException($"The file '{to}' already exists.");
            }

            _files[to] = _files[from];
            _files.Remove(from);
        }
    }

    public string IdentityOf(string path) => Path.GetFullPath(path);

    private void Before(string path, string operation, long offset, int length, out Fault? fault)
    {
        fault = FaultHook?.Invoke(new FaultPoint(path, operation, offset, length));
    }

    private void Record(string path, StorageOpKind kind, long offset, byte[]? data, long length)
    {
        if (_recording)
        {
            _log.Add(new StorageOp(_log.Count, path, kind, offset, data, length));
        }
    }

    private sealed class MemoryFile
    {
        private byte[] _bytes;

        public MemoryFile(byte[] bytes, long length)
        {
            _bytes = bytes;
            Length = length;
        }

        public long Length { get; private set; }

        public bool IsDirectory { get; init; }

        public byte[] Snapshot() => _bytes.AsSpan(0, (int)Math.Min(_bytes.Length, Length)).ToArray();

        public int Read(long offset, Span<byte> buffer)
        {
            if (offset >= Length)
            {
                return 0;
            }

            int n = (int)Math.Min(buffer.Length, Length - offset);
            buffer[..n].Clear();
            if (offset < _bytes.Length)
            {
                int stored = (int)Math.Min(n, _bytes.Length - offset);
                _bytes.AsSpan((int)offset, stored).CopyTo(buffer);
            }

            return n;
        }

        public void Write(long offset, ReadOnlySpan<byte> data)
        {
            long end = offset + data.Length;
            if (end > _bytes.Length)
            {
                if (end > 1L << 30)
                {
                    throw new IOException("test storage holds at most 1 GiB of written bytes per file");
                }

                Array.Resize(ref _bytes, (int)Math.Max(end, Math.Min(_bytes.Length * 2L, 1L << 30)));
            }

            data.CopyTo(_bytes.AsSpan((int)offset));
            Length = Math.Max(Length, end);
        }

        public void SetLength(long length)
        {
            if (length < _bytes.Length)
            {
                _bytes.AsSpan((int)length).Clear(); // a later grow reads zeros
            }

            Length = length;
        }
    }

    private sealed class Handle : IStorageFile
    {
        private readonly MemoryStorage _owner;
        private readonly MemoryFile _file;
        private bool _disposed;

        public Handle(MemoryStorage owner, string path, MemoryFile file, bool writable)
        {
            _owner = owner;
            _file = file;
            Path = path;
            CanWrite = writable;
        }

        public string Path { get; }

        public bool CanWrite { get; }

        public long Length
        {
            get
            {
                lock (_owner._lock)
                {
                    return _file.Length;
                }
            }
        }

        public int Read(long offset, Span<byte> buffer)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _owner.Before(Path, "read", offset, buffer.Length, out Fault? fault);
            if (fault is not null)
            {
                throw fault.Error;
            }

            lock (_owner._lock)
            {
                return _file.Read(offset, buffer);
            }
        }

        public void Write(long offset, ReadOnlySpan<byte> data)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!CanWrite)
            {
                throw new UnauthorizedAccessException($"{Path} is open read-only");
            }

            _owner.Before(Path, "write", offset, data.Length, out Fault? fault);
            lock (_owner._lock)
            {
                ReadOnlySpan<byte> landing = fault is null ? data : data[..Math.Min(fault.BytesThatLand, data.Length)];
                if (!landing.IsEmpty)
                {
                    _file.Write(offset, landing);
                    _owner.MutationCount++;
                    _owner.Record(Path, StorageOpKind.Write, offset, landing.ToArray(), 0);
                }
            }

            if (fault is not null)
            {
                throw fault.Error;
            }
        }

        public void SetLength(long length)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!CanWrite)
            {
                throw new UnauthorizedAccessException($"{Path} is open read-only");
            }

            _owner.Before(Path, "setlength", length, 0, out Fault? fault);
            if (fault is not null)
            {
                throw fault.Error;
            }

            lock (_owner._lock)
            {
                _file.SetLength(length);
                _owner.MutationCount++;
                _owner.Record(Path, StorageOpKind.SetLength, 0, null, length);
            }
        }

        public void Flush()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _owner.Before(Path, "flush", 0, 0, out Fault? fault);
            if (fault is not null)
            {
                throw fault.Error;
            }

            lock (_owner._lock)
            {
                _owner.Record(Path, StorageOpKind.Flush, 0, null, 0);
            }
        }

        public void Dispose() => _disposed = true;
    }
}
