using System.Buffers.Binary;
using AddCowMount.Core.Alignment;
using AddCowMount.Core.Diagnostics;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Operations;
using AddCowMount.Core.Storage;

namespace AddCowMount.Stress.Tests;

/// <summary>
/// Power loss during the workloads the single-threaded crash tests leave out: several threads writing through one
/// <see cref="SectorAligningDisk"/> while another thread flushes, and the whole-image operations commit and stream.
/// Each run records every file operation in global order; the files are then rebuilt as a power loss at every
/// recorded point would leave them (unflushed operations all lost, or a random subset of them kept) and the reopened
/// disk is checked sector by sector against what the callers were promised.
/// </summary>
[TestClass]
public sealed class CrashConcurrencyTests
{
    private const int Sector = 512;
    private const int DiskSize = 128 * 1024;
    private const int DiskSectors = DiskSize / Sector;
    private const int SharedSectors = 64;
    private const int BaseSize = (100 * 1024) + 300;
    private const int MidSize = 160 * 1024;
    private readonly TestContext _context;

    public CrashConcurrencyTests(TestContext context)
    {
        _context = context;
    }

    /// <summary>
    /// Threads write aligned and unaligned ranges into their own regions and whole identifiable sectors into a shared
    /// region, a separate thread flushes every few writes. Every write that returned before a flush started, where that
    /// flush returned before the crash, must read back (or a write stored after it); every sector holds its original
    /// content or one some write stored there before the crash.
    /// </summary>
    [TestMethod]
    [DataRow(41, 3)]
    [DataRow(42, 4)]
    public void ThreadsAndFlusher_CrashedAtEveryPoint_KeepAcknowledgedWrites(int seed, int threads)
    {
        var storage = new MemoryStorage();
        Chain chain = SetUpChain(storage, $"crash-mt-{seed}", addCowBacking: true, new Random(seed));
        var model = new CrashModel(chain.Original, chain.ImageFile);
        storage.StartRecording();

        int ownSectors = (DiskSectors - SharedSectors) / threads;
        int writesPerThread = 1000 / threads;
        long clock = 0;
        int writesDone = 0;
        bool writersDone = false;
        var writeLists = new List<PendingWrite>[threads];
        var flushes = new List<FlushRecord>();
        Exception? failure = null;
        var disk = new SectorAligningDisk(AddCowImage.Open(chain.Top, new ImageOpenOptions { Writable = true, Storage = new SlowFsyncStorage(storage) }));
        using (var start = new Barrier(threads + 1))
        {
            var workers = new List<Thread>();
            for (int t = 0; t < threads; t++)
            {
                int id = t;
                var thread = new Thread(() =>
                {
                    try
                    {
                        var random = new Random((seed * 7919) + id);
                        var local = new List<PendingWrite>();
                        writeLists[id] = local;
                        long regionStart = (long)id * ownSectors * Sector;
                        int regionLength = ownSectors * Sector;
                        byte[] own = chain.Original.AsSpan((int)regionStart, regionLength).ToArray();
                        start.SignalAndWait();
                        for (int op = 0; op < writesPerThread; op++)
                        {
                            long first;
                            byte[] whole;
                            long offset;
                            byte[] data;
                            if (random.Next(3) == 0)
                            {
                                // Shared region: whole sectors with (thread, op, sector) stamped at their start.
                                int count = random.Next(1, 4);
                                first = DiskSectors - SharedSectors + random.Next(0, SharedSectors - count + 1);
                                data = new byte[count * Sector];
                                random.NextBytes(data);
                                for (int i = 0; i < count; i++)
                                {
                                    Span<byte> stamp = data.AsSpan(i * Sector, 12);
                                    BinaryPrimitives.WriteInt32BigEndian(stamp, id);
                                    BinaryPrimitives.WriteInt32BigEndian(stamp[4..], op);
                                    BinaryPrimitives.WriteInt32BigEndian(stamp[8..], (int)first + i);
                                }

                                offset = first * Sector;
                                whole = data;
                            }
                            else
                            {
                                (long relative, int length) = RandomRange(random, regionLength, 3000);
                                data = new byte[length];
                                random.NextBytes(data);
                                data.CopyTo(own, relative);
                                offset = regionStart + relative;
                                first = offset / Sector;
                                long end = (offset + length + Sector - 1) / Sector;
                                whole = own.AsSpan((int)((first * Sector) - regionStart), (int)((end - first) * Sector)).ToArray();
                            }

                            int begin = storage.LogCount;
                            disk.Write(offset, data);
                            long completed = Interlocked.Increment(ref clock);
                            local.Add(new PendingWrite(first, whole, begin, storage.LogCount, completed));
                            Interlocked.Increment(ref writesDone);
                            Thread.SpinWait(random.Next(100, 2000)); // a guest does other work between writes
                        }
                    }
                    catch (Exception ex)
                    {
                        Interlocked.CompareExchange(ref failure, ex, null);
                    }
                });
                workers.Add(thread);
                thread.Start();
            }

            var flusher = new Thread(() =>
            {
                try
                {
                    start.SignalAndWait();
                    int seen = 0;
                    while (!Volatile.Read(ref writersDone))
                    {
                        int now = Volatile.Read(ref writesDone);
                        if (now - seen < 24)
                        {
                            Thread.Yield();
                            continue;
                        }

                        seen = now;
                        long started = Interlocked.Increment(ref clock);
                        disk.Flush();
                        flushes.Add(new FlushRecord(started, storage.LogCount, Interlocked.Increment(ref clock)));
                    }
                }
                catch (Exception ex)
                {
                    Interlocked.CompareExchange(ref failure, ex, null);
                }
            });
            flusher.Start();
            foreach (Thread worker in workers)
            {
                worker.Join();
            }

            Volatile.Write(ref writersDone, true);
            flusher.Join();
        }

        long closeStarted = Interlocked.Increment(ref clock);
        disk.Dispose();
        flushes.Add(new FlushRecord(closeStarted, storage.LogCount, Interlocked.Increment(ref clock)));
        if (failure is not null)
        {
            throw new AssertFailedException($"seed {seed}: a worker failed: {failure}", failure);
        }

        int writes = 0, duringFlush = 0;
        foreach (List<PendingWrite> list in writeLists)
        {
            model.AddWrites(storage.Log, list);
            writes += list.Count;
            duringFlush += list.Count(w => flushes.Any(f => f.Started < w.Completed && w.Completed < f.Ended));
        }

        model.AddFlushes(flushes);
        int points = storage.LogCount + 1;
        int crashes = 0;
        for (int point = 0; point < points; point++)
        {
            var subset = new Random((seed * 100_003) + point);
            foreach ((MemoryStorage crashed, string mode) in new[]
            {
                (storage.Crash(point, keep: null), "unflushed lost"),
                (storage.Crash(point, _ => subset.Next(2) == 0), "random unflushed subset kept"),
            })
            {
                string what = $"seed {seed}, {threads} threads, point {point}/{points - 1} ({mode})";
                AssertCheckClean(crashed, chain.Top, what);
                model.Verify(ReadComposed(crashed, chain.Top), point, what);
                crashes++;
            }
        }

        Assert.IsGreaterThanOrEqualTo(1000, points, "the workload must give at least 1,000 crash points");
        TestReport.Line(_context, $"seed {seed}: {threads} writer threads + 1 flusher over a 2-layer chain, {writes} writes " +
            $"({duringFlush} returned while a flush ran), {flushes.Count} flushes, {storage.LogCount} file operations; {points} crash points, {crashes} crashes checked");
    }

