using AddCowMount.Benchmarks.Infrastructure;
using AddCowMount.Core.Alignment;
using BenchmarkDotNet.Attributes;
using Microsoft.Win32.SafeHandles;

namespace AddCowMount.Benchmarks;

/// <summary>
/// Random 4 KiB writes to a fresh overlay with durability: our policy (the engine, a Flush every 64 writes:
/// image fsync, dirty bitmap bytes, add-cow fsync) against the seed's (data pwrite, bitmap sector
/// read-modify-write and fdatasync of the add-cow file on every write; see <see cref="SeedWritePath"/>).
/// Both start every pass from a new overlay made by AddCowImage.Create, the same offsets, the same data.
/// Target: ours >= 20x the seed's. Two references bound what any policy can reach on the machine: the same
/// writes to a new sparse raw file with an fsync every 64, and with no sync at all (a pwrite's own cost).
/// </summary>
public class FlushPolicyBenchmarks
{
    private const int RequestSize = 4096;
    private const int Requests = 4096;
    private const int FlushEvery = 64;

    private readonly byte[] _buffer = BenchFiles.RandomBuffer(RequestSize);
    private readonly long[] _offsets = BenchFiles.RandomOffsets(Requests, RequestSize, seed: 4242);
    private SectorAligningDisk? _disk;
    private SeedWritePath? _seed;
    private SafeFileHandle? _raw;

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

    [IterationSetup(Targets = [nameof(RawFsyncEvery64), nameof(RawNoSync)])]
    public void CreateRaw()
    {
        string path = BenchFiles.PathOf("policy-raw.img");
        File.Delete(path);
        _raw = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite);
        RandomAccess.SetLength(_raw, BenchFiles.DiskSize);
    }

    [IterationCleanup]
    public void Close()
    {
        _raw?.Dispose();
        _raw = null;
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

    [Benchmark(OperationsPerInvoke = Requests, Description = "reference: sparse raw file, fsync every 64")]
    [RequestSize(RequestSize)]
    public void RawFsyncEvery64()
    {
        for (int i = 0; i < _offsets.Length; i++)
        {
            RandomAccess.Write(_raw!, _buffer, _offsets[i]);
            if ((i + 1) % FlushEvery == 0)
            {
                RandomAccess.FlushToDisk(_raw!);
            }
        }
    }

    [Benchmark(OperationsPerInvoke = Requests, Description = "reference: sparse raw file, no sync")]
    [RequestSize(RequestSize)]
    public void RawNoSync()
    {
        foreach (long offset in _offsets)
        {
            RandomAccess.Write(_raw!, _buffer, offset);
        }
    }
}
