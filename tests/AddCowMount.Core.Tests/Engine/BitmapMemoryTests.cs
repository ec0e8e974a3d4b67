using AddCowMount.Core.Diagnostics;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Format;
using AddCowMount.Core.Storage;

namespace AddCowMount.Core.Tests.Engine;

/// <summary>
/// Bitmap memory is bounded by the cache, not by the disk: full walks (count, runs, map) stream through one
/// scratch chunk, reads of the whole disk keep at most the cache's worth of clean chunks, and dirty or captured
/// chunks are never dropped before their bytes are in the file. Asserted by chunks held and bytes allocated,
/// never by time.
/// </summary>
[TestClass]
public sealed class BitmapMemoryTests
{
    private const long TwoTiB = 2L << 40;
    private const long SectorsPerChunk = AllocationBitmap.ChunkBytes * 8L;
    private const long TwoTiBChunks = TwoTiB / 512 / SectorsPerChunk; // 8192 chunks = 512 MiB of bitmap

    /// <summary>Sectors written across the 2 TiB disk: one run in every 64th chunk, plus both ends.</summary>
    private static readonly long[] WrittenSectors =
        [0, .. Enumerable.Range(1, 127).Select(i => (i * 64 * SectorsPerChunk) + 1000), (TwoTiB / 512) - 8];

    [TestMethod]
    public void FullWalks_Of2TiBOverlay_HoldNoChunkAndAllocateUnderOneMiB()
    {
        using var temp = new TempDirectory();
        string path = Make2TiBOverlay(temp);
        using AddCowImage image = AddCowImage.Open(path);

        long before = GC.GetAllocatedBytesForCurrentThread();
        long allocatedSectors = image.AllocatedSectors;
        long countAllocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.AreEqual(WrittenSectors.Length * 8L, allocatedSectors);
        Assert.AreEqual(0, image.LoadedBitmapChunks, "counting bits cached the chunks it read");
        Assert.IsLessThan(1L << 20, countAllocated, $"counting the bits of a 512 MiB bitmap allocated {countAllocated} bytes");

        before = GC.GetAllocatedBytesForCurrentThread();
        int runs = 0, maxHeld = 0;
        long allocatedInRuns = 0;
        foreach ((long _, long count, bool allocated) in image.AllocationRuns())
        {
            runs++;
            allocatedInRuns += allocated ? count : 0;
            maxHeld = Math.Max(maxHeld, image.LoadedBitmapChunks);
        }

        long walkAllocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.AreEqual((2 * WrittenSectors.Length) - 1, runs, "runs of the 2 TiB bitmap");
        Assert.AreEqual(allocatedSectors, allocatedInRuns);
        Assert.AreEqual(0, maxHeld, "walking runs cached the chunks it read");
        Assert.IsLessThan(1L << 20, walkAllocated, $"walking the runs of a 512 MiB bitmap allocated {walkAllocated} bytes");

        before = GC.GetAllocatedBytesForCurrentThread();
        List<MapEntry> map = ImageMap.Build(image);
        long mapAllocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.AreEqual(WrittenSectors.Length, map.Count(e => e.Data));
        CollectionAssert.AreEqual(WrittenSectors.Select(s => s * 512).ToList(), map.Where(e => e.Data).Select(e => e.Start).ToList());
        Assert.AreEqual(0, image.LoadedBitmapChunks, "map cached the chunks it read");
        Assert.IsLessThan(2L << 20, mapAllocated, $"map of a 512 MiB bitmap allocated {mapAllocated} bytes");
    }

    [TestMethod]
    public void ReadingEveryChunkOf2TiB_HoldsAtMostTheCache_AndStillReadsRight()
    {
        using var temp = new TempDirectory();
        string path = Make2TiBOverlay(temp);
        using AddCowImage image = AddCowImage.Open(path);
        byte[] sector = new byte[512];
        int maxHeld = 0;
        for (long chunk = 0; chunk < TwoTiBChunks; chunk++)
        {
            long s = (chunk * SectorsPerChunk) + 1000;
            image.ReadSectors(s, sector);
            bool written = chunk % 64 == 0 && chunk > 0;
            Assert.AreEqual(written, image.IsAllocated(s), $"sector {s}");
            Assert.AreEqual(written ? (byte)(s & 0xFF) : (byte)0, sector[0], $"content of sector {s}");
            maxHeld = Math.Max(maxHeld, image.LoadedBitmapChunks);
        }

        Assert.IsLessThanOrEqualTo(AllocationBitmap.DefaultCacheChunks, maxHeld,
            $"reading all {TwoTiBChunks} chunks held {maxHeld} of them");
        Assert.AreEqual(AllocationBitmap.DefaultCacheChunks, maxHeld, "the cache is used up to its size");
    }