    /// <summary>
    /// Writes and flushes, then commit into a raw or add-cow backing file, then more writes: a crash anywhere keeps the
    /// acknowledged writes; a crash inside commit shows exactly the pre-commit disk; a second commit after the crash
    /// completes and leaves the backing file holding the composed disk.
    /// </summary>
    [TestMethod]
    [DataRow(51, false)]
    [DataRow(52, true)]
    public void Commit_CrashedAtEveryPoint_NeverLosesDataAndCanBeRepeated(int seed, bool addCowBacking)
    {
        var random = new Random(seed);
        var storage = new MemoryStorage();
        Chain chain = SetUpChain(storage, $"crash-commit-{seed}", addCowBacking, random);
        var model = new CrashModel(chain.Original, chain.ImageFile);
        storage.StartRecording();

        byte[] disk = (byte[])chain.Original.Clone();
        var writes = new List<PendingWrite>();
        var flushes = new List<FlushRecord>();
        long clock = 0;
        int commitBegin, commitEnd;
        using (var aligned = new SectorAligningDisk(AddCowImage.Open(chain.Top,
            new ImageOpenOptions { Writable = true, WritableBacking = true, Storage = storage })))
        {
            var image = (AddCowImage)aligned.Device;
            void Work(int count)
            {
                for (int i = 0; i < count; i++)
                {
                    if (random.Next(8) == 0)
                    {
                        long started = ++clock;
                        aligned.Flush();
                        flushes.Add(new FlushRecord(started, storage.LogCount, ++clock));
                        continue;
                    }

                    writes.Add(WriteTracked(aligned, storage, disk, random, ref clock));
                }

                long last = ++clock;
                aligned.Flush();
                flushes.Add(new FlushRecord(last, storage.LogCount, ++clock));
            }

            Work(70);
            byte[] preCommit = (byte[])disk.Clone();
            commitBegin = storage.LogCount;
            long committed = ImageOperations.Commit(image);
            commitEnd = storage.LogCount;
            Assert.IsGreaterThan(0L, committed, "the workload allocated sectors, so commit must copy some");
            CollectionAssert.AreEqual(preCommit, ReadComposed(image), "commit changed the composed disk");
            Work(20);
        }

        model.AddWrites(storage.Log, writes);
        model.AddFlushes(flushes);
        int points = storage.LogCount + 1;
        int crashes = 0, inCommit = 0;
        byte[] commitContent = model.ContentAfterAllWrites(commitBegin);
        for (int point = 0; point < points; point++)
        {
            var subset = new Random((seed * 100_003) + point);
            foreach ((MemoryStorage crashed, string mode) in new[]
            {
                (storage.Crash(point, keep: null), "unflushed lost"),
                (storage.Crash(point, _ => subset.Next(2) == 0), "random unflushed subset kept"),
            })
            {
                string what = $"seed {seed}, {(addCowBacking ? "add-cow" : "raw")} backing, point {point}/{points - 1} " +
                    $"(commit ops {commitBegin}..{commitEnd}, {mode})";
                AssertCheckClean(crashed, chain.Top, what);
                byte[] composed = ReadComposed(crashed, chain.Top);
                model.Verify(composed, point, what);
                if (point >= commitBegin && point <= commitEnd)
                {
                    AssertSectorsEqual(commitContent, composed, $"{what}: composed disk during commit");
                    inCommit++;
                }

                // Commit again on the crashed files: it must finish and move the composed disk into the backing layer.
                using (AddCowImage again = AddCowImage.Open(chain.Top, new ImageOpenOptions { Writable = true, WritableBacking = true, Storage = crashed }))
                {
                    ImageOperations.Commit(again);
                }

                using (AddCowImage reopened = AddCowImage.Open(chain.Top, new ImageOpenOptions { Storage = crashed }))
                {
                    Assert.AreEqual(0L, reopened.AllocatedSectors, $"{what}: sectors still allocated after the second commit");
                }

                AssertSectorsEqual(composed, ReadBackingLayer(crashed, chain), $"{what}: backing file after the second commit");
                AssertSectorsEqual(composed, ReadComposed(crashed, chain.Top), $"{what}: composed disk after the second commit");
                crashes++;
            }
        }

        TestReport.Line(_context, $"seed {seed}, {(addCowBacking ? "add-cow" : "raw")} backing: {writes.Count} writes, {flushes.Count} flushes, " +
            $"1 commit, {storage.LogCount} file operations; {points} crash points ({commitEnd - commitBegin + 1} inside commit), " +
            $"{crashes} crashes checked ({inCommit} inside commit), each followed by a second commit");
    }

