using AddCowMount.Benchmarks.Infrastructure;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;

namespace AddCowMount.Benchmarks;

/// <summary>
/// Entry point: makes the shared files once (untimed, before any benchmark process starts), then runs the
/// suite. Every benchmark is one process, a ShortRun-style job (1 launch, 2 warmup, 7 measured iterations: three were too few on a
/// shared VM disk, where single passes vary by 2x)
/// with one invocation per iteration: each invocation is a whole pass of many requests
/// (<c>OperationsPerInvoke</c>), so iteration setup can reset caches or overlays between passes.
/// Usage: <c>dotnet run -c Release -- --filter '*'</c> (BenchmarkDotNet's switches apply).
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (!OperatingSystem.IsLinux())
        {
            Console.Error.WriteLine("The benchmarks drop page caches with posix_fadvise and sync with fdatasync: run them on Linux.");
            return 2;
        }

        if (Directory.Exists(BenchFiles.Folder))
        {
            Directory.Delete(BenchFiles.Folder, recursive: true);
        }

        Console.WriteLine($"Preparing benchmark files in {BenchFiles.Folder} ({BenchFiles.DiskSize / BenchFiles.MiB} MiB disk)...");
        BenchFiles.EnsureCreated();

        Job job = Job.ShortRun.WithWarmupCount(2).WithIterationCount(7).WithInvocationCount(1).WithUnrollFactor(1).WithId("Short7");
        IConfig config = DefaultConfig.Instance
            .AddJob(job.AsDefault())
            .AddColumn(new ThroughputColumn(iops: false), new ThroughputColumn(iops: true));
        try
        {
            var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
            return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
        }
        finally
        {
            if (Environment.GetEnvironmentVariable("ADDCOW_BENCH_KEEP") != "1" && Directory.Exists(BenchFiles.Folder))
            {
                Directory.Delete(BenchFiles.Folder, recursive: true);
            }
        }
    }
}
