using AddCowMount.Core.Alignment;
using AddCowMount.Core.Engine;

namespace AddCowMount.Stress.Tests;

/// <summary>
/// Power loss at every recorded point of randomised workloads (aligned and unaligned writes, periodic flushes,
/// resizes, backing chains). After each crash the image must open, every write acknowledged before the last
/// completed flush must read back exactly, and every other sector must hold one of the contents it had since
/// that flush: never bytes nobody wrote to it. Two power-loss models: all unflushed operations lost, and a random
/// subset of them kept (a disk persists its cache in any order).
/// </summary>
[TestClass]
public sealed class CrashConsistencyTests
{
    private const int Sector = 512;
    private const int MaxSize = 192 * 1024;
    private readonly TestContext _context;

    public CrashConsistencyTests(TestContext context)
    {
        _context = context;
    }

    [TestMethod]
    [DataRow(1, false)]
    [DataRow(2, true)]
    [DataRow(3, false)]
    [DataRow(4, true)]
    [DataRow(5, false)]
    [DataRow(6, true)]
    public void RandomWorkload_CrashedAtEveryPoint_ReopensWithFlushedDataIntact(int seed, bool chain)
    {
        var random = new Random(seed);
        var storage = new MemoryStorage();
        string dir = Path.Combine(Path.GetTempPath(), $"crash-{seed}");
        string path = Path.Combine(dir, "disk.add-cow");
        byte[] lower = SetUp(storage, dir, path, chain, random);
        int size = 128 * 1024;
        storage.StartRecording();

        var events = new List<Event>();
        int writes = 0, flushes = 0, resizes = 0;
        using (var disk = new SectorAligningDisk(AddCowImage.Open(path, new ImageOpenOptions { Writable = true, Storage = storage })))
        {
            var image = (AddCowImage)disk.Device;
            for (int op = 0; op < 160; op++)
            {
                int begin = storage.LogCount;
                int kind = random.Next(100);
                if (kind < 80)
                {
                    (long offset, int length) = RandomRange(random, size);
                    byte[] data = new byte[length];
                    random.NextBytes(data);
                    disk.Write(offset, data);
                    events.Add(new Event(EventKind.Write, begin, storage.LogCount, offset, data, 0));
                    writes++;
                }
                else if (kind < 96)
                {
                    disk.Flush();
                    events.Add(new Event(EventKind.Flush, begin, storage.LogCount, 0, null, 0));
                    flushes++;
                }
                else
                {
                    int newSize = random.Next(64, (MaxSize / Sector) + 1) * Sector;
                    image.Resize(newSize);
                    events.Add(new Event(EventKind.Resize, begin, storage.LogCount, 0, null, newSize));
                    size = newSize;
                    resizes++;
                }
            }

            int closeBegin = storage.LogCount;
            disk.Dispose();
            events.Add(new Event(EventKind.Flush, closeBegin, storage.LogCount, 0, null, 0));
        }

        int points = storage.LogCount + 1;
        int checkedCrashes = 0;
        for (int point = 0; point < points; point++)
        {
            Verify(storage.Crash(point, keep: null), path, events, point, lower, $"seed {seed} point {point}/{points - 1} (unflushed lost)");
            var subset = new Random((seed * 100_003) + point);
            Verify(storage.Crash(point, _ => subset.Next(2) == 0), path, events, point, lower, $"seed {seed} point {point}/{points - 1} (random unflushed subset kept)");
            checkedCrashes += 2;
        }

        TestReport.Line(_context, $"seed {seed}{(chain ? ", 2-layer chain" : string.Empty)}: {writes} writes, {flushes} flushes, {resizes} resizes, {storage.LogCount} file operations; {checkedCrashes} crashes checked");
    }

    private static byte[] SetUp(MemoryStorage storage, string dir, string path, bool chain, Random random)
    {
        byte[] baseBytes = new byte[(100 * 1024) + 300];
        random.NextBytes(baseBytes);
        storage.AddFile(Path.Combine(dir, "base.raw"), baseBytes);
        byte[] lower = new byte[MaxSize];
        baseBytes.CopyTo(lower, 0);
        string backing = "base.raw";
        if (chain)
        {
            string mid = Path.Combine(dir, "mid.add-cow");
            AddCowImage.Create(mid, new ImageCreateOptions { BackingFile = "base.raw", Size = 160 * 1024, ImageFile = "mid.raw", Storage = storage });
            using var midDisk = new SectorAligningDisk(AddCowImage.Open(mid, new ImageOpenOptions { Writable = true, Storage = storage }));
            for (int i = 0; i < 10; i++)
            {
                (long offset, int length) = RandomRange(random, 160 * 1024);
                byte[] data = new byte[length];
                random.NextBytes(data);
                midDisk.Write(offset, data);
                data.CopyTo(lower, offset);
            }

            Array.Clear(lower, 160 * 1024, MaxSize - (160 * 1024));
            backing = "mid.add-cow";
        }

        AddCowImage.Create(path, new ImageCreateOptions { BackingFile = backing, Size = 128 * 1024, Storage = storage });
        return lower;
    }