    /// <summary>
    /// Stream copies the backing chain into the image file: a crash at any point leaves the composed disk unchanged, and
    /// streaming again completes with the image file alone equal to the composed disk.
    /// </summary>
    [TestMethod]
    [DataRow(61, false)]
    [DataRow(62, true)]
    [DataRow(63, true)]
    public void Stream_CrashedAtEveryPoint_KeepsDiskAndCanBeRepeated(int seed, bool addCowBacking)
    {
        var random = new Random(seed);
        var storage = new MemoryStorage();
        Chain chain = SetUpChain(storage, $"crash-stream-{seed}", addCowBacking, random);
        byte[] expected = (byte[])chain.Original.Clone();
        using (var aligned = new SectorAligningDisk(AddCowImage.Open(chain.Top, new ImageOpenOptions { Writable = true, Storage = storage })))
        {
            for (int i = 0; i < 40; i++)
            {
                (long offset, int length) = RandomRange(random, DiskSize, 6000);
                byte[] data = new byte[length];
                random.NextBytes(data);
                aligned.Write(offset, data);
                data.CopyTo(expected, offset);
            }
        }

        AssertSectorsEqual(expected, ReadComposed(storage, chain.Top), "composed disk before stream");
        storage.StartRecording();
        long streamed;
        using (AddCowImage image = AddCowImage.Open(chain.Top, new ImageOpenOptions { Writable = true, Storage = storage }))
        {
            streamed = ImageOperations.Stream(image);
        }

        Assert.IsGreaterThan(0L, streamed, "the top image has unallocated sectors, so stream must copy some");
        int points = storage.LogCount + 1;
        int crashes = 0;
        for (int point = 0; point < points; point++)
        {
            var subset = new Random((seed * 100_003) + point);
            foreach ((MemoryStorage crashed, string mode) in new[]
            {
                (storage.Crash(point, keep: null), "unflushed lost"),
                (storage.Crash(point, _ => subset.Next(2) == 0), "random unflushed subset kept"),
            })
            {
                string what = $"seed {seed}, {(addCowBacking ? "add-cow" : "raw")} backing, point {point}/{points - 1} ({mode})";
                AssertCheckClean(crashed, chain.Top, what);
                AssertSectorsEqual(expected, ReadComposed(crashed, chain.Top), $"{what}: composed disk after the crash");
                using (AddCowImage again = AddCowImage.Open(chain.Top, new ImageOpenOptions { Writable = true, Storage = crashed }))
                {
                    ImageOperations.Stream(again);
                }

                using (AddCowImage reopened = AddCowImage.Open(chain.Top, new ImageOpenOptions { Storage = crashed }))
                {
                    Assert.AreEqual(reopened.SectorCount, reopened.AllocatedSectors, $"{what}: sectors left unallocated after the second stream");
                }

                AssertSectorsEqual(expected, crashed.ReadAllBytes(chain.ImageFile, DiskSize), $"{what}: image file after the second stream");
                AssertSectorsEqual(expected, ReadComposed(crashed, chain.Top), $"{what}: composed disk after the second stream");
                crashes++;
            }
        }

        TestReport.Line(_context, $"seed {seed}, {(addCowBacking ? "add-cow" : "raw")} backing: stream of {streamed} bytes, " +
            $"{storage.LogCount} file operations; {points} crash points, {crashes} crashes checked, each followed by a second stream");
    }

