using AddCowMount.Core.Alignment;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Tests.Engine;

namespace AddCowMount.Core.Tests.Alignment;

/// <summary>
/// Randomised differential tests: the composed disk through <see cref="SectorAligningDisk"/> against a plain byte
/// array, with aligned and unaligned requests, flushes, reopens and backing chains of one to three layers.
/// Seeds and counts are printed, so a failure reproduces.
/// </summary>
[TestClass]
public sealed class DifferentialTests
{
    private const int DiskSize = 256 * 1024;
    private readonly TestContext _context;

    public DifferentialTests(TestContext context)
    {
        _context = context;
    }

    [TestMethod]
    [DataRow(1, 0)]
    [DataRow(2, 1)]
    [DataRow(3, 2)]
    [DataRow(4, 3)]
    [DataRow(5, 1)]
    public void RandomOps_SingleThread_MatchModel(int seed, int backingLayers)
    {
        using var temp = new TempDirectory();
        (string path, byte[] model) = BuildChain(temp, seed, backingLayers);
        var random = new Random(seed);
        int writes = 0, reads = 0, flushes = 0, reopens = 0;
        const int ops = 3000;
        var disk = new SectorAligningDisk(AddCowImage.Open(path, new ImageOpenOptions { Writable = true }));
        try
        {
            for (int op = 0; op < ops; op++)
            {
                int kind = random.Next(100);
                (long offset, int length) = RandomRange(random, DiskSize);
                if (kind < 50)
                {
                    byte[] data = new byte[length];
                    random.NextBytes(data);
                    disk.Write(offset, data);
                    data.CopyTo(model, offset);
                    writes++;
                }
                else if (kind < 93)
                {
                    byte[] buffer = new byte[length];
                    disk.Read(offset, buffer);
                    AssertSame(model.AsSpan((int)offset, length), buffer, $"seed {seed} op {op}: read {offset}+{length}");
                    reads++;
                }
                else if (kind < 98)
                {
                    disk.Flush();
                    flushes++;
                }
                else
                {
                    disk.Dispose();
                    disk = new SectorAligningDisk(AddCowImage.Open(path, new ImageOpenOptions { Writable = true }));
                    reopens++;
                }
            }
        }
        finally
        {
            disk.Dispose();
        }

        using var final = new SectorAligningDisk(AddCowImage.Open(path));
        byte[] all = new byte[DiskSize];
        final.Read(0, all);
        AssertSame(model, all, $"seed {seed}: whole disk after reopen");
        TestReport.Line(_context, $"seed {seed}, {backingLayers} backing layer(s): {ops} ops = {writes} writes, {reads} reads, {flushes} flushes, {reopens} reopens");
    }

