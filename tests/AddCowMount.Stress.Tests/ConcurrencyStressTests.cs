using AddCowMount.Core.Alignment;
using AddCowMount.Core.Engine;

namespace AddCowMount.Stress.Tests;

/// <summary>
/// Many threads through <see cref="SectorAligningDisk"/> on real files: overlapping unaligned writes, reads and
/// flushes over a small hot area. Every read must show whole writes only, and the final content (after reopen)
/// must be the result of applying all writes in some serial order: nothing torn, nothing lost.
/// </summary>
[TestClass]
public sealed class ConcurrencyStressTests
{
    private const int Size = 512 * 1024;
    private readonly TestContext _context;

    public ConcurrencyStressTests(TestContext context)
    {
        _context = context;
    }

    [TestMethod]
    [DataRow(1, 2, false)]
    [DataRow(2, 4, false)]
    [DataRow(3, 8, false)]
    [DataRow(4, 3, true)]
    [DataRow(5, 6, true)]
    [DataRow(6, 16, false)]
    public void OverlappingUnalignedIo_ManyThreads_IsSerial(int seed, int threads, bool copyOnRead)
    {
        using var temp = new TempDirectory();
        byte[] initial = new byte[Size];
        new Random(seed).NextBytes(initial.AsSpan(0, Size - 4096));
        File.WriteAllBytes(temp.Combine("base.raw"), initial[..(Size - 4096)]);
        string path = temp.Combine("disk.add-cow");
        AddCowImage.Create(path, new ImageCreateOptions { BackingFile = "base.raw", Size = Size });

        const int hot = 12 * 1024;
        long hotStart = Size - hot - 1000; // crosses the end of the shorter backing file
        var history = new WriteHistory();
        var reads = new List<(long Offset, byte[] Data, long Ticket)>();
        int opsPerThread = 6000 / threads;
        int nextId = 0, flushes = 0;
        using (var disk = new SectorAligningDisk(AddCowImage.Open(path, new ImageOpenOptions { Writable = true }), copyOnRead: copyOnRead))
        {
            using var start = new Barrier(threads);
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                var random = new Random((seed * 7919) + t);
                start.SignalAndWait();
                for (int op = 0; op < opsPerThread; op++)
                {
                    int length = random.Next(4) == 0 ? random.Next(1, 8192) : random.Next(1, 1100);
                    long offset = hotStart + random.Next(0, hot - length + 1);
                    int kind = random.Next(100);
                    if (kind < 50)
                    {
                        int id = Interlocked.Increment(ref nextId);
                        byte[] data = new byte[length];
                        WriteHistory.Fill(id, offset, data);
                        history.Record(new WriteHistory.Entry(id, offset, length, history.NextTicket()));
                        disk.Write(offset, data);
                    }
                    else if (kind < 97)
                    {
                        byte[] buffer = new byte[length];
                        disk.Read(offset, buffer);
                        long ticket = history.NextTicket();
                        lock (reads)
                        {
                            reads.Add((offset, buffer, ticket));
                        }
                    }
                    else
                    {
                        disk.Flush();
                        Interlocked.Increment(ref flushes);
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
            Assert.IsNull(problem, $"seed {seed}: read {offset}+{data.Length} saw a torn write: {problem}");
        }

        using (var reopened = new SectorAligningDisk(AddCowImage.Open(path)))
        {
            byte[] content = new byte[hot];
            reopened.Read(hotStart, content);
            string? finalProblem = history.Explain(hotStart, content, initial.AsSpan((int)hotStart, hot), long.MaxValue, requireAll: true);
            Assert.IsNull(finalProblem, $"seed {seed}: {finalProblem}");

            byte[] outside = new byte[hotStart];
            reopened.Read(0, outside);
            Assert.IsTrue(outside.AsSpan().SequenceEqual(initial.AsSpan(0, (int)hotStart)), $"seed {seed}: bytes outside the hot area changed");
        }

        TestReport.Line(_context, $"seed {seed}: {threads} threads, {threads * opsPerThread} ops ({history.Count} writes, {reads.Count} reads (every {step}th checked), {flushes} flushes) " +
            $"over {hot} hot bytes{(copyOnRead ? ", copy-on-read" : string.Empty)}: serial");
    }
}