    /// <summary>Writes a random range through the adapter, updating <paramref name="disk"/>, and says which sectors it stored.</summary>
    private static PendingWrite WriteTracked(SectorAligningDisk aligned, MemoryStorage storage, byte[] disk, Random random, ref long clock)
    {
        (long offset, int length) = RandomRange(random, DiskSize, 6000);
        byte[] data = new byte[length];
        random.NextBytes(data);
        data.CopyTo(disk, offset);
        long first = offset / Sector, end = (offset + length + Sector - 1) / Sector;
        byte[] whole = disk.AsSpan((int)(first * Sector), (int)((end - first) * Sector)).ToArray();
        int begin = storage.LogCount;
        aligned.Write(offset, data);
        return new PendingWrite(first, whole, begin, storage.LogCount, ++clock);
    }

    /// <summary>
    /// base.raw (100 KiB + 300 bytes, random) and, with <paramref name="addCowBacking"/>, mid.add-cow over it (160 KiB, some
    /// random writes, flushed); disk.add-cow (128 KiB) on top. Returns the composed content computed independently of the
    /// engine, and checks that the engine reads the same.
    /// </summary>
    private static Chain SetUpChain(MemoryStorage storage, string name, bool addCowBacking, Random random)
    {
        string dir = Path.Combine(Path.GetTempPath(), name);
        byte[] baseBytes = new byte[BaseSize];
        random.NextBytes(baseBytes);
        storage.AddFile(Path.Combine(dir, "base.raw"), baseBytes);
        byte[] lower = new byte[MidSize];
        baseBytes.CopyTo(lower, 0);
        string backing = "base.raw";
        string backingPath = Path.Combine(dir, "base.raw");
        if (addCowBacking)
        {
            backingPath = Path.Combine(dir, "mid.add-cow");
            AddCowImage.Create(backingPath, new ImageCreateOptions { BackingFile = "base.raw", Size = MidSize, ImageFile = "mid.raw", Storage = storage });
            using var mid = new SectorAligningDisk(AddCowImage.Open(backingPath, new ImageOpenOptions { Writable = true, Storage = storage }));
            for (int i = 0; i < 12; i++)
            {
                (long offset, int length) = RandomRange(random, MidSize, 6000);
                byte[] data = new byte[length];
                random.NextBytes(data);
                mid.Write(offset, data);
                data.CopyTo(lower, offset);
            }

            backing = "mid.add-cow";
        }

        string top = Path.Combine(dir, "disk.add-cow");
        AddCowImage.Create(top, new ImageCreateOptions { BackingFile = backing, Size = DiskSize, Storage = storage });
        byte[] original = lower.AsSpan(0, DiskSize).ToArray();
        AssertSectorsEqual(original, ReadComposed(storage, top), "composed disk after set-up");
        return new Chain(top, Path.GetFullPath(Path.Combine(dir, "disk.raw")), backingPath, addCowBacking, original);
    }

