using AddCowMount.Core.Alignment;

namespace AddCowMount.Core.Tests.Volume;

/// <summary>
/// An in-memory <see cref="IDisk"/>: sparse 64 KiB chunks (so a 3 TiB disk costs nothing until written),
/// counters for flushes and writes, and a hook to fail the next operations with a chosen exception.
/// </summary>
internal sealed class MemoryDisk : IDisk
{
    private const int ChunkSize = 64 * 1024;
    private readonly Dictionary<long, byte[]> _chunks = [];
    private readonly Lock _lock = new();

    public MemoryDisk(long length, bool canWrite = true)
    {
        Length = length;
        CanWrite = canWrite;
    }

    public long Length { get; }

    public bool CanWrite { get; }

    public int FlushCount { get; private set; }

    public int WriteCount { get; private set; }

    public bool IsDisposed { get; private set; }

    /// <summary>When set, Read, Write and Flush throw what it returns (and do nothing else).</summary>
    public Func<Exception>? Failure { get; set; }

    public static MemoryDisk WithPattern(long length, int seed = 1)
    {
        var disk = new MemoryDisk(length);
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        disk.Write(0, bytes);
        disk.WriteCount = 0;
        return disk;
    }

    public void Read(long offset, Span<byte> buffer)
    {
        ThrowIfFailing();
        CheckRange(offset, buffer.Length);
        lock (_lock)
        {
            while (!buffer.IsEmpty)
            {
                var index = offset / ChunkSize;
                var inChunk = (int)(offset % ChunkSize);
                var count = Math.Min(buffer.Length, ChunkSize - inChunk);
                if (_chunks.TryGetValue(index, out var chunk))
                {
                    chunk.AsSpan(inChunk, count).CopyTo(buffer);
                }
                else
                {
                    buffer[..count].Clear();
                }

                buffer = buffer[count..];
                offset += count;
            }
        }
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        ThrowIfFailing();
        if (!CanWrite)
        {
            throw new UnauthorizedAccessException("read-only disk");
        }

        CheckRange(offset, data.Length);
        lock (_lock)
        {
            WriteCount++;
            while (!data.IsEmpty)
            {
                var index = offset / ChunkSize;
                var inChunk = (int)(offset % ChunkSize);
                var count = Math.Min(data.Length, ChunkSize - inChunk);
                if (!_chunks.TryGetValue(index, out var chunk))
                {
                    chunk = new byte[ChunkSize];
                    _chunks.Add(index, chunk);
                }

                data[..count].CopyTo(chunk.AsSpan(inChunk));
                data = data[count..];
                offset += count;
            }
        }
    }

    public void Flush()
    {
        ThrowIfFailing();
        lock (_lock)
        {
            FlushCount++;
        }
    }

    public byte[] ReadAll()
    {
        var bytes = new byte[Length];
        Read(0, bytes);
        return bytes;
    }

    public void Dispose() => IsDisposed = true;

    private void ThrowIfFailing()
    {
        if (Failure is { } failure)
        {
            throw failure();
        }
    }

    private void CheckRange(long offset, int count)
    {
        if (offset < 0 || count < 0 || offset > Length - count)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"{offset}+{count} outside disk of {Length} bytes");
        }
    }
}
