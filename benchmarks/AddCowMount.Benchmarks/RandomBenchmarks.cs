using AddCowMount.Benchmarks.Infrastructure;
using AddCowMount.Core.Alignment;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.Win32.SafeHandles;

namespace AddCowMount.Benchmarks;

/// <summary>
/// Random 4 KiB requests (the same seeded offsets for every candidate) with the files in the page cache, no
/// flush: this isolates the per-request cost of the engine (range lock, bitmap lookup or update, adapter)
/// against a bare pread/pwrite. Cold random 4 KiB I/O would only measure the disk's IOPS.
/// </summary>
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class RandomBenchmarks
{
    private const int RequestSize = 4096;
    private const int Requests = 16384;

    private readonly byte[] _buffer = BenchFiles.RandomBuffer(RequestSize);
    private readonly long[] _offsets = BenchFiles.RandomOffsets(Requests, RequestSize);
    private SafeFileHandle? _raw;
    private SectorAligningDisk? _disk;

    [GlobalSetup]
    public void Setup()
    {
        BenchFiles.EnsureCreated();
        BenchFiles.WarmCaches(BenchFiles.PathOf(BenchFiles.RawName), BenchFiles.PathOf(BenchFiles.BaseName),
            BenchFiles.PathOf(BenchFiles.AllocatedDataName));
    }

    [IterationSetup(Targets = [nameof(RawRead), nameof(RawWrite)])]
    public void OpenRaw() => _raw = File.OpenHandle(BenchFiles.PathOf(BenchFiles.RawName), FileMode.Open, FileAccess.ReadWrite, FileShare.Read);

    [IterationSetup(Targets = [nameof(EngineReadAllocated), nameof(EngineWriteAllocated)])]
    public void OpenAllocated() => _disk = BenchFiles.OpenDisk(BenchFiles.PathOf(BenchFiles.AllocatedName), writable: true);

    [IterationSetup(Targets = [nameof(EngineReadBacking), nameof(EngineWriteFirstTouch)])]
    public void CreateOverlay() => _disk = BenchFiles.OpenDisk(BenchFiles.CreateFreshOverlay("random-fresh"), writable: true);

    [IterationCleanup]
    public void Close()
    {
        _raw?.Dispose();
        _raw = null;
        _disk?.Dispose();
        _disk = null;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Requests, Description = "raw file, RandomAccess")]
    [BenchmarkCategory("RandRead 4K")]
    [RequestSize(RequestSize)]
    public void RawRead()
    {
        foreach (long offset in _offsets)
        {
            BenchFiles.ReadFully(_raw!, _buffer, offset);
        }
    }

    [Benchmark(OperationsPerInvoke = Requests, Description = "engine, allocated (image file)")]
    [BenchmarkCategory("RandRead 4K")]
    [RequestSize(RequestSize)]
    public void EngineReadAllocated() => ReadEngine();

    [Benchmark(OperationsPerInvoke = Requests, Description = "engine, fresh (backing file)")]
    [BenchmarkCategory("RandRead 4K")]
    [RequestSize(RequestSize)]
    public void EngineReadBacking() => ReadEngine();

    [Benchmark(Baseline = true, OperationsPerInvoke = Requests, Description = "raw file, RandomAccess")]
    [BenchmarkCategory("RandWrite 4K")]
    [RequestSize(RequestSize)]
    public void RawWrite()
    {
        foreach (long offset in _offsets)
        {
            RandomAccess.Write(_raw!, _buffer, offset);
        }
    }

    [Benchmark(OperationsPerInvoke = Requests, Description = "engine, allocated overlay")]
    [BenchmarkCategory("RandWrite 4K")]
    [RequestSize(RequestSize)]
    public void EngineWriteAllocated() => WriteEngine();

    [Benchmark(OperationsPerInvoke = Requests, Description = "engine, fresh overlay (first touch)")]
    [BenchmarkCategory("RandWrite 4K")]
    [RequestSize(RequestSize)]
    public void EngineWriteFirstTouch() => WriteEngine();

    private void ReadEngine()
    {
        foreach (long offset in _offsets)
        {
            _disk!.Read(offset, _buffer);
        }
    }

    private void WriteEngine()
    {
        foreach (long offset in _offsets)
        {
            _disk!.Write(offset, _buffer);
        }
    }
}