    private static byte[] ReadComposed(MemoryStorage storage, string top)
    {
        using AddCowImage image = AddCowImage.Open(top, new ImageOpenOptions { Storage = storage });
        return ReadComposed(image);
    }

    private static byte[] ReadComposed(AddCowImage image)
    {
        Assert.AreEqual(DiskSize, image.Length, $"{image.Path}: disk length");
        byte[] all = new byte[image.Length];
        image.ReadSectors(0, all);
        return all;
    }

    /// <summary>The backing layer alone, first <see cref="DiskSize"/> bytes (zeros past a shorter raw file).</summary>
    private static byte[] ReadBackingLayer(MemoryStorage storage, Chain chain)
    {
        if (!chain.AddCowBacking)
        {
            byte[] raw = storage.ReadAllBytes(chain.Backing, DiskSize);
            Array.Resize(ref raw, DiskSize);
            return raw;
        }

        using AddCowImage mid = AddCowImage.Open(chain.Backing, new ImageOpenOptions { Storage = storage });
        byte[] all = new byte[DiskSize];
        mid.ReadSectors(0, all);
        return all;
    }

    private static void AssertCheckClean(MemoryStorage storage, string top, string what)
    {
        List<Finding> errors = ImageChecker.Check(top, storage: storage).Where(f => f.Severity == FindingSeverity.Error).ToList();
        Assert.IsEmpty(errors, $"{what}: check found {string.Join("; ", errors.Select(f => $"{f.File}: {f.Message}"))}");
    }

