using AddCowMount.Benchmarks.Infrastructure;
using AddCowMount.Core.Alignment;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.Win32.SafeHandles;

namespace AddCowMount.Benchmarks;

/// <summary>
/// Sequential 1 MiB writes of the whole 256 MiB disk, each pass ending with a flush to the disk (fsync for the
/// raw file, the engine's Flush: image fsync, bitmap, add-cow fsync), so a pass measures durable throughput
/// rather than the page cache. Two pairs: overwriting data that exists (raw file vs allocated overlay), and
/// first touch (a new sparse raw file vs a fresh overlay whose image file is sparse), new files every pass.
/// </summary>
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class SequentialWriteBenchmarks
{
    private const int RequestSize = 1024 * 1024;
    private const int Requests = (int)(BenchFiles.DiskSize / RequestSize);

    private readonly byte[] _buffer = BenchFiles.RandomBuffer(RequestSize);
    private SafeFileHandle? _raw;
    private SectorAligningDisk? _disk;

    [GlobalSetup]
    public void Setup() => BenchFiles.EnsureCreated();

    [IterationSetup(Targets = [nameof(RawOverwrite)])]
    public void OpenRaw() => _raw = File.OpenHandle(BenchFiles.PathOf(BenchFiles.RawName), FileMode.Open, FileAccess.ReadWrite, FileShare.Read);

    [IterationSetup(Targets = [nameof(RawFirstTouch)])]
    public void CreateRaw()
    {
        string path = BenchFiles.PathOf("seqwrite-new.img");
        File.Delete(path);
        _raw = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read);
        RandomAccess.SetLength(_raw, BenchFiles.DiskSize);
    }

    [IterationSetup(Targets = [nameof(EngineOverwrite)])]
    public void OpenAllocated() => _disk = BenchFiles.OpenDisk(BenchFiles.PathOf(BenchFiles.AllocatedName), writable: true);

    [IterationSetup(Targets = [nameof(EngineFirstTouch)])]
    public void CreateOverlay() => _disk = BenchFiles.OpenDisk(BenchFiles.CreateFreshOverlay("seqwrite-fresh"), writable: true);

    [IterationCleanup]
    public void Close()
    {
        _raw?.Dispose();
        _raw = null;
        _disk?.Dispose();
        _disk = null;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Requests, Description = "raw file, RandomAccess + fsync")]
    [BenchmarkCategory("SeqWrite overwrite")]
    [RequestSize(RequestSize)]
    public void RawOverwrite() => WriteRaw();

    [Benchmark(OperationsPerInvoke = Requests, Description = "engine, allocated overlay + Flush")]
    [BenchmarkCategory("SeqWrite overwrite")]
    [RequestSize(RequestSize)]
    public void EngineOverwrite() => WriteEngine();

    [Benchmark(Baseline = true, OperationsPerInvoke = Requests, Description = "new sparse raw file + fsync")]
    [BenchmarkCategory("SeqWrite first touch")]
    [RequestSize(RequestSize)]
    public void RawFirstTouch() => WriteRaw();

    [Benchmark(OperationsPerInvoke = Requests, Description = "engine, fresh overlay + Flush")]
    [BenchmarkCategory("SeqWrite first touch")]
    [RequestSize(RequestSize)]
    public void EngineFirstTouch() => WriteEngine();

    private void WriteRaw()
    {
        for (int i = 0; i < Requests; i++)
        {
            RandomAccess.Write(_raw!, _buffer, (long)i * RequestSize);
        }

        RandomAccess.FlushToDisk(_raw!);
    }

    private void WriteEngine()
    {
        for (int i = 0; i < Requests; i++)
        {
            _disk!.Write((long)i * RequestSize, _buffer);
        }

        _disk!.Flush();
    }
}
