using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using System.Text.Json;
using System.Text.RegularExpressions;
using AddCowMount.EndToEnd.Tests.Support;

namespace AddCowMount.EndToEnd.Tests;

/// <summary>
/// kill -9 of the mount process while fio writes through it with a verify workload that fsyncs after every write
/// (four jobs on disjoint slices, random 4k-16k blocks, crc32c headers). fio saves each job's verify state when its
/// I/O fails; after `addcow unmount` clears the dead mount, `check` is clean, and a remount plus fio's verify-only
/// pass with that state (`--verify_state_load`) re-reads every write fio completed and checks its checksum.
/// <para>
/// What counts as promised: fio's iolog (one per job) orders write, fsync, write, fsync... A write whose fsync
/// returned (the next write was issued) is acknowledged and must verify. A job whose last logged operation is an
/// fsync died in that fsync: its last write completed but was never acknowledged, fio's state still lists it as
/// completed, so fio verifies it too; only that block may fail (the engine keeps allocation bits in memory until a
/// flush, so such a write legitimately reads as the base again). A job whose last logged operation is a write died in
/// that write, and fio does not verify it. Any other verify failure, and any shortfall in the bytes fio verified,
/// fails the test.
/// </para>
/// </summary>
[TestClass]
[TestCategory("Integration")]
[OSCondition(OperatingSystems.Linux)]
[SupportedOSPlatform("linux")]
public sealed partial class FioCrashTests
{
    private const long DiskSize = 64L << 20;
    private const int Jobs = 4;
    private const long JobStart = 2L << 20;
    private const long JobStride = 15L << 20;
    private const long JobSize = 14L << 20;
    private const int Rounds = 3;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void KillMinus9_DuringFioVerifyWorkloadWithFsync_CheckClean_AndEveryAcknowledgedWriteVerifies()
    {
        E2eEnvironment.Require("fio");
        int seed = Environment.TickCount & 0x7fffffff;
        var random = new Random(seed);
        TestReport.Line(TestContext, $"seed {seed}: {Rounds} rounds, {Jobs} fio jobs, fsync after every write");
        using var ws = new Workspace(DiskSize, seed: 5);
        string image = ws.CreateOverlay();
        string mnt = ws.NewMountPoint();
        string img = Path.Combine(mnt, "vm.img");
        string imageFile = ws.Combine("vm.raw");
        var total = Stopwatch.StartNew();

        for (int round = 0; round < Rounds; round++)
        {
            int fioSeed = random.Next(1, int.MaxValue);
            int delay = random.Next(300, 1200);
            string dir = ws.Combine($"round{round}");
            Directory.CreateDirectory(dir);

            // Write phase, killed under fio's feet. rate_iops caps each job's ~1,400 writes at 1,000 a second, so the kill
            // always lands mid-run, even on a fast machine; the state files (local-jN-INDEX-verify.state) land in the round's folder.
            ForegroundMount mount = ws.StartForegroundMount(image, mnt);
            DateTime writtenBefore = File.GetLastWriteTimeUtc(imageFile);
            using Process writer = ProcessRunner.Start(E2eEnvironment.Tool("fio"), FioArguments(img, fioSeed, verifyOnly: false), workingDirectory: dir);
            Task<string> writerOutput = writer.StandardOutput.ReadToEndAsync();
            Task<string> writerErrors = writer.StandardError.ReadToEndAsync();
            // The delay counts from fio's first write landing in the image file, not from its start: on a loaded machine
            // fio can take longer than the delay to start, and a kill before any I/O proves nothing.
            WaitForFirstWrites(imageFile, writtenBefore, writer);
            Thread.Sleep(delay);
            mount.Process.Kill(); // SIGKILL
            Assert.IsTrue(mount.Process.WaitForExit(TimeSpan.FromSeconds(10)), "the mount process dies");
            Assert.IsTrue(writer.WaitForExit(TimeSpan.FromSeconds(60)), "fio stops once the mount is gone");
            writer.WaitForExit();
            string fioErrors = writerErrors.Result;
            _ = writerOutput.Result;
            Assert.AreNotEqual(0, writer.ExitCode, $"fio was still writing when the mount died (else the round proves nothing):\n{fioErrors}");
            StringAssert.Contains(fioErrors, "Transport endpoint is not connected", "fio's I/O failed because the mount died");

            JobLog[] logs = [.. Enumerable.Range(0, Jobs).Select(j => JobLog.Read(Path.Combine(dir, $"j{j}.iolog")))];
            for (int j = 0; j < Jobs; j++)
            {
                Assert.HasCount(1, Directory.GetFiles(dir, $"local-j{j}-*-verify.state"), $"fio saved job j{j}'s verify state");
            }

            ProcessResult cleared = ws.AddCowOk("unmount", mnt);
            StringAssert.Contains(cleared.Output, "Cleared a stale mount", cleared.Describe());
            Assert.IsFalse(Workspace.IsMounted(mnt));
            ProcessResult check = ws.AddCowOk("check", image);
            StringAssert.Contains(check.Output, "No errors", check.Describe());

            ws.MountBackground(image, mnt);
            ProcessResult verify = ProcessRunner.Run(E2eEnvironment.Tool("fio"), FioArguments(img, fioSeed, verifyOnly: true), workingDirectory: dir);
            ws.AddCowOk("unmount", mnt);
            string summary = CheckVerify(verify, logs, round);

            TestReport.Line(TestContext, $"seed {seed} round {round}: fio seed {fioSeed}, killed {delay} ms after fio started; " +
                $"acknowledged writes {logs.Sum(l => l.Acknowledged.Count)} ({logs.Sum(l => l.AcknowledgedBytes) >> 10} KiB), " +
                $"killed in fsync {logs.Count(l => l.Unacknowledged is not null)} / in write {logs.Count(l => l.Unacknowledged is null)} jobs; {summary}");
        }

        TestContext.WriteLine($"{Rounds} crash rounds in {total.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>
    /// fio's verify-only pass must verify, in every job, exactly the acknowledged writes plus (when the job died in
    /// an fsync) that fsync's write; a failed block is only allowed for the latter.
    /// </summary>
    private static string CheckVerify(ProcessResult verify, JobLog[] logs, int round)
    {
        var allowed = new HashSet<long>(logs.Where(l => l.Unacknowledged is not null).Select(l => l.Unacknowledged!.Value.Offset));
        // With verify_fatal=0 fio exits 0 even when blocks fail (seen with a deliberately damaged block), so its stderr
        // decides: every line must be a failure of an allowed block (or the CRC dump that follows one).
        var failedBlocks = new List<long>();
        var unexplained = new List<string>();
        foreach (string line in verify.Error.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0))
        {
            Match failure = VerifyFailure().Match(line);
            if (failure.Success && allowed.Contains(long.Parse(failure.Groups[1].Value, CultureInfo.InvariantCulture)))
            {
                failedBlocks.Add(long.Parse(failure.Groups[1].Value, CultureInfo.InvariantCulture));
            }
            else if (!line.StartsWith("Expected CRC:", StringComparison.Ordinal) && !line.StartsWith("Received CRC:", StringComparison.Ordinal))
            {
                unexplained.Add(line);
            }
        }

        Assert.IsEmpty(unexplained, $"round {round}: fio's verify of acknowledged writes reported:\n{string.Join('\n', unexplained)}\n{verify.Describe()}");
        Assert.IsTrue(verify.ExitCode == 0 || failedBlocks.Count > 0, $"round {round}: fio's verify failed without naming a block\n{verify.Describe()}");
        failedBlocks = [.. failedBlocks.Distinct()];

        string json = verify.Output[verify.Output.IndexOf('{', StringComparison.Ordinal)..];
        using JsonDocument document = JsonDocument.Parse(json);
        var verifiedBytes = document.RootElement.GetProperty("jobs").EnumerateArray()
            .ToDictionary(e => e.GetProperty("jobname").GetString()!, e => e.GetProperty("read").GetProperty("io_bytes").GetInt64());
        for (int j = 0; j < Jobs; j++)
        {
            JobLog log = logs[j];
            long verified = verifiedBytes[$"j{j}"];
            long expected = log.AcknowledgedBytes + (log.Unacknowledged?.Length ?? 0);
            Assert.AreEqual(expected, verified, $"round {round}: fio's verify pass of job j{j} read every acknowledged write " +
                $"({log.Acknowledged.Count} writes, {log.AcknowledgedBytes} bytes, + {log.Unacknowledged?.Length ?? 0} bytes of the write whose fsync died)\n{verify.Describe()}");
        }

        return $"fio verified {verifiedBytes.Values.Sum() >> 10} KiB, " +
            $"{failedBlocks.Count} unacknowledged block(s) read back old data, {logs.Count(l => l.Unacknowledged is not null) - failedBlocks.Count} kept the new";
    }

    private static void WaitForFirstWrites(string imageFile, DateTime writtenBefore, Process writer)
    {
        var waited = Stopwatch.StartNew();
        while (File.GetLastWriteTimeUtc(imageFile) <= writtenBefore)
        {
            Assert.IsFalse(writer.HasExited, "fio ended before writing anything");
            Assert.IsLessThan(60, waited.Elapsed.TotalSeconds, "fio wrote nothing through the mount within 60 s");
            Thread.Sleep(20);
        }
    }

    private static string[] FioArguments(string file, int seed, bool verifyOnly)
    {
        // Global options first, then one --name per job so each job has its own iolog and state file.
        var arguments = new List<string>
        {
            $"--filename={file}", "--rw=randwrite", "--bsrange=4k-16k", "--direct=1", "--ioengine=psync", "--iodepth=1",
            $"--size={JobSize}", "--fsync=1", "--verify=crc32c", $"--randseed={seed}", "--rate_iops=1000",
            "--output-format=json",
        };
        arguments.AddRange(verifyOnly
            ? ["--verify_only", "--verify_state_load=1", "--verify_fatal=0", "--verify_dump=0"]
            : ["--do_verify=0", "--verify_state_save=1"]);
        for (int j = 0; j < Jobs; j++)
        {
            arguments.Add($"--name=j{j}");
            arguments.Add($"--offset={JobStart + (j * JobStride)}");
            if (!verifyOnly)
            {
                arguments.Add($"--write_iolog=j{j}.iolog");
            }
        }

        return [.. arguments];
    }

    // fio's verify failures end with "(requested block: offset=N, length=M...)".
    [GeneratedRegex(@"requested block: offset=(\d+), length=(\d+)")]
    private static partial Regex VerifyFailure();

    private readonly record struct Block(long Offset, long Length);

    /// <summary>One job's write iolog (fio version 3 format: time, file, action, offset, length), read after the crash.</summary>
    private sealed class JobLog
    {
        public List<Block> Acknowledged { get; } = [];

        /// <summary>The write whose fsync was in flight when the mount died (completed, never acknowledged).</summary>
        public Block? Unacknowledged { get; private set; }

        public long AcknowledgedBytes => Acknowledged.Sum(b => b.Length);

        public static JobLog Read(string path)
        {
            Assert.IsTrue(File.Exists(path), $"fio wrote {path}");
            var log = new JobLog();
            Block? pending = null; // last write, not yet known to be fsync'ed
            bool synced = false;
            foreach (string line in File.ReadLines(path))
            {
                string[] f = line.Split(' ');
                if (f.Length < 5)
                {
                    continue;
                }

                switch (f[2])
                {
                    case "write":
                        if (pending is { } done && synced)
                        {
                            // The next write is issued only after the previous fsync returned.
                            log.Acknowledged.Add(done);
                        }

                        Assert.IsTrue(pending is null || synced, $"{path}: two writes without an fsync between them");
                        pending = new Block(long.Parse(f[3], CultureInfo.InvariantCulture), long.Parse(f[4], CultureInfo.InvariantCulture));
                        synced = false;
                        break;
                    case "sync":
                        synced = true;
                        break;
                    default:
                        break;
                }
            }

            // Last entry a write: that write failed (fio does not count it). Last entry its fsync: the write
            // completed, the fsync died with the mount.
            if (pending is { } last && synced)
            {
                log.Unacknowledged = last;
            }

            return log;
        }
    }
}