    private static void AssertSectorsEqual(byte[] expected, byte[] actual, string what)
    {
        Assert.AreEqual(expected.Length, actual.Length, $"{what}: length");
        for (int s = 0; s < expected.Length / Sector; s++)
        {
            if (!expected.AsSpan(s * Sector, Sector).SequenceEqual(actual.AsSpan(s * Sector, Sector)))
            {
                Assert.Fail($"{what}: sector {s} differs");
            }
        }
    }

    /// <summary>Half whole-sector ranges, half arbitrary byte ranges, inside [0, size).</summary>
    private static (long Offset, int Length) RandomRange(Random random, int size, int maxLength)
    {
        if (random.Next(2) == 0)
        {
            int sectors = random.Next(1, Math.Min(16, size / Sector) + 1);
            return ((long)random.Next(0, (size / Sector) - sectors + 1) * Sector, sectors * Sector);
        }

        int length = random.Next(1, Math.Min(maxLength, size) + 1);
        return (random.Next(0, size - length + 1), length);
    }

    /// <summary>
    /// An fsync takes time: every flush sleeps before and after it takes effect, so writes of other threads land while a
    /// flush is under way (before it, covered; after it, not), as on a real disk.
    /// </summary>
    private sealed class SlowFsyncStorage(MemoryStorage inner) : IStorageProvider
    {
        public IStorageFile Open(string path, bool writable, StorageLock lockMode) => new File(inner.Open(path, writable, lockMode));

        public IStorageFile CreateNew(string path) => new File(inner.CreateNew(path));

        public bool Exists(string path) => inner.Exists(path);

        public void Delete(string path) => inner.Delete(path);

        public void Move(string sourcePath, string destinationPath, bool overwrite) => inner.Move(sourcePath, destinationPath, overwrite);

        public string IdentityOf(string path) => inner.IdentityOf(path);

        private sealed class File(IStorageFile file) : IStorageFile
        {
            public string Path => file.Path;

            public bool CanWrite => file.CanWrite;

            public long Length => file.Length;

            public int Read(long offset, Span<byte> buffer) => file.Read(offset, buffer);

            public void Write(long offset, ReadOnlySpan<byte> data) => file.Write(offset, data);

            public void SetLength(long length) => file.SetLength(length);

            public void Flush()
            {
                Thread.Sleep(1);
                file.Flush();
                Thread.Sleep(1);
            }

            public void Dispose() => file.Dispose();
        }
    }

    private sealed record Chain(string Top, string ImageFile, string Backing, bool AddCowBacking, byte[] Original);

    /// <summary>
    /// One write through the adapter: the whole sectors it stores (from <see cref="FirstSector"/>), the log window
    /// [<see cref="Begin"/>, <see cref="End"/>) its call spanned, and the clock tick taken after it returned.
    /// </summary>
    private sealed record PendingWrite(long FirstSector, byte[] Whole, int Begin, int End, long Completed);

    /// <summary>A flush: the clock ticks taken before the call and after it returned, and the log length after it returned.</summary>
    private sealed record FlushRecord(long Started, int EndLog, long Ended);

    /// <summary>The content one write stored into one sector, and the log index of the image-file write that stored it.</summary>
    private sealed record SectorVersion(byte[] Content, int LogIndex, long Completed);

    /// <summary>
    /// What a crashed disk may show. Every adapter write becomes exactly one image-file write in the storage log
    /// (whole sectors, read-modify-written at the edges); finding it there gives the real order of writes to a sector,
    /// even between threads. A flush promises the writes that returned before it started, from the moment it returned.
    /// </summary>
    private sealed class CrashModel
    {
        private readonly byte[] _original;
        private readonly string _imageFile;
        private readonly List<SectorVersion>[] _versions = new List<SectorVersion>[DiskSectors];
        private readonly List<FlushRecord> _flushes = [];

