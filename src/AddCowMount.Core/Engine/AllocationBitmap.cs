using AddCowMount.Core.Format;
using AddCowMount.Core.Storage;

namespace AddCowMount.Core.Engine;

/// <summary>
/// The one-bit-per-sector allocation bitmap stored at byte 2068 of the add-cow file: sector s is bit
/// (s &amp; 7) of byte (s &gt;&gt; 3), least significant bit first (the seed's add_cow_set_bit).
/// Loaded lazily in 64 KiB chunks, so a 2 TiB disk (512 MiB of bitmap) opens at once and holds memory in
/// proportion to what is touched. Bits set in memory are persisted by <see cref="CaptureDirty"/> +
/// <see cref="Persist"/>, which the image calls only after the data they point at is durable.
/// Bit reads are lock-free; bit updates and chunk loads take one lock.
/// </summary>
internal sealed class AllocationBitmap
{
    internal const int ChunkBytes = 64 * 1024;
    private const long SectorsPerChunk = ChunkBytes * 8L;

    private readonly IStorageFile _file;
    private readonly Lock _lock = new();
    private ChunkTable _chunks;
    private int _loadedChunks;

    public AllocationBitmap(IStorageFile file, long sectorCount)
    {
        _file = file;
        SectorCount = sectorCount;
        _chunks = new ChunkTable(ChunkCount(sectorCount));
    }

    public long SectorCount { get; private set; }

    public long ByteLength => (SectorCount + 7) / 8;

    /// <summary>Chunks read into memory so far: memory held is proportional to this, not to the disk size.</summary>
    internal int LoadedChunks => Volatile.Read(ref _loadedChunks);

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
        long count = 1;
        byte uniform = allocated ? (byte)0xFF : (byte)0x00;
        while (count < max)
        {
            long s = sector + count;
            if ((s & 7) == 0 && max - count >= 8)
            {
                // Whole bytes at a time, vectorised, inside one chunk.
                Chunk chunk = GetChunk(s / SectorsPerChunk);
                int start = (int)((s % SectorsPerChunk) >> 3);
                int limit = (int)Math.Min(ChunkBytes - start, (max - count) >> 3);
                ReadOnlySpan<byte> bytes = chunk.Bytes.AsSpan(start, limit);
                int differs = bytes.IndexOfAnyExcept(uniform);
                int same = differs < 0 ? limit : differs;
                count += same * 8L;
                if (differs < 0)
                {
                    continue;
                }
            }

            if (count >= max || IsSet(sector + count) != allocated)
            {
                break;
            }

            count++;
        }

