using AddCowMount.Benchmarks.Infrastructure;
using AddCowMount.Core.Alignment;
using BenchmarkDotNet.Attributes;
using Microsoft.Win32.SafeHandles;

namespace AddCowMount.Benchmarks;

/// <summary>Where a benchmark's file pages are when a pass starts.</summary>
public enum CacheState
{
    /// <summary>Evicted (posix_fadvise DONTNEED) before every pass: the bytes come from the disk.</summary>
    Cold,

    /// <summary>In the page cache: measures the software path's own cost.</summary>
    Warm,
}

/// <summary>
/// Sequential 1 MiB reads of the whole 256 MiB disk: plain <see cref="RandomAccess"/> on a raw file (baseline)
/// against the engine (<see cref="Core.Engine.AddCowImage"/> + <see cref="SectorAligningDisk"/>) reading a fully
/// allocated overlay (image file) and a fresh one (backing file). Target: engine >= 0.9x raw.
/// </summary>
[GroupBenchmarksBy(BenchmarkDotNet.Configs.BenchmarkLogicalGroupRule.ByParams)]
public class SequentialReadBenchmarks
{
    private const int RequestSize = 1024 * 1024;
    private const int Requests = (int)(BenchFiles.DiskSize / RequestSize);

    private readonly byte[] _buffer = new byte[RequestSize];
    private SafeFileHandle? _raw;
    private SectorAligningDisk? _allocated;
    private SectorAligningDisk? _fresh;
    private string _freshPath = string.Empty;

    [Params(CacheState.Cold, CacheState.Warm)]
    public CacheState Cache { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        BenchFiles.EnsureCreated();
        _freshPath = BenchFiles.CreateFreshOverlay("seqread-fresh");
        _raw = File.OpenHandle(BenchFiles.PathOf(BenchFiles.RawName), FileMode.Open, FileAccess.Read, FileShare.Read);
        _allocated = BenchFiles.OpenDisk(BenchFiles.PathOf(BenchFiles.AllocatedName), writable: false);
        _fresh = BenchFiles.OpenDisk(_freshPath, writable: false);
    }

    [IterationSetup]
    public void ResetCache()
    {
        string[] files =
        [
            BenchFiles.PathOf(BenchFiles.RawName), BenchFiles.PathOf(BenchFiles.BaseName),
            BenchFiles.PathOf(BenchFiles.AllocatedName), BenchFiles.PathOf(BenchFiles.AllocatedDataName), _freshPath,
        ];
        if (Cache == CacheState.Cold)
        {
            BenchFiles.DropCaches(files);
        }
        else
        {
            BenchFiles.WarmCaches(files);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _raw?.Dispose();
        _allocated?.Dispose();
        _fresh?.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Requests, Description = "raw file, RandomAccess")]
    [RequestSize(RequestSize)]
    public void Raw()
    {
        for (int i = 0; i < Requests; i++)
        {
            BenchFiles.ReadFully(_raw!, _buffer, (long)i * RequestSize);
        }
    }

    [Benchmark(OperationsPerInvoke = Requests, Description = "engine, allocated (image file)")]
    [RequestSize(RequestSize)]
    public void EngineAllocated()
    {
        for (int i = 0; i < Requests; i++)
        {
            _allocated!.Read((long)i * RequestSize, _buffer);
        }
    }

    [Benchmark(OperationsPerInvoke = Requests, Description = "engine, fresh (backing file)")]
    [RequestSize(RequestSize)]
    public void EngineBacking()
    {
        for (int i = 0; i < Requests; i++)
        {
            _fresh!.Read((long)i * RequestSize, _buffer);
        }
    }
}
