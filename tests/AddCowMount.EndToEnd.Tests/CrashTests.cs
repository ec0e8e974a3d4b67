using System.Diagnostics;
using System.Runtime.Versioning;
using AddCowMount.EndToEnd.Tests.Support;
using Microsoft.Win32.SafeHandles;

namespace AddCowMount.EndToEnd.Tests;

/// <summary>
/// kill -9 of the mount process while two writers work through it: one fsyncs every write, one never does.
/// After each crash `addcow unmount` clears the dead mount, `check` is clean, every fsync'ed write reads back
/// exactly, and every other sector holds one of the versions written to it (never anything else).
/// </summary>
[TestClass]
[TestCategory("Integration")]
[OSCondition(OperatingSystems.Linux)]
[SupportedOSPlatform("linux")]
public sealed class CrashTests
{
    private const long DiskSize = 32L << 20;
    private const long RegionB = DiskSize / 2;
    private const int Sector = 512;
    private const int Rounds = 4;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void KillMinus9_DuringWrites_CheckClean_AndEveryFsyncedByteReadsBack()
    {
        E2eEnvironment.Require();
        int seed = Environment.TickCount & 0x7fffffff;
        TestContext.WriteLine($"seed {seed}");
        var random = new Random(seed);
        using var ws = new Workspace(DiskSize, seed: 3);
        string image = ws.CreateOverlay();
        string mnt = ws.NewMountPoint();
        byte[] model = File.ReadAllBytes(ws.BasePath);
        var total = Stopwatch.StartNew();

        for (int round = 0; round < Rounds; round++)
        {
            ForegroundMount mount = ws.StartForegroundMount(image, mnt);
            string img = Path.Combine(mnt, "vm.img");
            var fsynced = new Writer(img, random.Next(), 0, RegionB, fsync: true);
            var unsynced = new Writer(img, random.Next(), RegionB, DiskSize - RegionB, fsync: false);
            fsynced.Start();
            unsynced.Start();
            Assert.IsTrue(SpinWait.SpinUntil(() => fsynced.Acknowledged >= 3 || fsynced.Failure is not null, TimeSpan.FromSeconds(30)),
                "the fsync'ing writer gets going");
            Assert.IsNull(fsynced.Failure, $"writes before the crash succeed: {fsynced.Failure}");
            int delay = random.Next(0, 400);
            Thread.Sleep(delay);

            long killTicks = Stopwatch.GetTimestamp();
            mount.Process.Kill(); // SIGKILL
            Assert.IsTrue(mount.Process.WaitForExit(TimeSpan.FromSeconds(10)));
            Assert.IsTrue(fsynced.Join() && unsynced.Join(), "the writers stop once the mount is gone");
            TestReport.Line(TestContext, $"seed {seed} round {round}: killed after {delay} ms more; {fsynced.Acknowledged} fsync'ed writes acknowledged, " +
                $"{unsynced.Issued.Count} unsynced writes issued; " +
                $"{fsynced.AcknowledgedWrites.Count(w => w.AckTicks > killTicks)} of them acknowledged after SIGKILL was sent; writers ended with: {fsynced.LastError} / {unsynced.LastError}");

            ProcessResult cleared = ws.AddCowOk("unmount", mnt);
            StringAssert.Contains(cleared.Output, "Cleared a stale mount", cleared.Describe());
            Assert.IsFalse(Workspace.IsMounted(mnt));
            ProcessResult check = ws.AddCowOk("check", image);
            StringAssert.Contains(check.Output, "No errors", check.Describe());

            string converted = ws.Combine($"after-crash-{round}.raw");
            ws.AddCowOk("convert", "-O", "raw", image, converted);
            byte[] actual = File.ReadAllBytes(converted);
            File.Delete(converted);
            Verify(model, actual, fsynced, unsynced, killTicks, round);
            model = actual;
        }

        // After all the crashes a normal mount serves exactly the recovered disk.
        ws.MountBackground(image, mnt, "--read-only");
        string copy = ws.Combine("final.raw");
        File.Copy(Path.Combine(mnt, "vm.img"), copy);
        CollectionAssert.AreEqual(model, File.ReadAllBytes(copy), "a clean mount after the crashes shows the recovered disk");
        ws.AddCowOk("unmount", mnt);
        TestContext.WriteLine($"{Rounds} crash rounds in {total.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>
    /// Acknowledged (fsync'ed) writes must all be there. A write not acknowledged (the fsync'ing writer's
    /// last one, all of the other writer's) may or may not be: each sector it touched holds one of that
    /// sector's versions; every other sector holds exactly what it held before the round.
    /// </summary>
    private static void Verify(byte[] before, byte[] actual, Writer fsynced, Writer unsynced, long killTicks, int round)
    {
        byte[] expected = (byte[])before.Clone();
        foreach (Write w in fsynced.AcknowledgedWrites)
        {
            w.Data.CopyTo(expected.AsSpan((int)w.Offset));
        }

        // Every acknowledged fsync is durable. (An earlier version saw "acknowledged" writes lost right after the
        // kill: .NET's RandomAccess.FlushToDisk returned success for an fsync that failed with ENOTCONN on the dead
        // mount, so those were never acknowledged by the kernel. The writer now calls fsync(2) itself.)
        var versions = new Dictionary<long, List<byte[]>>();
        List<Write> uncertain = [];
        if (fsynced.InFlight is { } last)
        {
            uncertain.Add(last);
        }

        uncertain.AddRange(unsynced.Issued);
        foreach (Write w in uncertain)
        {
            long first = w.Offset / Sector;
            long end = (w.Offset + w.Data.Length + Sector - 1) / Sector;
            for (long s = first; s < end; s++)
            {
                if (!versions.ContainsKey(s))
                {
                    versions[s] = [expected.AsSpan((int)(s * Sector), Sector).ToArray()];
                }
            }

            w.Data.CopyTo(expected.AsSpan((int)w.Offset));
            for (long s = first; s < end; s++)
            {
                versions[s].Add(expected.AsSpan((int)(s * Sector), Sector).ToArray());
            }
        }

        var problems = new List<string>();
        for (long s = 0; s < DiskSize / Sector && problems.Count < 8; s++)
        {
            ReadOnlySpan<byte> got = actual.AsSpan((int)(s * Sector), Sector);
            if (versions.TryGetValue(s, out List<byte[]>? allowed))
            {
                if (!ContainsVersion(allowed, got))
                {
                    problems.Add($"sector {s} (offset {s * Sector}) holds none of the {allowed.Count} versions written to it");
                }
            }
            else if (!got.SequenceEqual(expected.AsSpan((int)(s * Sector), Sector)))
            {
                problems.Add($"sector {s} (offset {s * Sector}) lost fsync'ed data or changed without being written; " + Explain(s, before, actual, fsynced));
            }
        }

        if (problems.Count > 0)
        {
            Assert.Fail($"round {round}:\n" + string.Join('\n', problems));
        }
    }

    private static string Explain(long sector, byte[] before, byte[] actual, Writer fsynced)
    {
        long at = sector * Sector;
        byte[] got = actual.AsSpan((int)at, Sector).ToArray();
        int firstDiff = got.AsSpan().CommonPrefixLength(before.AsSpan((int)at, Sector));
        IEnumerable<string> touching = fsynced.AcknowledgedWrites
            .Select((w, i) => (w, i))
            .Where(x => x.w.Offset < at + Sector && x.w.Offset + x.w.Data.Length > at)
            .Select(x => $"acknowledged write #{x.i} [{x.w.Offset}, {x.w.Offset + x.w.Data.Length}) " +
                $"(sector bytes from {Math.Max(0, x.w.Offset - at)}) matches {got.AsSpan((int)Math.Max(0, x.w.Offset - at)).CommonPrefixLength(x.w.Data.AsSpan((int)Math.Max(0, at - x.w.Offset)))} bytes");
        return $"bytes equal to the previous round's: {firstDiff}; writes over it: {string.Join("; ", touching.DefaultIfEmpty("none"))}";
    }

    private static bool ContainsVersion(List<byte[]> versions, ReadOnlySpan<byte> sector)
    {
        foreach (byte[] version in versions)
        {
            if (sector.SequenceEqual(version))
            {
                return true;
            }
        }

        return false;
    }

    private sealed record Write(long Offset, byte[] Data)
    {
        /// <summary>When fsync returned for it (0: never acknowledged).</summary>
        public long AckTicks { get; init; }
    }

    /// <summary>Writes random data at random unaligned places of its region through the mount, on its own thread, until the mount dies.</summary>
    private sealed class Writer
    {
        private readonly string _path;
        private readonly Random _random;
        private readonly long _start;
        private readonly long _length;
        private readonly bool _fsync;
        private readonly Thread _thread;
        private readonly List<Write> _acknowledged = [];
        private int _acknowledgedCount;

        public Writer(string path, int seed, long start, long length, bool fsync)
        {
            _path = path;
            _random = new Random(seed);
            _start = start;
            _length = length;
            _fsync = fsync;
            _thread = new Thread(Run) { IsBackground = true, Name = fsync ? "fsync writer" : "unsynced writer" };
        }

        public int Acknowledged => Volatile.Read(ref _acknowledgedCount);

        public IReadOnlyList<Write> AcknowledgedWrites => _acknowledged;

        /// <summary>Every write the unsynced writer started (none of them is promised).</summary>
        public List<Write> Issued { get; } = [];

        /// <summary>The fsync'ing writer's write that had not been acknowledged when the mount died.</summary>
        public Write? InFlight { get; private set; }

        public Exception? Failure { get; private set; }

        public string? LastError { get; private set; }

        public void Start() => _thread.Start();

        public bool Join() => _thread.Join(TimeSpan.FromSeconds(30));

        private void Run()
        {
            try
            {
                using SafeFileHandle handle = File.OpenHandle(_path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
                for (int i = 0; i < 100_000; i++)
                {
                    int size = _random.Next(1, 192 * 1024);
                    long offset = _start + _random.NextInt64(0, _length - size);
                    byte[] data = new byte[size];
                    _random.NextBytes(data);
                    var write = new Write(offset, data);
                    if (_fsync)
                    {
                        InFlight = write;
                    }
                    else
                    {
                        Issued.Add(write);
                    }

                    RandomAccess.Write(handle, data, offset);
                    if (_fsync)
                    {
                        StrictFsync.Flush(handle);
                        _acknowledged.Add(write with { AckTicks = Stopwatch.GetTimestamp() });
                        InFlight = null;
                        Interlocked.Increment(ref _acknowledgedCount);
                    }
                }

                Failure = new InvalidOperationException("the writer ran out of writes before the crash");
            }
            catch (IOException ex)
            {
                LastError = ex.Message;
                // The mount died under us: expected, that is the crash.
            }
            catch (Exception ex)
            {
                Failure = ex;
            }
        }
    }
}

/// <summary>fsync(2) that reports every error: .NET's RandomAccess.FlushToDisk swallows ENOTCONN from a dead FUSE mount.</summary>
internal static partial class StrictFsync
{
    public static void Flush(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        bool added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            while (FSync((int)handle.DangerousGetHandle()) != 0)
            {
                int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (errno != 4)
                {
                    throw new IOException($"fsync failed: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)}", errno);
                }
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);
}