    [TestMethod]
    public void DirtyChunks_StayHeldUntilCaptured_ThenCleanOnesAreDroppedAndReread()
    {
        using var temp = new TempDirectory();
        using IStorageFile file = NewBitmapFile(temp, 64);
        var bitmap = new AllocationBitmap(file, 64 * SectorsPerChunk, cacheChunks: 2);

        for (long c = 0; c < 10; c++)
        {
            Assert.IsTrue(bitmap.SetRange((c * SectorsPerChunk) + 5, 3));
        }

        ReadEveryChunk(bitmap);
        Assert.IsGreaterThanOrEqualTo(10, bitmap.LoadedChunks, "a dirty chunk was dropped");
        Assert.IsLessThanOrEqualTo(12, bitmap.LoadedChunks, "clean chunks beyond the cache were kept");
        for (long c = 0; c < 10; c++)
        {
            Assert.IsTrue(bitmap.IsSet((c * SectorsPerChunk) + 7), $"bit of chunk {c} lost while dirty");
        }

        // Flush: capture, persist; the captured chunks stay until the next capture, then become evictable.
        bitmap.Persist(bitmap.CaptureDirty());
        ReadEveryChunk(bitmap);
        Assert.IsGreaterThanOrEqualTo(10, bitmap.LoadedChunks, "a captured chunk was dropped before the next flush");
        Assert.IsEmpty(bitmap.CaptureDirty());
        long readsBefore = bitmap.ChunkReads;
        ReadEveryChunk(bitmap);
        Assert.IsLessThanOrEqualTo(2, bitmap.LoadedChunks, "clean chunks were not dropped");
        for (long c = 0; c < 64; c++)
        {
            long s = (c * SectorsPerChunk) + 5;
            Assert.AreEqual(c < 10, bitmap.IsSet(s), $"chunk {c} after being dropped and reread");
            Assert.AreEqual(c < 10 ? 3 : 6, bitmap.Run(s, 6, out bool allocated));
            Assert.AreEqual(c < 10, allocated);
        }

        Assert.IsGreaterThan(readsBefore + 60, bitmap.ChunkReads, "dropped chunks were reread from the file");
        Assert.AreEqual(30, bitmap.CountSet());
    }

    [TestMethod]
    public void CapturedChunk_IsNotRereadBeforeItsBytesArePersisted()
    {
        // A flush captures the bits, then fsyncs the image file, and only then writes the bits. A reader in that
        // window must still see them: a reread chunk would show the file's old zeros and send it to the backing file.
        using var temp = new TempDirectory();
        using IStorageFile file = NewBitmapFile(temp, 16);
        var bitmap = new AllocationBitmap(file, 16 * SectorsPerChunk, cacheChunks: 1);
        bitmap.SetRange(100, 1);
        List<AllocationBitmap.DirtyPiece> pieces = bitmap.CaptureDirty();
        ReadEveryChunk(bitmap);
        Assert.IsTrue(bitmap.IsSet(100), "the captured bit was lost before it was persisted");

        // A failed persist re-queues the pieces: the bit must survive more pressure and be written next time.
        bitmap.Requeue(pieces);
        ReadEveryChunk(bitmap);
        bitmap.Persist(bitmap.CaptureDirty());
        var reread = new AllocationBitmap(file, 16 * SectorsPerChunk, cacheChunks: 1);
        Assert.IsTrue(reread.IsSet(100));
        Assert.AreEqual(1, reread.CountSet());
    }