        public CrashModel(byte[] original, string imageFile)
        {
            _original = original;
            _imageFile = imageFile;
            for (int s = 0; s < DiskSectors; s++)
            {
                _versions[s] = [];
            }
        }

        public void AddWrites(IReadOnlyList<StorageOp> log, IEnumerable<PendingWrite> writes)
        {
            foreach (PendingWrite write in writes)
            {
                int found = -1;
                for (int i = write.Begin; i < write.End && found < 0; i++)
                {
                    StorageOp op = log[i];
                    if (op.Kind == StorageOpKind.Write && op.Path == _imageFile && op.Offset == write.FirstSector * Sector &&
                        op.Data.AsSpan().SequenceEqual(write.Whole))
                    {
                        found = i;
                    }
                }

                Assert.IsGreaterThanOrEqualTo(0, found, $"no image-file write of sectors {write.FirstSector}+{write.Whole.Length / Sector} " +
                    $"with the expected bytes in log [{write.Begin}, {write.End}): a write was lost or torn before any crash");
                for (int i = 0; i < write.Whole.Length / Sector; i++)
                {
                    _versions[write.FirstSector + i].Add(new SectorVersion(write.Whole.AsSpan(i * Sector, Sector).ToArray(), found, write.Completed));
                }
            }

            foreach (List<SectorVersion> list in _versions)
            {
                list.Sort((a, b) => a.LogIndex.CompareTo(b.LogIndex));
            }
        }

        public void AddFlushes(IEnumerable<FlushRecord> flushes) => _flushes.AddRange(flushes);

        /// <summary>The disk as the writes stored before log index <paramref name="point"/> left it (no crash).</summary>
        public byte[] ContentAfterAllWrites(int point)
        {
            byte[] result = (byte[])_original.Clone();
            for (int s = 0; s < DiskSectors; s++)
            {
                SectorVersion? last = _versions[s].LastOrDefault(v => v.LogIndex < point);
                last?.Content.CopyTo(result, s * Sector);
            }

            return result;
        }

        public void Verify(byte[] got, int point, string what)
        {
            long promisedBefore = 0;
            foreach (FlushRecord flush in _flushes)
            {
                if (flush.EndLog <= point)
                {
                    promisedBefore = Math.Max(promisedBefore, flush.Started);
                }
            }

            for (int s = 0; s < DiskSectors; s++)
            {
                ReadOnlySpan<byte> sector = got.AsSpan(s * Sector, Sector);
                List<SectorVersion> versions = _versions[s];
                int promised = versions.FindLastIndex(v => v.Completed < promisedBefore);
                bool ok = promised < 0 && sector.SequenceEqual(_original.AsSpan(s * Sector, Sector));
                for (int i = Math.Max(promised, 0); i < versions.Count && !ok && versions[i].LogIndex < point; i++)
                {
                    ok = sector.SequenceEqual(versions[i].Content);
                }

                if (!ok)
                {
                    byte[] held = sector.ToArray();
                    int any = versions.FindIndex(v => held.AsSpan().SequenceEqual(v.Content));
                    string found = sector.SequenceEqual(_original.AsSpan(s * Sector, Sector)) ? "its original content"
                        : any >= 0 ? $"version {any} (stored at log {versions[any].LogIndex})"
                        : !sector.ContainsAnyExcept((byte)0) ? "zeros nobody wrote" : "bytes nobody wrote";
                    string promise = promised >= 0 ? $"version {promised} (log {versions[promised].LogIndex}) was acknowledged by a completed flush"
                        : "no write was acknowledged by a completed flush";
                    Assert.Fail($"{what}: sector {s} holds {found}; {promise}; {versions.Count(v => v.LogIndex < point)} of " +
                        $"{versions.Count} versions stored before the crash");
                }
            }
        }
    }
}
