using AddCowMount.Benchmarks.Infrastructure;
using AddCowMount.Core.Alignment;
using BenchmarkDotNet.Attributes;

namespace AddCowMount.Benchmarks;

/// <summary>
/// Random 4 KiB writes to a fresh overlay with durability: our policy (the engine, a Flush every 64 writes:
/// image fsync, dirty bitmap bytes, add-cow fsync) against the seed's (data pwrite, bitmap sector
/// read-modify-write and fdatasync of the add-cow file on every write; see <see cref="SeedWritePath"/>).
/// Both start every pass from a new overlay made by AddCowImage.Create, the same offsets, the same data.
/// Target: ours >= 20x the seed's.
/// </summary>
public class FlushPolicyBenchmarks
{
    private const int RequestSize = 4096;
    private const int Requests = 2048;
    private const int FlushEvery = 64;

    private readonly byte[] _buffer = BenchFiles.RandomBuffer(RequestSize);
    private readonly long[] _offsets = BenchFiles.RandomOffsets(Requests, RequestSize, seed: 4242);
    private SectorAligningDisk? _disk;
    private SeedWritePath? _seed;

    [GlobalSetup]
    public void Setup() => BenchFiles.EnsureCreated();

    [IterationSetup(Target = nameof(SeedSyncPerWrite))]
    public void CreateSeedOverlay()
    {
        string path = BenchFiles.CreateFreshOverlay("policy-seed");
        _seed = new SeedWritePath(path, BenchFiles.PathOf("policy-seed.data"), BenchFiles.DiskSize / 512);
    }

    [IterationSetup(Target = nameof(EngineFlushEvery64))]
    public void CreateEngineOverlay() => _disk = BenchFiles.OpenDisk(BenchFiles.CreateFreshOverlay("policy-engine"), writable: true);

    [IterationCleanup]
    public void Close()
    {
        _seed?.Dispose();
        _seed = null;
        _disk?.Dispose();
        _disk = null;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Requests, Description = "seed: bitmap write + fdatasync per write")]
    [RequestSize(RequestSize)]
    public void SeedSyncPerWrite()
    {
        foreach (long offset in _offsets)
        {
            _seed!.Write(offset / 512, _buffer);
        }
    }

    [Benchmark(OperationsPerInvoke = Requests, Description = "engine: Flush every 64 writes")]
    [RequestSize(RequestSize)]
    public void EngineFlushEvery64()
    {
        for (int i = 0; i < _offsets.Length; i++)
        {
            _disk!.Write(_offsets[i], _buffer);
            if ((i + 1) % FlushEvery == 0)
            {
                _disk.Flush();
            }
        }
    }
}