    [TestMethod]
    public void RandomOperations_WithATinyCache_MatchAModel_AndTheFileMatchesAfterPersist()
    {
        const int chunks = 12;
        const long sectors = (chunks * SectorsPerChunk) - 13; // a partial last byte and chunk
        int seed = Environment.TickCount;
        Console.WriteLine($"seed {seed}");
        var random = new Random(seed);
        using var temp = new TempDirectory();
        using IStorageFile file = NewBitmapFile(temp, chunks);
        var bitmap = new AllocationBitmap(file, sectors, cacheChunks: 2);
        var model = new bool[sectors];
        List<AllocationBitmap.DirtyPiece>? unpersisted = null;
        for (int step = 0; step < 3000; step++)
        {
            long start = random.NextInt64(sectors);
            long count = Math.Min(sectors - start, random.Next(4) == 0 ? random.NextInt64(3 * SectorsPerChunk) : random.Next(1, 40));
            switch (random.Next(10))
            {
                case 0 or 1 or 2:
                    bitmap.SetRange(start, count);
                    Array.Fill(model, true, (int)start, (int)count);
                    break;
                case 3:
                    bitmap.ClearRange(start, count);
                    Array.Fill(model, false, (int)start, (int)count);
                    break;
                case 4:
                    // A flush in two steps: capture now, persist (or fail and re-queue) a few steps later.
                    if (unpersisted is null)
                    {
                        unpersisted = bitmap.CaptureDirty();
                    }
                    else if (random.Next(4) == 0)
                    {
                        bitmap.Requeue(unpersisted);
                        unpersisted = null;
                    }
                    else
                    {
                        bitmap.Persist(unpersisted);
                        unpersisted = null;
                    }

                    break;
                case 5:
                    long run = bitmap.Run(start, count, out bool allocated);
                    Assert.AreEqual(model[start], allocated, $"step {step}: state of {start}");
                    Assert.AreEqual(SameRun(model, start, count), run, $"step {step}: run at {start}");
                    break;
                case 6:
                    long s = start;
                    foreach ((long runStart, long runCount, bool state) in bitmap.Runs(start, start + count))
                    {
                        Assert.AreEqual(s, runStart, $"step {step}");
                        Assert.AreEqual(model[s], state, $"step {step}: state of {s}");
                        Assert.AreEqual(SameRun(model, s, start + count - s), runCount, $"step {step}: run at {s}");
                        s += runCount;
                    }

                    Assert.AreEqual(start + count, s);
                    break;
                default:
                    for (int i = 0; i < 8; i++)
                    {
                        long probe = random.NextInt64(sectors);
                        Assert.AreEqual(model[probe], bitmap.IsSet(probe), $"step {step}: sector {probe}");
                    }

                    break;
            }

            Assert.IsLessThanOrEqualTo(chunks, bitmap.LoadedChunks);
        }

        Assert.AreEqual(model.LongCount(b => b), bitmap.CountSet());
        if (unpersisted is not null)
        {
            bitmap.Persist(unpersisted);
        }

        bitmap.Persist(bitmap.CaptureDirty());
        var reread = new AllocationBitmap(file, sectors, cacheChunks: 1);
        for (long s = 0; s < sectors; s += reread.Run(s, sectors - s, out _))
        {
            Assert.AreEqual(model[s], reread.IsSet(s), $"persisted sector {s}");
            Assert.AreEqual(SameRun(model, s, sectors - s), reread.Run(s, sectors - s, out _), $"persisted run at {s}");
        }
    }

    private static string Make2TiBOverlay(TempDirectory temp)
    {
        string path = temp.Combine("big.add-cow");
        AddCowImage.Create(path, new ImageCreateOptions { Size = TwoTiB });
        using AddCowImage image = AddCowImage.Open(path, new ImageOpenOptions { Writable = true });
        byte[] data = new byte[8 * 512];
        foreach (long s in WrittenSectors)
        {
            Array.Fill(data, (byte)(s & 0xFF));
            image.WriteSectors(s, data);
        }

        image.Flush();
        return path;
    }

    private static IStorageFile NewBitmapFile(TempDirectory temp, int chunks)
    {
        IStorageFile file = FileStorage.Instance.CreateNew(temp.Combine("bitmap.add-cow"));
        file.SetLength(AddCowHeader.Length + (chunks * (long)AllocationBitmap.ChunkBytes));
        return file;
    }

    private static void ReadEveryChunk(AllocationBitmap bitmap)
    {
        for (long s = 0; s < bitmap.SectorCount; s += SectorsPerChunk)
        {
            bitmap.IsSet(s);
        }
    }

    private static long SameRun(bool[] model, long start, long max)
    {
        long n = 1;
        while (n < max && model[start + n] == model[start])
        {
            n++;
        }

        return n;
    }
}