    /// <summary>Threads own disjoint byte regions whose borders fall inside sectors, so neighbours read-modify-write one sector.</summary>
    [TestMethod]
    [DataRow(11, 4)]
    [DataRow(12, 8)]
    public void RandomOps_DisjointRegionsManyThreads_MatchModel(int seed, int threads)
    {
        using var temp = new TempDirectory();
        (string path, byte[] model) = BuildChain(temp, seed, 1);
        int region = DiskSize / threads - 37;
        const int opsPerThread = 1500;
        using (var disk = new SectorAligningDisk(AddCowImage.Open(path, new ImageOpenOptions { Writable = true })))
        {
            var failures = new List<string>();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                var random = new Random((seed * 1000) + t);
                long start = (long)t * region;
                for (int op = 0; op < opsPerThread; op++)
                {
                    int length = random.Next(1, Math.Min(region, 5000));
                    long offset = start + random.Next(0, region - length + 1);
                    if (random.Next(3) > 0)
                    {
                        byte[] data = new byte[length];
                        random.NextBytes(data);
                        disk.Write(offset, data);
                        data.CopyTo(model, offset);
                    }
                    else
                    {
                        byte[] buffer = new byte[length];
                        disk.Read(offset, buffer);
                        if (!buffer.AsSpan().SequenceEqual(model.AsSpan((int)offset, length)))
                        {
                            lock (failures)
                            {
                                failures.Add($"thread {t} op {op}: read {offset}+{length} differs");
                            }
                        }
                    }

                    if (random.Next(50) == 0)
                    {
                        disk.Flush();
                    }
                }
            });
            Assert.IsEmpty(failures, string.Join("\n", failures.Take(5)));
        }

        using var final = new SectorAligningDisk(AddCowImage.Open(path));
        byte[] all = new byte[DiskSize];
        final.Read(0, all);
        AssertSame(model, all, $"seed {seed}: whole disk after reopen");
        TestReport.Line(_context, $"seed {seed}: {threads} threads x {opsPerThread} ops on disjoint regions of {region} bytes");
    }

    /// <summary>Threads write and read overlapping unaligned ranges of a small hot area; the result must be serial.</summary>
    [TestMethod]
    [DataRow(21, 4)]
    [DataRow(22, 6)]
    public void RandomOps_OverlappingManyThreads_EverySectorIsSerial(int seed, int threads)
    {
        using var temp = new TempDirectory();
        (string path, byte[] initial) = BuildChain(temp, seed, 1);
        const int hot = 6 * 1024;
        const long hotStart = 100 * 1024 + 77;
        var history = new WriteHistory();
        var reads = new List<(long Offset, byte[] Data, long Ticket)>();
        const int opsPerThread = 1000;
        int nextId = 0;
        using var start = new Barrier(threads);
        using (var disk = new SectorAligningDisk(AddCowImage.Open(path, new ImageOpenOptions { Writable = true })))
        {
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                var random = new Random((seed * 1000) + t);
                start.SignalAndWait();
                for (int op = 0; op < opsPerThread; op++)
                {
                    int length = random.Next(1, 1500);
                    long offset = hotStart + random.Next(0, hot - length);
                    if (random.Next(2) == 0)
                    {
                        int id = Interlocked.Increment(ref nextId);
                        byte[] data = new byte[length];
                        WriteHistory.Fill(id, offset, data);
                        long ticket = history.NextTicket();
                        history.Record(new WriteHistory.Entry(id, offset, length, ticket));
                        disk.Write(offset, data);
                    }
                    else
                    {
                        byte[] buffer = new byte[length];
                        disk.Read(offset, buffer);
                        long ticket = history.NextTicket();
                        lock (reads)
                        {
                            reads.Add((offset, buffer, ticket));
                        }
                    }

                    if (random.Next(40) == 0)
                    {
                        disk.Flush();
                    }
                }
            });
        }

        // Checking a read costs its overlap with every earlier write; a sample keeps the run short.
        int step = Math.Max(1, reads.Count / 250);
        for (int r = 0; r < reads.Count; r += step)
        {
            (long offset, byte[] data, long ticket) = reads[r];
            string? problem = history.Explain(offset, data, initial.AsSpan((int)offset, data.Length), ticket, requireAll: false);
            Assert.IsNull(problem, $"seed {seed}: read {offset}+{data.Length} saw a half-applied write: {problem}");
        }

        using var final = new SectorAligningDisk(AddCowImage.Open(path));
        byte[] content = new byte[hot];
        final.Read(hotStart, content);
        string? finalProblem = history.Explain(hotStart, content, initial.AsSpan((int)hotStart, hot), long.MaxValue, requireAll: true);
        Assert.IsNull(finalProblem, $"seed {seed}: {finalProblem}");
        TestReport.Line(_context, $"seed {seed}: {threads} threads, {history.Count} overlapping writes and {reads.Count} reads (every {step}th checked) over {hot} bytes, all serial");
    }

    /// <summary>Makes disk.add-cow over 0..3 add-cow layers over a raw base shorter than the disk; returns the composed content.</summary>
    internal static (string Path, byte[] Model) BuildChain(TempDirectory temp, int seed, int backingLayers)
    {
        var random = new Random(seed ^ 0x5EED);
        byte[] model = new byte[DiskSize];
        int baseLength = DiskSize - (40 * 1024) + 100; // shorter than the disk, not a sector multiple
        byte[] baseBytes = EngineFiles.Pattern(baseLength, seed);
        File.WriteAllBytes(temp.Combine("base.raw"), baseBytes);
        baseBytes.CopyTo(model, 0);
        string below = "base.raw";
        for (int layer = 0; layer < backingLayers; layer++)
        {
            string name = $"layer{layer}.add-cow";
            AddCowImage.Create(temp.Combine(name), new ImageCreateOptions { BackingFile = below, Size = DiskSize, ImageFile = $"layer{layer}.raw" });
            using (var disk = new SectorAligningDisk(AddCowImage.Open(temp.Combine(name), new ImageOpenOptions { Writable = true })))
            {
                for (int i = 0; i < 20; i++)
                {
                    (long offset, int length) = RandomRange(random, DiskSize);
                    byte[] data = new byte[length];
                    random.NextBytes(data);
                    disk.Write(offset, data);
                    data.CopyTo(model, offset);
                }
            }

            below = name;
        }

        string path = temp.Combine("disk.add-cow");
        AddCowImage.Create(path, new ImageCreateOptions { BackingFile = below, Size = DiskSize });
        return (path, model);
    }

    /// <summary>Half the time sector-aligned, else arbitrary; lengths from one byte to 64 KiB.</summary>
    internal static (long Offset, int Length) RandomRange(Random random, int diskSize)
    {
        if (random.Next(2) == 0)
        {
            int sectors = random.Next(1, 33);
            long sector = random.Next(0, (diskSize / 512) - sectors + 1);
            return (sector * 512, sectors * 512);
        }

        int length = random.Next(4) == 0 ? random.Next(1, 65536) : random.Next(1, 2048);
        long offset = random.Next(0, diskSize - length + 1);
        return (offset, length);
    }

    private static void AssertSame(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, string what)
    {
        int mismatch = expected.CommonPrefixLength(actual);
        if (mismatch < expected.Length || expected.Length != actual.Length)
        {
            Assert.Fail($"{what}: first difference at byte {mismatch}");
        }
    }
}