        return Math.Min(count, max);
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
                Chunk chunk = GetChunk(chunkIndex);
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
                    chunk.MarkDirty(firstByte, lastByte + 1);
                    changed = true;
                }
            }
        }

        return changed;
    }

    /// <summary>Copies the bytes changed since the last capture and forgets them; call before making data durable.</summary>
    public List<DirtyPiece> CaptureDirty()
    {
        var pieces = new List<DirtyPiece>();
        lock (_lock)
        {
            foreach (long i in _chunks.Loaded)
            {
                Chunk chunk = _chunks.Get(i)!;
                if (chunk.DirtyEnd <= chunk.DirtyStart)
                {
                    continue;
                }

                byte[] copy = chunk.Bytes.AsSpan(chunk.DirtyStart, chunk.DirtyEnd - chunk.DirtyStart).ToArray();
                pieces.Add(new DirtyPiece((i * ChunkBytes) + chunk.DirtyStart, copy));
                chunk.DirtyStart = int.MaxValue;
                chunk.DirtyEnd = 0;
            }
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
                    chunk.MarkDirty(start, Math.Min(ChunkBytes, start + piece.Bytes.Length));
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

    /// <summary>Number of set bits (allocated sectors).</summary>
    public long CountSet()
    {
        long total = 0;
        foreach ((long _, long count, bool allocated) in Runs(0, SectorCount))
        {
            if (allocated)
            {
                total += count;
            }
        }

        return total;
    }

    /// <summary>Maximal runs of equal state over [from, to).</summary>
    public IEnumerable<(long Start, long Count, bool Allocated)> Runs(long from, long to)
    {
        long s = from;
        while (s < to)
        {
            long n = Run(s, to - s, out bool allocated);
            yield return (s, n, allocated);
            s += n;
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
                    Chunk chunk = GetChunkLocked(s / SectorsPerChunk);
                    int index = (int)((s % SectorsPerChunk) >> 3);
                    chunk.Bytes[index] &= (byte)~Mask(s);
                    chunk.MarkDirty(index, index + 1);
                }
            }

            else if (sectorCount > old && old % SectorsPerChunk != 0)
            {
                // The chunk holding the old end may keep bits of sectors a shrink cut off (the chunk stays
                // loaded), and the file may hold padding bits in the old last byte (written by another tool):
                // either would make a grown sector claim stale data. Clear them; the partial byte is persisted
                // by the flush that precedes the new size field.
                Chunk chunk = GetChunkLocked(old / SectorsPerChunk);
                int firstPad = (int)(old % SectorsPerChunk);
                int byteIndex = firstPad >> 3;
                if ((firstPad & 7) != 0)
                {
                    chunk.Bytes[byteIndex] &= (byte)((1 << (firstPad & 7)) - 1);
                    chunk.MarkDirty(byteIndex, byteIndex + 1);
                    byteIndex++;
                }

                chunk.Bytes.AsSpan(byteIndex).Clear();
            }

            ChunkTable chunks = _chunks.Resized(ChunkCount(sectorCount));
            SectorCount = sectorCount;
            _chunks = chunks;
        }
    }

    private Chunk GetChunk(long index) => Volatile.Read(ref _chunks).Get(index) ?? Load(index);

    private Chunk GetChunkLocked(long index) => _chunks.Get(index) ?? LoadLocked(index);

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
        long offset = index * ChunkBytes;
        int length = (int)Math.Min(ChunkBytes, ByteLength - offset);
        if (length > 0)
        {
            _file.Read(AddCowHeader.Length + offset, chunk.Bytes.AsSpan(0, length));
        }

        // Padding bits past the last sector are never honoured.
        long lastSectorInChunk = Math.Min(SectorCount, (index + 1) * SectorsPerChunk);
        long firstPad = lastSectorInChunk - (index * SectorsPerChunk);
        if (firstPad < SectorsPerChunk && firstPad >= 0)
        {
            int byteIndex = (int)(firstPad >> 3);
            if ((firstPad & 7) != 0)
            {
                chunk.Bytes[byteIndex] &= (byte)((1 << (int)(firstPad & 7)) - 1);
                byteIndex++;
            }

            chunk.Bytes.AsSpan(byteIndex).Clear();
        }

        _chunks.Set(index, chunk);
        Interlocked.Increment(ref _loadedChunks);
        return chunk;
    }

    private static long ChunkCount(long sectorCount) => (sectorCount + SectorsPerChunk - 1) / SectorsPerChunk;

    internal static long RoundUp(long value, long multiple) => (value + multiple - 1) / multiple * multiple;

    /// <summary>
    /// Loaded chunks by index, in pages created on first use. A header may claim a 2^60-byte disk: 2^32 chunks,
    /// whose flat slot array would take 32 GiB (and overflowed an array's length) before any data is touched.
    /// Reads are lock-free; <see cref="Set"/> runs under the bitmap's lock.
    /// </summary>
    private sealed class ChunkTable
    {
        private const int PageBits = 12;
        private const int PageSize = 1 << PageBits;
        private readonly Chunk?[]?[] _pages;
        private readonly List<long> _loaded = [];

        public ChunkTable(long count)
        {
            Count = count;
            _pages = new Chunk?[]?[(count + PageSize - 1) >> PageBits];
        }

        public long Count { get; }

        /// <summary>Indices of loaded chunks; read under the bitmap's lock.</summary>
        public IReadOnlyList<long> Loaded => _loaded;

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
            _loaded.Add(index);
        }

        /// <summary>A table for a new chunk count holding the loaded chunks that still fall inside it.</summary>
        public ChunkTable Resized(long count)
        {
            var table = new ChunkTable(count);
            foreach (long index in _loaded)
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

        public void MarkDirty(int start, int end)
        {
            DirtyStart = Math.Min(DirtyStart, start);
            DirtyEnd = Math.Max(DirtyEnd, end);
        }
    }
}
