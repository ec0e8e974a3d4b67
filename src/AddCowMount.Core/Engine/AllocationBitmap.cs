using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using AddCowMount.Core.Format;
using AddCowMount.Core.Storage;

namespace AddCowMount.Core.Engine;

/// <summary>
/// The one-bit-per-sector allocation bitmap stored at byte 2068 of the add-cow file: sector s is bit
/// (s &amp; 7) of byte (s &gt;&gt; 3), least significant bit first (the seed's add_cow_set_bit).
/// Loaded lazily in 64 KiB chunks, so a 2 TiB disk (512 MiB of bitmap) opens at once.
/// <para>
/// Memory is bounded: at most <see cref="CacheChunks"/> clean chunks are held (a clock evicts the least recently
/// used; an evicted chunk is simply read again). A chunk with bits changed since the last capture stays held until
/// <see cref="CaptureDirty"/> copies them, and a captured chunk stays held until the next capture: captures run one
/// flush at a time, so by then the previous flush has written its bytes into the file or re-queued them, and a
/// reread can never see the file older than memory. Full walks (<see cref="Runs"/>, <see cref="CountSet"/>) read
/// chunks that are not held through one scratch buffer and never add them to the cache.
/// </para>
/// Bits set in memory are persisted by <see cref="CaptureDirty"/> + <see cref="Persist"/>, which the image calls
/// only after the data they point at is durable. Bit reads are lock-free; bit updates, chunk loads and evictions
/// take one lock.
/// </summary>
internal sealed class AllocationBitmap
{
    internal const int ChunkBytes = 64 * 1024;

    /// <summary>Clean chunks held by default: 16 MiB of bitmap, which covers 64 GiB of disk.</summary>
    internal const int DefaultCacheChunks = 256;

    private const long SectorsPerChunk = ChunkBytes * 8L;

    private readonly IStorageFile _file;
    private readonly Lock _lock = new();
    private readonly HashSet<long> _dirty = [];
    private readonly List<long> _captured = [];
    private Queue<long> _clock = new();
    private ChunkTable _chunks;
    private int _heldChunks;
    private long _chunkReads;

    public AllocationBitmap(IStorageFile file, long sectorCount)
        : this(file, sectorCount, DefaultCacheChunks)
    {
    }

