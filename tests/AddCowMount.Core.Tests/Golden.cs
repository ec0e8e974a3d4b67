using System.Security.Cryptography;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Storage;

namespace AddCowMount.Core.Tests;

/// <summary>The seed's golden images: a private copy per test, so tests may write to them.</summary>
internal static class Golden
{
    public static readonly string[] Cases = ["fresh-1m", "basic-1m", "odd-size-1m1536", "unaligned-1m", "size-from-backing", "chain-2level"];

    public static string SourceFolder(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "golden", name);

    /// <summary>Copies a case into <paramref name="temp"/> and returns the folder.</summary>
    public static string CopyCase(string name, TempDirectory temp)
    {
        string target = Path.Combine(temp.Path, name);
        Directory.CreateDirectory(target);
        foreach (string file in Directory.GetFiles(SourceFolder(name)))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        return target;
    }

    public static string ExpectedSha256(string folder, string file = "expected.sha256") =>
        File.ReadAllText(Path.Combine(folder, file)).Split(' ')[0].Trim();

    public static List<(long Start, long Count, bool Allocated)> ExpectedMap(string folder, string file = "expected.map") =>
        File.ReadAllLines(Path.Combine(folder, file))
            .Where(l => l.Length > 0)
            .Select(l => l.Split(' '))
            .Select(p => (long.Parse(p[0]), long.Parse(p[1]), p[2] == "1"))
            .ToList();

    public static string ComposedSha256(ISectorDevice device)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[64 * 1024];
        for (long sector = 0; sector < device.SectorCount;)
        {
            int n = (int)Math.Min(buffer.Length / 512, device.SectorCount - sector);
            device.ReadSectors(sector, buffer.AsSpan(0, n * 512));
            sha.AppendData(buffer, 0, n * 512);
            sector += n;
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>SHA-256 of a file, read without a lock (FileStorage's unlocked open), so it works while an image is held open.</summary>
    public static string FileSha256(string path)
    {
        using IStorageFile file = FileStorage.Instance.Open(path, writable: false, StorageLock.None);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[1 << 20];
        for (long offset = 0; ;)
        {
            int n = file.Read(offset, buffer);
            if (n == 0)
            {
                break;
            }

            sha.AppendData(buffer, 0, n);
            offset += n;
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