    /// <summary>Replays the model up to the crash point and checks every sector of the reopened image.</summary>
    private static void Verify(MemoryStorage crashed, string path, List<Event> events, int point, byte[] lower, string what)
    {
        int length = 128 * 1024;
        var stable = new byte[MaxSize / Sector][];
        var later = new List<byte[]>?[MaxSize / Sector];
        for (int s = 0; s < stable.Length; s++)
        {
            stable[s] = lower.AsSpan(s * Sector, Sector).ToArray();
        }

        var lengths = new HashSet<int> { length };
        int growFrom = -1;
        foreach (Event e in events)
        {
            if (e.Begin >= point)
            {
                break;
            }

            bool done = e.End <= point;
            switch (e.Kind)
            {
                case EventKind.Write:
                    for (long s = e.Offset / Sector; s <= (e.Offset + e.Data!.Length - 1) / Sector; s++)
                    {
                        byte[] current = later[s] is { Count: > 0 } versions ? versions[^1] : stable[s];
                        byte[] next = (byte[])current.Clone();
                        long from = Math.Max(e.Offset, s * Sector), to = Math.Min(e.Offset + e.Data.Length, (s + 1) * Sector);
                        e.Data.AsSpan((int)(from - e.Offset), (int)(to - from)).CopyTo(next.AsSpan((int)(from - (s * Sector))));
                        (later[s] ??= []).Add(next);
                    }

                    break;
                case EventKind.Flush when done:
                    Collapse(stable, later);
                    break;
                case EventKind.Resize when done:
                    Collapse(stable, later);
                    int newLength = (int)e.NewLength;
                    for (int s = length / Sector; s < newLength / Sector; s++)
                    {
                        stable[s] = lower.AsSpan(s * Sector, Sector).ToArray(); // grown sectors show the backing
                    }

                    length = newLength;
                    lengths = [length];
                    break;
                case EventKind.Resize:
                    lengths = [length, (int)e.NewLength];
                    growFrom = e.NewLength > length ? length : -1;
                    break;
                default:
                    break;
            }
        }

        using AddCowImage image = AddCowImage.Open(path, new ImageOpenOptions { Storage = crashed });
        Assert.Contains((int)image.Length, lengths, $"{what}: disk length {image.Length}");
        byte[] all = new byte[image.Length];
        image.ReadSectors(0, all);
        for (int s = 0; s < all.Length / Sector; s++)
        {
            ReadOnlySpan<byte> got = all.AsSpan(s * Sector, Sector);
            if (growFrom >= 0 && s >= length / Sector)
            {
                Assert.IsTrue(got.SequenceEqual(lower.AsSpan(s * Sector, Sector)), $"{what}: grown sector {s} is not the backing content");
                continue;
            }

            if (got.SequenceEqual(stable[s]))
            {
                continue;
            }

            bool allowed = false;
            foreach (byte[] version in later[s] ?? [])
            {
                allowed |= got.SequenceEqual(version);
            }

            if (!allowed)
            {
                long sector = s;
                string history = string.Join(", ", events.Where(e => e.Begin < point && (e.Kind != EventKind.Write ||
                    (e.Offset / Sector <= sector && sector <= (e.Offset + e.Data!.Length - 1) / Sector)))
                    .Select(e => $"{e.Kind}[{e.Begin}..{e.End}){(e.Kind == EventKind.Resize ? "->" + e.NewLength : string.Empty)}"));
                Assert.Fail($"{what}: sector {s} holds bytes that are neither its flushed content nor any later write " +
                    $"({later[s]?.Count ?? 0} unflushed versions; equals backing: {got.SequenceEqual(lower.AsSpan(s * Sector, Sector))}; " +
                    $"zero: {!got.ContainsAnyExcept((byte)0)}; allocated: {image.IsAllocated(s)}). History: {history}");
            }
        }
    }

    private static void Collapse(byte[][] stable, List<byte[]>?[] later)
    {
        for (int s = 0; s < stable.Length; s++)
        {
            if (later[s] is { Count: > 0 } versions)
            {
                stable[s] = versions[^1];
                versions.Clear();
            }
        }
    }

    internal static (long Offset, int Length) RandomRange(Random random, int size)
    {
        if (random.Next(2) == 0)
        {
            int sectors = random.Next(1, 17);
            return ((long)random.Next(0, (size / Sector) - sectors + 1) * Sector, sectors * Sector);
        }

        int length = random.Next(1, 6000);
        return (random.Next(0, size - length + 1), length);
    }

    private enum EventKind
    {
        Write,
        Flush,
        Resize,
    }

    private sealed record Event(EventKind Kind, int Begin, int End, long Offset, byte[]? Data, long NewLength);
}
