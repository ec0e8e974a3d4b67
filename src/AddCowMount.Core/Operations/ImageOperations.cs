using System.Buffers;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Format;

namespace AddCowMount.Core.Operations;

/// <summary>Progress of a long operation: bytes done of a total.</summary>
public readonly record struct OperationProgress(long Done, long Total);

/// <summary>Whole-image operations of the CLI: commit, stream, rebase, composed-disk copy.</summary>
public static class ImageOperations
{
    internal const int ChunkSectors = 2048; // 1 MiB
    private const long FlushEveryBytes = 256L * 1024 * 1024;
    private const long ClearPieceSectors = 64L * AllocationBitmap.ChunkBytes * 8; // 64 bitmap chunks

    /// <summary>
    /// Copies every allocated sector into the backing file, makes it durable, and only then clears the
    /// bitmap (persisted and synced). A crash before the clear leaves the data in both layers, so running
    /// commit again is safe. The image must be opened with <see cref="ImageOpenOptions.WritableBacking"/>.
    /// </summary>
    public static long Commit(AddCowImage image, IProgress<OperationProgress>? progress = null, CancellationToken cancel = default)
    {
        ISectorDevice backing = image.Backing ?? throw new AddCowException(AddCowError.BackingNotFound, image.Path,
            $"{image.Path}: has no backing file to commit into");
        if (!backing.IsWritable)
        {
            throw new AddCowException(AddCowError.ReadOnly, backing.Path, $"{backing.Path}: backing file is not open for writing");
        }

        var runs = image.AllocationRuns().Where(r => r.Allocated).ToList();
        long total = runs.Sum(r => r.Count) * ISectorDevice.SectorSize;
        if (backing is RawImage raw)
        {
            raw.EnsureLength(image.Length);
        }
        else if (backing is AddCowImage addCow && addCow.Length < image.Length)
        {
            addCow.Resize(image.Length);
        }

        long done = ForEachChunk(runs, (sector, part) =>
        {
            image.ReadSectors(sector, part);
            backing.WriteSectors(sector, part);
        }, total, progress, cancel);
        backing.Flush();

        // Every bit may go now (the data is durable in the backing file); flushing each 16 GiB of disk keeps the
        // dirty bitmap, which stays in memory until flushed, at 4 MiB however large the disk.
        long clearedSinceFlush = 0;
        foreach ((long start, long count, bool _) in runs)
        {
            for (long s = start; s < start + count;)
            {
                long n = Math.Min(ClearPieceSectors - clearedSinceFlush, start + count - s);
                image.ClearAllocation(s, n);
                s += n;
                clearedSinceFlush += n;
                if (clearedSinceFlush == ClearPieceSectors)
                {
                    image.Flush();
                    clearedSinceFlush = 0;
                }
            }
        }

        image.Flush();
        return done;
    }

    /// <summary>
    /// Copies every still-unallocated sector from the backing chain into the image file and sets its bit,
    /// flushing every 256 MiB: interrupted, it resumes where the last flush left it. Afterwards the image file
    /// alone is the whole disk. Returns the bytes copied.
    /// </summary>
    public static long Stream(AddCowImage image, IProgress<OperationProgress>? progress = null, CancellationToken cancel = default)
    {
        var runs = image.AllocationRuns().Where(r => !r.Allocated).ToList();
        long total = runs.Sum(r => r.Count) * ISectorDevice.SectorSize;
        long sinceFlush = 0;
        long done = ForEachChunk(runs, (sector, part) =>
        {
            image.ReadSectors(sector, part);
            image.PopulateUnallocated(sector, part);
            sinceFlush += part.Length;
            if (sinceFlush >= FlushEveryBytes)
            {
                image.Flush();
                sinceFlush = 0;
            }
        }, total, progress, cancel);
        image.Flush();
        return done;
    }

