using AddCowMount.Core.Alignment;
using AddCowMount.Core.Engine;
using Microsoft.Win32.SafeHandles;

namespace AddCowMount.Benchmarks.Infrastructure;

/// <summary>
/// The files every benchmark works on, in one folder (<c>ADDCOW_BENCH_DIR</c>, default
/// <c>$TMPDIR/addcow-bench</c>) shared by BenchmarkDotNet's per-benchmark processes, made once per run:
/// <list type="bullet">
/// <item><c>base.raw</c>: <see cref="DiskSize"/> bytes of seeded random data, the backing file;</item>
/// <item><c>raw.img</c>: a copy of it, the baseline plain <see cref="RandomAccess"/> works on;</item>
/// <item><c>allocated.add-cow</c> + <c>allocated.data</c>: an overlay on <c>base.raw</c> with every sector
/// written (reads come from its image file);</item>
/// <item>fresh overlays (<see cref="CreateFreshOverlay"/>): nothing allocated, reads come from the backing file.</item>
/// </list>
/// All files live on a real disk (not tmpfs), so flushes and cold reads cost what they cost for a user.
/// </summary>
internal static class BenchFiles
{
    public const long MiB = 1024 * 1024;

    /// <summary>256 MiB: large enough that a cold sequential pass is dominated by the disk, small enough for a few-minute suite.</summary>
    public const long DiskSize = 256 * MiB;

    public const string BaseName = "base.raw";
    public const string RawName = "raw.img";
    public const string AllocatedName = "allocated.add-cow";
    public const string AllocatedDataName = "allocated.data";

    private const string ReadyMarker = "ready-v1";

    public static string Folder { get; } = Environment.GetEnvironmentVariable("ADDCOW_BENCH_DIR") is { Length: > 0 } dir
        ? Path.GetFullPath(dir)
        : Path.Combine(Path.GetTempPath(), "addcow-bench");

    public static string PathOf(string name) => Path.Combine(Folder, name);

    /// <summary>Makes the shared files unless an earlier process of this run already did (a marker says so).</summary>
    public static void EnsureCreated()
    {
        string marker = PathOf(ReadyMarker);
        if (File.Exists(marker))
        {
            return;
        }

        Directory.CreateDirectory(Folder);
        foreach (string name in new[] { BaseName, RawName, AllocatedName, AllocatedDataName })
        {
            File.Delete(PathOf(name));
        }

        WriteRandomFiles(PathOf(BaseName), PathOf(RawName));
        AddCowImage.Create(PathOf(AllocatedName), new ImageCreateOptions { BackingFile = BaseName, ImageFile = AllocatedDataName });
        using (var disk = new SectorAligningDisk(AddCowImage.Open(PathOf(AllocatedName), new ImageOpenOptions { Writable = true })))
        using (SafeFileHandle source = File.OpenHandle(PathOf(BaseName)))
        {
            byte[] buffer = new byte[MiB];
            for (long offset = 0; offset < DiskSize; offset += MiB)
            {
                RandomAccess.Read(source, buffer, offset);
                disk.Write(offset, buffer);
            }

            disk.Flush();
        }

        File.WriteAllText(marker, "files for the AddCowMount benchmarks\n");
    }

    /// <summary>A new overlay on <c>base.raw</c> with nothing allocated (previous files of that name are deleted first).</summary>
    public static string CreateFreshOverlay(string name)
    {
        string path = PathOf(name + ".add-cow");
        string data = name + ".data";
        File.Delete(path);
        File.Delete(PathOf(data));
        AddCowImage.Create(path, new ImageCreateOptions { BackingFile = BaseName, ImageFile = data });
        return path;
    }

    public static SectorAligningDisk OpenDisk(string path, bool writable) =>
        new(AddCowImage.Open(path, new ImageOpenOptions { Writable = writable }), readOnly: !writable);

    /// <summary>Evicts the named files from the page cache (after writing back their dirty pages).</summary>
    public static void DropCaches(params string[] paths)
    {
        foreach (string path in paths)
        {
            if (File.Exists(path))
            {
                NativeFile.DropCache(path);
            }
        }
    }

    /// <summary>Reads every page of the files once, so a warm benchmark starts warm.</summary>
    public static void WarmCaches(params string[] paths)
    {
        byte[] buffer = new byte[MiB];
        foreach (string path in paths)
        {
            using SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            long length = RandomAccess.GetLength(handle);
            for (long offset = 0; offset < length; offset += buffer.Length)
            {
                RandomAccess.Read(handle, buffer, offset);
            }
        }
    }

    /// <summary>Offsets of <paramref name="count"/> block-aligned requests spread over the disk, the same for every benchmark.</summary>
    public static long[] RandomOffsets(int count, int blockSize, int seed = 42)
    {
        var random = new Random(seed);
        long blocks = DiskSize / blockSize;
        var offsets = new long[count];
        for (int i = 0; i < offsets.Length; i++)
        {
            offsets[i] = random.NextInt64(blocks) * blockSize;
        }

        return offsets;
    }

    /// <summary>A buffer of seeded random bytes (so writes are not all zeros).</summary>
    public static byte[] RandomBuffer(int length, int seed = 7)
    {
        byte[] buffer = new byte[length];
        new Random(seed).NextBytes(buffer);
        return buffer;
    }

    public static void ReadFully(SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = RandomAccess.Read(handle, buffer[done..], offset + done);
            if (n == 0)
            {
                buffer[done..].Clear();
                return;
            }

            done += n;
        }
    }

    private static void WriteRandomFiles(string basePath, string rawPath)
    {
        var random = new Random(1234);
        byte[] buffer = new byte[MiB];
        using SafeFileHandle baseFile = File.OpenHandle(basePath, FileMode.CreateNew, FileAccess.Write);
        using SafeFileHandle rawFile = File.OpenHandle(rawPath, FileMode.CreateNew, FileAccess.Write);
        for (long offset = 0; offset < DiskSize; offset += MiB)
        {
            random.NextBytes(buffer);
            RandomAccess.Write(baseFile, buffer, offset);
            RandomAccess.Write(rawFile, buffer, offset);
        }

        RandomAccess.FlushToDisk(baseFile);
        RandomAccess.FlushToDisk(rawFile);
    }
}