    internal AllocationBitmap(IStorageFile file, long sectorCount, int cacheChunks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cacheChunks, 1);
        _file = file;
        SectorCount = sectorCount;
        CacheChunks = cacheChunks;
        _chunks = new ChunkTable(ChunkCount(sectorCount));
    }

    public long SectorCount { get; private set; }

    public long ByteLength => (SectorCount + 7) / 8;

    /// <summary>How many clean chunks may be held; chunks with unpersisted bits are held beyond it.</summary>
    internal int CacheChunks { get; }

    /// <summary>Chunks held in memory now: memory held is proportional to this, never to the disk size.</summary>
    internal int LoadedChunks => Volatile.Read(ref _heldChunks);

    /// <summary>Chunk reads from the add-cow file so far (cache loads and walk reads).</summary>
    internal long ChunkReads => Interlocked.Read(ref _chunkReads);

    /// <summary>A run of bitmap bytes to persist: their offset in the bitmap and a copy of their content.</summary>
    internal readonly record struct DirtyPiece(long Offset, byte[] Bytes);

    public static byte Mask(long sector) => (byte)(1 << (int)(sector & 7));

    public bool IsSet(long sector)
    {
        Chunk chunk = GetChunk(sector / SectorsPerChunk);
        long inChunk = sector % SectorsPerChunk;
        return (Volatile.Read(ref chunk.Bytes[inChunk >> 3]) & Mask(sector)) != 0;
    }

    /// <summary>Length of the run of sectors starting at <paramref name="sector"/> that share its state, at most <paramref name="max"/>.</summary>
    public long Run(long sector, long max, out bool allocated)
    {
        allocated = IsSet(sector);
        long count = 0;
        while (count < max)
        {
            long s = sector + count;
            long inChunk = s % SectorsPerChunk;
            long limit = Math.Min(SectorsPerChunk, inChunk + (max - count));
            long same = SameState(GetChunk(s / SectorsPerChunk).Bytes, inChunk, limit, allocated);
            count += same;
            if (inChunk + same < limit)
            {
                break;
            }
        }

        // At least the first sector, whose state was read alone: a writer may flip it before the scan.
        return Math.Max(count, Math.Min(1, max));
    }

    /// <summary>Sets the bits of a range; true when any bit changed.</summary>
    public bool SetRange(long sector, long count) => Update(sector, count, set: true);

    /// <summary>Clears the bits of a range; true when any bit changed.</summary>
    public bool ClearRange(long sector, long count) => Update(sector, count, set: false);

    private bool Update(long sector, long count, bool set)
    {
        if (count <= 0)
        {
            return false;
        }

        // Fast check without the lock: already in the wanted state?
        if (Run(sector, count, out bool state) >= count && state == set)
        {
            return false;
        }

        bool changed = false;
        lock (_lock)
        {
            long end = sector + count;
            for (long s = sector; s < end;)
            {
                long chunkIndex = s / SectorsPerChunk;
                Chunk chunk = GetChunkLocked(chunkIndex);
                long chunkEnd = Math.Min(end, (chunkIndex + 1) * SectorsPerChunk);
                int firstByte = int.MaxValue, lastByte = -1;
                for (; s < chunkEnd; s++)
                {
                    int index = (int)((s % SectorsPerChunk) >> 3);
                    byte mask = Mask(s);
                    byte old = chunk.Bytes[index];
                    byte updated = set ? (byte)(old | mask) : (byte)(old & ~mask);
                    if (updated != old)
                    {
                        Volatile.Write(ref chunk.Bytes[index], updated);
                        firstByte = Math.Min(firstByte, index);
                        lastByte = Math.Max(lastByte, index);
                    }
                }

                if (lastByte >= 0)
                {
                    MarkDirtyLocked(chunkIndex, chunk, firstByte, lastByte + 1);
                    changed = true;
                }
            }
        }

        return changed;
    }

    /// <summary>
    /// Copies the bytes changed since the last capture and forgets them; call before making data durable.
    /// The chunks captured stay held until the next capture (see the class remarks).
    /// </summary>
    public List<DirtyPiece> CaptureDirty()
    {
        var pieces = new List<DirtyPiece>();
        lock (_lock)
        {
            foreach (long i in _captured)
            {
                if (_chunks.Get(i) is { } previous)
                {
                    previous.Captured = false;
                }
            }

            _captured.Clear();
            foreach (long i in _dirty.Order())
            {
                Chunk chunk = _chunks.Get(i)!;
                byte[] copy = chunk.Bytes.AsSpan(chunk.DirtyStart, chunk.DirtyEnd - chunk.DirtyStart).ToArray();
                pieces.Add(new DirtyPiece((i * ChunkBytes) + chunk.DirtyStart, copy));
                chunk.DirtyStart = int.MaxValue;
                chunk.DirtyEnd = 0;
                chunk.Captured = true;
                _captured.Add(i);
            }

            _dirty.Clear();
            TrimLocked(keep: -1);
        }

        return pieces;
    }

    /// <summary>Marks captured pieces dirty again after a failed persist, so the next flush retries them.</summary>
    public void Requeue(IEnumerable<DirtyPiece> pieces)
    {
        lock (_lock)
        {
            foreach (DirtyPiece piece in pieces)
            {
                long chunkIndex = piece.Offset / ChunkBytes;
                if (chunkIndex < _chunks.Count && _chunks.Get(chunkIndex) is { } chunk)
                {
                    int start = (int)(piece.Offset % ChunkBytes);
                    MarkDirtyLocked(chunkIndex, chunk, start, Math.Min(ChunkBytes, start + piece.Bytes.Length));
                }
            }
        }
    }

    /// <summary>
    /// Writes captured pieces into the add-cow file. Like the seed's sector-wise bdrv_pwrite, the file grows
    /// to the 512-byte multiple that covers a written byte, so our files match the seed's byte for byte.
    /// </summary>
    public void Persist(IReadOnlyList<DirtyPiece> pieces)
    {
        long fileLength = _file.Length;
        foreach (DirtyPiece piece in pieces)
        {
            long position = AddCowHeader.Length + piece.Offset;
            _file.Write(position, piece.Bytes);
            long covered = RoundUp(position + piece.Bytes.Length, AddCowHeader.SectorSize);
            if (covered > fileLength)
            {
                _file.SetLength(covered);
                fileLength = covered;
            }
        }
    }

    /// <summary>Number of set bits (allocated sectors), counted chunk by chunk without caching what it reads.</summary>
    public long CountSet()
    {
        byte[]? scratch = null;
        try
        {
            long total = 0;
            for (long index = 0, first = 0; first < SectorCount; index++, first += SectorsPerChunk)
            {
                if (PeekChunk(index, ref scratch) is { } bytes)
                {
                    total += CountSetBits(bytes, Math.Min(SectorsPerChunk, SectorCount - first));
                }
            }

            return total;
        }
        finally
        {
            if (scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }
        }
    }

    /// <summary>
    /// Maximal runs of equal state over [from, to), streamed: chunks that are not held are read through one
    /// scratch buffer and not cached, so a walk of any length holds one chunk more than before it.
    /// A consumer may change the bits of a run it was given; later runs are read after it.
    /// </summary>
    public IEnumerable<(long Start, long Count, bool Allocated)> Runs(long from, long to)
    {
        if (from >= to)
        {
            yield break;
        }

        byte[]? scratch = null; // rented on the first chunk that is not held
        try
        {
            long runStart = from;
            bool state = false;
            for (long s = from; s < to;)
            {
                byte[]? bytes = PeekChunk(s / SectorsPerChunk, ref scratch); // null: all zeros
                long inChunk = s % SectorsPerChunk;
                long limit = Math.Min(SectorsPerChunk, inChunk + (to - s));
                while (inChunk < limit)
                {
                    bool bit = bytes is not null && (bytes[inChunk >> 3] & Mask(inChunk)) != 0;
                    if (s == from)
                    {
                        state = bit;
                    }
                    else if (bit != state)
                    {
                        yield return (runStart, s - runStart, state);
                        runStart = s;
                        state = bit;
                    }

                    // At least the sector just read: a writer may flip its bit between the two reads.
                    long same = bytes is null ? limit - inChunk : Math.Max(1, SameState(bytes, inChunk, limit, state));
                    inChunk += same;
                    s += same;
                }
            }

            yield return (runStart, to - runStart, state);
        }
        finally
        {
            if (scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }
        }
    }

    /// <summary>Changes the number of sectors (resize); bits past a new end are cleared in memory.</summary>
    public void Resize(long sectorCount)
    {
        lock (_lock)
        {
            long old = SectorCount;
            if (sectorCount < old)
            {
                // Clear the padding bits of the new last byte so a later grow exposes no stale allocation.
                long padEnd = Math.Min(old, RoundUp(sectorCount, 8));
                for (long s = sectorCount; s < padEnd; s++)
                {
                    long chunkIndex = s / SectorsPerChunk;
                    Chunk chunk = GetChunkLocked(chunkIndex);
                    int index = (int)((s % SectorsPerChunk) >> 3);
                    chunk.Bytes[index] &= (byte)~Mask(s);
                    MarkDirtyLocked(chunkIndex, chunk, index, index + 1);
                }
            }

            else if (sectorCount > old && old % SectorsPerChunk != 0)
            {
                // The chunk holding the old end may keep bits of sectors a shrink cut off (the chunk stays
                // loaded), and the file may hold padding bits in the old last byte (written by another tool):
                // either would make a grown sector claim stale data. Clear them; the partial byte is persisted
                // by the flush that precedes the new size field. The bytes after it are zero in the file (the
                // caller cuts the file at the old end first), so a reread of the chunk agrees.
                long chunkIndex = old / SectorsPerChunk;
                Chunk chunk = GetChunkLocked(chunkIndex);
                int firstPad = (int)(old % SectorsPerChunk);
                int byteIndex = firstPad >> 3;
                if ((firstPad & 7) != 0)
                {
                    chunk.Bytes[byteIndex] &= (byte)((1 << (firstPad & 7)) - 1);
                    MarkDirtyLocked(chunkIndex, chunk, byteIndex, byteIndex + 1);
                    byteIndex++;
                }

                chunk.Bytes.AsSpan(byteIndex).Clear();
            }

            long count = ChunkCount(sectorCount);
            ChunkTable chunks = _chunks.Resized(count, _clock);
            _clock = new Queue<long>(_clock.Where(i => i < count));
            _dirty.RemoveWhere(i => i >= count);
            _captured.RemoveAll(i => i >= count);
            Volatile.Write(ref _heldChunks, _clock.Count);
            SectorCount = sectorCount;
            Volatile.Write(ref _chunks, chunks);
        }
    }

    /// <summary>Sectors from <paramref name="first"/> (inside the chunk) before <paramref name="limit"/> whose bit equals <paramref name="allocated"/>.</summary>
    private static long SameState(byte[] bytes, long first, long limit, bool allocated)
    {
        byte uniform = allocated ? (byte)0xFF : (byte)0x00;
        long s = first;
        while (s < limit)
        {
            if ((s & 7) == 0 && limit - s >= 8)
            {
                // Whole bytes at a time, vectorised.
                int start = (int)(s >> 3);
                int length = (int)((limit - s) >> 3);
                int differs = bytes.AsSpan(start, length).IndexOfAnyExcept(uniform);
                if (differs < 0)
                {
                    s += length * 8L;
                    continue;
                }

                s += differs * 8L;
            }

            if (((Volatile.Read(ref bytes[s >> 3]) & Mask(s)) != 0) != allocated)
            {
                break;
            }

            s++;
        }

        return s - first;
    }

    /// <summary>Set bits among the first <paramref name="sectors"/> bits of a chunk.</summary>
    private static long CountSetBits(byte[] bytes, long sectors)
    {
        int whole = (int)(sectors >> 3);
        ReadOnlySpan<byte> span = bytes.AsSpan(0, whole);
        ReadOnlySpan<ulong> words = MemoryMarshal.Cast<byte, ulong>(span);
        long total = 0;
        foreach (ulong word in words)
        {
            total += BitOperations.PopCount(word);
        }

        foreach (byte b in span[(words.Length * sizeof(ulong))..])
        {
            total += BitOperations.PopCount(b);
        }

        int rest = (int)(sectors & 7);
        if (rest != 0)
        {
            total += BitOperations.PopCount((uint)(bytes[whole] & ((1 << rest) - 1)));
        }

        return total;
    }

    private Chunk GetChunk(long index)
    {
        Chunk? chunk = Volatile.Read(ref _chunks).Get(index);
        if (chunk is null)
        {
            return Load(index);
        }

        if (!chunk.Referenced)
        {
            chunk.Referenced = true;
        }

        return chunk;
    }

    private Chunk GetChunkLocked(long index) => _chunks.Get(index) ?? LoadLocked(index);

    /// <summary>A chunk's bytes for a read-only pass: the held chunk, the file's content in <paramref name="scratch"/> (rented on first use), or null when the chunk is all zeros.</summary>
    private byte[]? PeekChunk(long index, ref byte[]? scratch)
    {
        if (Volatile.Read(ref _chunks).Get(index) is { } held)
        {
            return held.Bytes;
        }

        // Under the lock, so no writer can load this chunk and change it while the file is read.
        lock (_lock)
        {
            if (_chunks.Get(index) is { } loaded)
            {
                return loaded.Bytes;
            }

            if (IsHole(index))
            {
                return null;
            }

            scratch ??= ArrayPool<byte>.Shared.Rent(ChunkBytes);
            ReadChunk(index, scratch);
            return scratch;
        }
    }

    private Chunk Load(long index)
    {
        lock (_lock)
        {
            return LoadLocked(index);
        }
    }

    private Chunk LoadLocked(long index)
    {
        if (_chunks.Get(index) is { } existing)
        {
            return existing;
        }

        var chunk = new Chunk();
        ReadChunk(index, chunk.Bytes);
        _chunks.Set(index, chunk);
        _clock.Enqueue(index);
        Volatile.Write(ref _heldChunks, _heldChunks + 1);
        TrimLocked(keep: index);
        return chunk;
    }

    /// <summary>Reads chunk <paramref name="index"/> from the file into the first <see cref="ChunkBytes"/> of <paramref name="target"/>; padding bits past the last sector are never honoured.</summary>
    private void ReadChunk(long index, byte[] target)
    {
        Span<byte> bytes = target.AsSpan(0, ChunkBytes);
        long offset = index * ChunkBytes;
        int length = (int)Math.Clamp(ByteLength - offset, 0, ChunkBytes);
        int read = 0;
        if (IsHole(index))
        {
            length = 0; // all zeros, nothing to read
        }

        while (read < length)
        {
            int n = _file.Read(AddCowHeader.Length + offset + read, bytes[read..length]);
            if (n <= 0)
            {
                break; // the file is shorter than the bitmap (checked at open; zeros as before)
            }

            read += n;
        }

        bytes[read..].Clear();
        Interlocked.Increment(ref _chunkReads);

        long lastSectorInChunk = Math.Min(SectorCount, (index + 1) * SectorsPerChunk);
        long firstPad = lastSectorInChunk - (index * SectorsPerChunk);
        if (firstPad < SectorsPerChunk && firstPad >= 0)
        {
            int byteIndex = (int)(firstPad >> 3);
            if ((firstPad & 7) != 0)
            {
                bytes[byteIndex] &= (byte)((1 << (int)(firstPad & 7)) - 1);
                byteIndex++;
            }

            bytes[byteIndex..].Clear();
        }
    }

    /// <summary>Whether the file holds nothing but zeros for chunk <paramref name="index"/> (a hole of the sparse add-cow file, or past the bitmap).</summary>
    private bool IsHole(long index)
    {
        long offset = AddCowHeader.Length + (index * ChunkBytes);
        long length = Math.Clamp(ByteLength - (index * ChunkBytes), 0, ChunkBytes);
        return length == 0 || _file.NextDataOffset(offset) >= offset + length;
    }

    private void MarkDirtyLocked(long index, Chunk chunk, int start, int end)
    {
        chunk.DirtyStart = Math.Min(chunk.DirtyStart, start);
        chunk.DirtyEnd = Math.Max(chunk.DirtyEnd, end);
        _dirty.Add(index);
    }

    /// <summary>
    /// Evicts clean chunks, least recently used first (a clock: a chunk read since the hand last passed gets a
    /// second chance), until no more than <see cref="CacheChunks"/> are held or only unevictable ones remain.
    /// </summary>
    private void TrimLocked(long keep)
    {
        for (int visits = 2 * _clock.Count; _heldChunks > CacheChunks && visits > 0; visits--)
        {
            long index = _clock.Dequeue();
            Chunk chunk = _chunks.Get(index)!;
            if (index == keep || chunk.IsDirty || chunk.Captured || chunk.Referenced)
            {
                chunk.Referenced = false;
                _clock.Enqueue(index);
                continue;
            }

            // Lock-free readers holding this chunk keep reading a correct copy: it is clean, so it equals the file.
            _chunks.Remove(index);
            Volatile.Write(ref _heldChunks, _heldChunks - 1);
        }
    }

    private static long ChunkCount(long sectorCount) => (sectorCount + SectorsPerChunk - 1) / SectorsPerChunk;

    internal static long RoundUp(long value, long multiple) => (value + multiple - 1) / multiple * multiple;

    /// <summary>
    /// Held chunks by index, in pages created on first use. A header may claim a 2^60-byte disk: 2^32 chunks,
    /// whose flat slot array would take 32 GiB (and overflowed an array's length) before any data is touched.
    /// Reads are lock-free; <see cref="Set"/> and <see cref="Remove"/> run under the bitmap's lock.
    /// </summary>
    private sealed class ChunkTable
    {
        private const int PageBits = 12;
        private const int PageSize = 1 << PageBits;
        private readonly Chunk?[]?[] _pages;

        public ChunkTable(long count)
        {
            Count = count;
            _pages = new Chunk?[]?[(count + PageSize - 1) >> PageBits];
        }

        public long Count { get; }

        public Chunk? Get(long index)
        {
            Chunk?[]? page = Volatile.Read(ref _pages[index >> PageBits]);
            return page is null ? null : Volatile.Read(ref page[index & (PageSize - 1)]);
        }

        public void Set(long index, Chunk chunk)
        {
            Chunk?[]? page = _pages[index >> PageBits];
            if (page is null)
            {
                page = new Chunk?[PageSize];
                Volatile.Write(ref _pages[index >> PageBits], page);
            }

            Volatile.Write(ref page[index & (PageSize - 1)], chunk);
        }

        public void Remove(long index)
        {
            if (_pages[index >> PageBits] is { } page)
            {
                Volatile.Write(ref page[index & (PageSize - 1)], null);
            }
        }

        /// <summary>A table for a new chunk count holding the given held chunks that still fall inside it.</summary>
        public ChunkTable Resized(long count, IEnumerable<long> held)
        {
            var table = new ChunkTable(count);
            foreach (long index in held)
            {
                if (index < count)
                {
                    table.Set(index, Get(index)!);
                }
            }

            return table;
        }
    }

    private sealed class Chunk
    {
        public readonly byte[] Bytes = new byte[ChunkBytes];
        public int DirtyStart = int.MaxValue;
        public int DirtyEnd;

        /// <summary>Captured by the last flush: its bytes may not be in the file yet.</summary>
        public bool Captured;

        /// <summary>Read since the clock hand last passed.</summary>
        public volatile bool Referenced;

        public bool IsDirty => DirtyEnd > DirtyStart;
    }
}