    /// <summary>
    /// Safe rebase: for every unallocated sector whose content differs between the old and the new backing,
    /// copy the old content into the image first, so the composed disk is unchanged; then rewrite the name.
    /// </summary>
    public static long Rebase(AddCowImage image, string newBackingName, ISectorDevice? newBacking, string? newBackingPath,
        IProgress<OperationProgress>? progress = null, CancellationToken cancel = default)
    {
        var runs = image.AllocationRuns().Where(r => !r.Allocated).ToList();
        long total = runs.Sum(r => r.Count) * ISectorDevice.SectorSize;
        long copied = 0;
        byte[] newData = ArrayPool<byte>.Shared.Rent(ChunkSectors * ISectorDevice.SectorSize);
        try
        {
            ForEachChunk(runs, (sector, oldPart) =>
            {
                Span<byte> newPart = newData.AsSpan(0, oldPart.Length);
                image.ReadSectors(sector, oldPart);
                SectorDevices.ReadOrZeros(newBacking, sector, newPart);
                for (int i = 0; i < oldPart.Length / ISectorDevice.SectorSize; i++)
                {
                    Span<byte> o = oldPart.Slice(i * ISectorDevice.SectorSize, ISectorDevice.SectorSize);
                    if (!o.SequenceEqual(newPart.Slice(i * ISectorDevice.SectorSize, ISectorDevice.SectorSize)))
                    {
                        image.PopulateUnallocated(sector + i, o);
                        copied += ISectorDevice.SectorSize;
                    }
                }
            }, total, progress, cancel);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(newData);
        }

        image.Flush();
        image.SetBackingFile(newBackingName, newBackingPath);
        image.ReplaceBacking(newBacking);
        return copied;
    }

    private delegate void ChunkAction(long sector, Span<byte> part);

    /// <summary>Walks runs of sectors in 1 MiB pieces through one pooled buffer, reporting progress; returns the bytes walked.</summary>
    private static long ForEachChunk(IEnumerable<(long Start, long Count, bool Allocated)> runs, ChunkAction action, long total,
        IProgress<OperationProgress>? progress, CancellationToken cancel)
    {
        long done = 0;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkSectors * ISectorDevice.SectorSize);
        try
        {
            foreach ((long start, long count, bool _) in runs)
            {
                for (long s = start; s < start + count;)
                {
                    cancel.ThrowIfCancellationRequested();
                    int n = (int)Math.Min(ChunkSectors, start + count - s);
                    action(s, buffer.AsSpan(0, n * ISectorDevice.SectorSize));
                    s += n;
                    done += n * ISectorDevice.SectorSize;
                    progress?.Report(new OperationProgress(done, total));
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return done;
    }

    /// <summary>
    /// Copies the composed disk into a new raw file, leaving all-zero blocks as holes (sparse), optionally
    /// followed by a trailer (a fixed VHD footer).
    /// </summary>
    public static void CopyToRaw(ISectorDevice source, string destination, ReadOnlySpan<byte> trailer,
        IProgress<OperationProgress>? progress = null, CancellationToken cancel = default)
        => CopyToContainer(source, destination, [], trailer, 0, progress, cancel);

    /// <summary>
    /// Copies the composed disk into a new file as <paramref name="prefix"/>, the disk, <paramref name="trailer"/>,
    /// then zeros up to <paramref name="fileLength"/> (a fixed VHDX's structure and last-block padding); all-zero
    /// blocks stay holes.
    /// </summary>
    public static void CopyToContainer(ISectorDevice source, string destination, ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> trailer,
        long fileLength, IProgress<OperationProgress>? progress = null, CancellationToken cancel = default)
    {
        long length = source.SectorCount * ISectorDevice.SectorSize;
        long dataOffset = prefix.Length;
        using var handle = File.OpenHandle(destination, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        RandomAccess.SetLength(handle, Math.Max(fileLength, dataOffset + length + trailer.Length));
        for (int at = 0; at < prefix.Length; at += ChunkSectors * ISectorDevice.SectorSize)
        {
            ReadOnlySpan<byte> part = prefix.Slice(at, Math.Min(ChunkSectors * ISectorDevice.SectorSize, prefix.Length - at));
            if (part.ContainsAnyExcept((byte)0))
            {
                RandomAccess.Write(handle, part, at);
            }
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkSectors * ISectorDevice.SectorSize);
        try
        {
            for (long s = 0; s < source.SectorCount;)
            {
                cancel.ThrowIfCancellationRequested();
                int n = (int)Math.Min(ChunkSectors, source.SectorCount - s);
                Span<byte> part = buffer.AsSpan(0, n * ISectorDevice.SectorSize);
                source.ReadSectors(s, part);
                if (part.ContainsAnyExcept((byte)0))
                {
                    RandomAccess.Write(handle, part, dataOffset + (s * ISectorDevice.SectorSize));
                }

                s += n;
                progress?.Report(new OperationProgress(s * ISectorDevice.SectorSize, length));
            }

            if (!trailer.IsEmpty)
            {
                RandomAccess.Write(handle, trailer, dataOffset + length);
            }

            Storage.FileStorage.FlushStrict(handle, destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
