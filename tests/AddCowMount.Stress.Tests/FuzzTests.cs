using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Format;

namespace AddCowMount.Stress.Tests;

/// <summary>
/// Mutated headers, bitmaps, names and file sizes (from the seed's golden images) and random bytes: every case
/// opens correctly or throws <see cref="AddCowException"/>; never another exception, a hang, an allocation
/// out of proportion, or a changed file. Files live in <see cref="MemoryStorage"/>, so a mutated name can never
/// reach a real path and a file can claim a huge length without using the disk.
/// </summary>
[TestClass]
public sealed class FuzzTests
{
    private static readonly string[] s_cases = ["basic-1m", "odd-size-1m1536", "unaligned-1m", "size-from-backing", "chain-2level"];
    private readonly TestContext _context;

    public FuzzTests(TestContext context)
    {
        _context = context;
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    [DataRow(3)]
    [DataRow(4)]
    public void MutatedImages_OpenOrFailCleanly(int seed)
    {
        const int cases = 3000;
        var random = new Random(seed);
        string dir = Path.Combine(Path.GetTempPath(), "fuzz");
        var golden = s_cases.ToDictionary(c => c, c => Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "golden", c))
            .Where(f => f.EndsWith(".raw", StringComparison.Ordinal) || f.EndsWith(".add-cow", StringComparison.Ordinal))
            .ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes));
        var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);
        int opened = 0;
        for (int n = 0; n < cases; n++)
        {
            string name = s_cases[random.Next(s_cases.Length)];
            var storage = new MemoryStorage();
            var files = golden[name].ToDictionary(p => p.Key, p => (byte[])p.Value.Clone());
            var lengths = files.ToDictionary(p => p.Key, p => (long)p.Value.Length);
            string target = name == "chain-2level" && random.Next(3) == 0 ? "mid.add-cow" : "disk.add-cow";
            string mutation = Mutate(random, files, lengths, target);
            foreach ((string file, byte[] bytes) in files)
            {
                storage.AddFile(Path.Combine(dir, file), bytes, lengths[file]);
            }

            bool writable = random.Next(4) == 0;
            string outcome = RunCase(storage, Path.Combine(dir, "disk.add-cow"), writable, random, $"seed {seed} case {n} ({name}, {mutation})");
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            opened += outcome == "opened" ? 1 : 0;
        }

        TestReport.Line(_context, $"seed {seed}: {cases} fuzz cases, {opened} opened; outcomes: " +
            string.Join(", ", outcomes.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}")));
    }

    private static string RunCase(MemoryStorage storage, string path, bool writable, Random random, string what)
    {
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var watch = Stopwatch.StartNew();
        string outcome;
        try
        {
            using AddCowImage image = AddCowImage.Open(path, new ImageOpenOptions { Writable = writable, Storage = storage });
            byte[] buffer = new byte[64 * 512];
            long sectors = image.SectorCount;
            for (int i = 0; i < 8 && sectors > 0; i++)
            {
                long at = i switch { 0 => 0, 1 => Math.Max(0, sectors - 64), _ => (long)(random.NextDouble() * sectors) };
                int count = (int)Math.Min(64, sectors - at);
                image.ReadSectors(at, buffer.AsSpan(0, count * 512));
            }

            if (sectors <= 1L << 24)
            {
                // Counting needs the whole bitmap in memory: only where that is small (an 8 GiB disk has 2 MiB).
                _ = image.AllocatedSectors;
                _ = image.AllocationRuns().Take(1000).Count();
            }

            outcome = "opened";
        }
        catch (AddCowException ex)
        {
            Assert.IsFalse(string.IsNullOrWhiteSpace(ex.Message), $"{what}: empty message");
            outcome = ex.Error.ToString();
        }
        catch (Exception ex)
        {
            Assert.Fail($"{what}: threw {ex.GetType().Name} instead of AddCowException: {ex}");
            throw;
        }

        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Assert.IsLessThan(32L * 1024 * 1024, allocated, $"{what}: allocated {allocated} bytes");
        Assert.IsLessThan(TimeSpan.FromSeconds(10), watch.Elapsed, $"{what}: took {watch.Elapsed}");
        Assert.AreEqual(0, storage.MutationCount, $"{what}: opening changed a file");
        return outcome;
    }

    private static string Mutate(Random random, Dictionary<string, byte[]> files, Dictionary<string, long> lengths, string target)
    {
        byte[] header = files[target];
        int kind = random.Next(12);
        switch (kind)
        {
            case 0:
                for (int i = random.Next(1, 5); i > 0; i--)
                {
                    header[random.Next(AddCowHeader.Length)] ^= (byte)(1 << random.Next(8));
                }

                return "header bit flips";
            case 1:
                header[random.Next(AddCowHeader.Length)] = (byte)random.Next(256);
                return "header byte";
            case 2:
                ulong[] sizes = [0, 1, 511, 512, 513, 1UL << 20, (1UL << 20) + 1536, 1UL << 40, (1UL << 60) - 512, 1UL << 60, (1UL << 60) + 1, 1UL << 63, ulong.MaxValue, (ulong)random.NextInt64()];
                BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(AddCowHeader.FieldLocations.Size), sizes[random.Next(sizes.Length)]);
                if (random.Next(2) == 0)
                {
                    // Make the files claim to be long enough (sparse), so the size gets past the length checks.
                    ulong size = BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(AddCowHeader.FieldLocations.Size));
                    long claim = size > AddCowHeader.MaxSize ? (long)AddCowHeader.MaxSize : (long)size;
                    lengths[target] = Math.Max(lengths[target], AddCowHeader.Length + (claim / 4096) + 1);
                    foreach (string raw in files.Keys.Where(k => k.EndsWith(".raw", StringComparison.Ordinal)))
                    {
                        lengths[raw] = Math.Max(lengths[raw], claim);
                    }
                }

                return "size field";
            case 3:
                lengths[target] = random.Next(0, (int)Math.Min(lengths[target] + 1000, 4000));
                return "add-cow file truncated/extended";
            case 4:
                string image = files.Keys.Where(k => k.EndsWith(".raw", StringComparison.Ordinal)).ElementAt(random.Next(files.Keys.Count(k => k.EndsWith(".raw", StringComparison.Ordinal))));
                lengths[image] = random.Next(3) == 0 ? 0 : (long)(random.NextDouble() * lengths[image] * 1.1);
                return $"{image} resized";
            case 5:
                for (int i = random.Next(1, 64); i > 0; i--)
                {
                    header[AddCowHeader.Length + random.Next(Math.Max(1, header.Length - AddCowHeader.Length))] = (byte)random.Next(256);
                }

                return "bitmap bytes";
            case 6:
            case 7:
                int field = random.Next(2) == 0 ? AddCowHeader.FieldLocations.BackingFile : AddCowHeader.FieldLocations.ImageFile;
                string[] names = ["disk.add-cow", "mid.add-cow", "image.raw", "backing.raw", "base.raw", "mid-image.raw", "../disk.add-cow",
                    "/etc/passwd", "//server/share/x", "/dev/sda", "c:\\x.raw", "nbd://x", "CON", "", "missing.raw", "./././image.raw"];
                Span<byte> slot = header.AsSpan(field, AddCowHeader.FieldLengths.FileName);
                slot.Clear();
                if (kind == 7 && random.Next(2) == 0)
                {
                    random.NextBytes(slot); // random bytes, perhaps no NUL at all
                }
                else
                {
                    Encoding.UTF8.GetBytes(names[random.Next(names.Length)], slot);
                }

                return "name field";
            case 8:
                byte[] noise = new byte[random.Next(0, 5000)];
                random.NextBytes(noise);
                if (noise.Length >= 12 && random.Next(2) == 0)
                {
                    BinaryPrimitives.WriteUInt64BigEndian(noise, AddCowHeader.Magic);
                    BinaryPrimitives.WriteUInt32BigEndian(noise.AsSpan(8), 1);
                }

                files[target] = noise;
                lengths[target] = noise.Length;
                return "random bytes";
            case 9:
                BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(AddCowHeader.FieldLocations.Version), (uint)random.Next(4));
                return "version";
            case 10:
                string other = files.Keys.ElementAt(random.Next(files.Count));
                files[other] = header.ToArray();
                lengths[other] = header.Length;
                return $"{other} replaced by the add-cow file";
            default:
                for (int i = random.Next(1, 16); i > 0; i--)
                {
                    header[random.Next(header.Length)] = (byte)random.Next(256);
                }

                return "random bytes anywhere";
        }
    }
}
