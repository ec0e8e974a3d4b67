using AddCowMount.Core.Alignment;
using AddCowMount.Core.Engine;

namespace AddCowMount.Stress.Tests;

/// <summary>
/// Injected I/O errors (disk full, EIO, short writes) on reads, writes, flushes and the bitmap write. The caller
/// gets an error; the in-memory bitmap never claims a sector whose data did not land; the next successful flush
/// leaves files that, after a power loss, reopen with every acknowledged write intact.
/// </summary>
[TestClass]
public sealed class FaultInjectionTests
{
    private const int Sector = 512;
    private const int Size = 128 * 1024;
    private readonly TestContext _context;

    public FaultInjectionTests(TestContext context)
    {
        _context = context;
    }

    [TestMethod]
    [DataRow("disk.raw", "write", "ENOSPC", 1)]
    [DataRow("disk.raw", "write", "EIO", 2)]
    [DataRow("disk.raw", "write", "short", 3)]
    [DataRow("disk.raw", "flush", "EIO", 4)]
    [DataRow("disk.raw", "read", "EIO", 5)]
    [DataRow("disk.add-cow", "write", "ENOSPC", 6)]
    [DataRow("disk.add-cow", "write", "short", 7)]
    [DataRow("disk.add-cow", "flush", "EIO", 8)]
    [DataRow("*", "*", "mixed", 9)]
    [DataRow("*", "*", "mixed", 11)]
    [DataRow("base.raw", "read", "EIO", 10)]
    public void RandomWorkload_WithInjectedFaults_ErrorsSurfaceAndFlushedStateIsConsistent(string file, string operation, string error, int seed)
    {
        var random = new Random(seed);
        var storage = new MemoryStorage();
        string dir = Path.Combine(Path.GetTempPath(), $"fault-{seed}");
        string path = Path.Combine(dir, "disk.add-cow");
        string imagePath = Path.Combine(dir, "disk.raw");
        byte[] model = new byte[Size];
        random.NextBytes(model.AsSpan(0, 100 * 1024));
        storage.AddFile(Path.Combine(dir, "base.raw"), model[..(100 * 1024)]);
        AddCowImage.Create(path, new ImageCreateOptions { BackingFile = "base.raw", Storage = storage, Size = Size });
        storage.StartRecording();

        bool armed = false;
        int injected = 0;
        Func<FaultPoint, Fault?> hook = point =>
        {
            if (!armed || (file != "*" && !point.Path.EndsWith(file, StringComparison.Ordinal)) || (operation != "*" && point.Operation != operation))
            {
                return null;
            }

            armed = false;
            injected++;
            string kind = error == "mixed" ? (point.Operation == "write" ? ["ENOSPC", "EIO", "short"] : new[] { "ENOSPC", "EIO" })[random.Next(point.Operation == "write" ? 3 : 2)] : error;
            return kind switch
            {
                "ENOSPC" => new Fault(new IOException("No space left on device", 28)),
                "short" => new Fault(new IOException("short write: No space left on device", 28), random.Next(0, Math.Max(1, point.Length))),
                _ => new Fault(new IOException("Input/output error", 5)),
            };
        };
        storage.FaultHook = hook;

        bool[] unknown = new bool[Size / Sector];
        bool[] sinceFlush = new bool[Size / Sector]; // written since the last successful flush
        int failures = 0, successes = 0, checks = 0;
        var disk = new SectorAligningDisk(AddCowImage.Open(path, new ImageOpenOptions { Writable = true, Storage = storage }));
        try
        {
            var image = (AddCowImage)disk.Device;
            for (int op = 0; op < 400; op++)
            {
                armed |= random.Next(6) == 0; // stays armed until a matching operation consumes it
                int kind = random.Next(10);
                (long offset, int length) = CrashConsistencyTests.RandomRange(random, Size);
                long first = offset / Sector, last = (offset + length - 1) / Sector;
                byte[] data = new byte[length];
                random.NextBytes(data);
                bool[] wasAllocated = Enumerable.Range((int)first, (int)(last - first + 1)).Select(s => image.IsAllocated(s)).ToArray();
                int injectedBefore = injected;
                try
                {
                    if (kind < 6)
                    {
                        disk.Write(offset, data);
                        data.CopyTo(model, offset);
                        sinceFlush.AsSpan((int)first, (int)(last - first + 1)).Fill(true);
                        for (long s = first; s <= last; s++)
                        {
                            unknown[s] &= offset > s * Sector || offset + length < (s + 1) * Sector;
                        }
                    }
                    else if (kind < 9)
                    {
                        byte[] buffer = new byte[length];
                        disk.Read(offset, buffer);
                        AssertKnownEqual(model, buffer, offset, unknown, $"seed {seed} op {op}: read");
                    }
                    else
                    {
                        disk.Flush();
                        Array.Clear(sinceFlush);
                    }

                    successes++;
                }
                catch (IOException ex)
                {
                    failures++;
                    Assert.IsGreaterThan(injectedBefore, injected, $"seed {seed} op {op}: an error without an injected fault: {ex}");
                    if (kind < 6)
                    {
                        // A sector that became allocated must hold exactly the new data in the image file.
                        byte[] imageBytes = storage.ReadAllBytes(imagePath);
                        byte[] intended = (byte[])model.Clone();
                        data.CopyTo(intended, offset);
                        for (long s = first; s <= last; s++)
                        {
                            if (wasAllocated[s - first])
                            {
                                unknown[s] = true; // rewritten in place by a failed write: old, new or torn
                            }
                            else if (image.IsAllocated(s))
                            {
                                Assert.IsTrue(imageBytes.AsSpan((int)(s * Sector), Sector).SequenceEqual(intended.AsSpan((int)(s * Sector), Sector)),
                                    $"seed {seed} op {op}: sector {s} is allocated but its data did not land");
                                intended.AsSpan((int)(s * Sector), Sector).CopyTo(model.AsSpan((int)(s * Sector)));
                            }
                        }
                    }

                    if (image.IsFailed)
                    {
                        // The image file's fsync failed: the kernel may have dropped its dirty pages, so this open image
                        // refuses further writes and flushes. Like a user remounting after the error, reopen from what
                        // is durable: whatever was written since the last successful flush may read old or new.
                        Assert.ThrowsExactly<AddCowMount.Core.Format.AddCowException>(() => disk.Write(0, new byte[1]), "a failed image must refuse writes");
                        armed = false;
                        for (int s = 0; s < sinceFlush.Length; s++)
                        {
                            unknown[s] |= sinceFlush[s];
                        }

                        Array.Clear(sinceFlush);
                        disk.Dispose();
                        storage = storage.Crash(storage.LogCount, keep: null);
                        storage.FaultHook = hook;
                        storage.StartRecording();
                        disk = new SectorAligningDisk(AddCowImage.Open(path, new ImageOpenOptions { Writable = true, Storage = storage }));
                        image = (AddCowImage)disk.Device;
                        byte[] durable = new byte[Size];
                        disk.Read(0, durable);
                        AssertKnownEqual(model, durable, 0, unknown, $"seed {seed} op {op}: after reopening a failed image");
                        checks++;
                        continue;
                    }

                    // The next successful flush makes the files consistent: lose power right after it and reopen.
                    armed = false;
                    disk.Flush();
                    Array.Clear(sinceFlush);
                    checks++;
                    using AddCowImage reopened = AddCowImage.Open(path, new ImageOpenOptions { Storage = storage.Crash(storage.LogCount, keep: null) });
                    byte[] all = new byte[Size];
                    reopened.ReadSectors(0, all);
                    AssertKnownEqual(model, all, 0, unknown, $"seed {seed} op {op}: after the flush following a fault");
                }
            }
        }
        finally
        {
            armed = false;
            disk.Dispose();
        }

        using (AddCowImage final = AddCowImage.Open(path, new ImageOpenOptions { Storage = storage.Crash(storage.LogCount, keep: null) }))
        {
            byte[] all = new byte[Size];
            final.ReadSectors(0, all);
            AssertKnownEqual(model, all, 0, unknown, $"seed {seed}: final");
        }

        Assert.IsGreaterThan(5, injected, "too few faults were injected to mean anything");
        TestReport.Line(_context, $"seed {seed}: {error} on {operation} of {file}: {injected} faults injected, {failures} operations failed, {successes} succeeded, " +
            $"{checks} crash checks after the next flush or reopen, {unknown.Count(u => u)} sectors left indeterminate by failed in-place writes");
    }

    private static void AssertKnownEqual(byte[] model, byte[] actual, long offset, bool[] unknown, string what)
    {
        for (int i = 0; i < actual.Length; i++)
        {
            long at = offset + i;
            if (!unknown[at / Sector] && actual[i] != model[at])
            {
                Assert.Fail($"{what}: byte {at} (sector {at / Sector}) is 0x{actual[i]:x2}, expected 0x{model[at]:x2}");
            }
        }
    }
}
