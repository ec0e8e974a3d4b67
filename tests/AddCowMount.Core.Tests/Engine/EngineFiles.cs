using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Format;

namespace AddCowMount.Core.Tests.Engine;

/// <summary>Builds small images on real files and snapshots folders, for the engine tests.</summary>
internal static class EngineFiles
{
    public const int Sector = 512;

    /// <summary>Deterministic pseudo-random bytes (seeded), so a failure reproduces.</summary>
    public static byte[] Pattern(int length, int seed)
    {
        byte[] bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Writes a raw backing file of <paramref name="length"/> pattern bytes and returns its path.</summary>
    public static string WriteRaw(TempDirectory temp, string name, int length, int seed)
    {
        string path = temp.Combine(name);
        File.WriteAllBytes(path, Pattern(length, seed));
        return path;
    }

    /// <summary>disk.add-cow (image file disk.raw) over a raw base.raw of <paramref name="size"/> bytes.</summary>
    public static string CreateWithBacking(TempDirectory temp, int size = 256 * 1024, int seed = 1)
    {
        WriteRaw(temp, "base.raw", size, seed);
        string path = temp.Combine("disk.add-cow");
        AddCowImage.Create(path, new ImageCreateOptions { BackingFile = "base.raw" });
        return path;
    }

    public static void Patch(string path, long offset, ReadOnlySpan<byte> bytes)
    {
        using FileStream stream = File.Open(path, FileMode.Open, FileAccess.Write);
        stream.Position = offset;
        stream.Write(bytes);
    }

    public static void PatchU64(string path, int offset, ulong value)
    {
        byte[] bytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        Patch(path, offset, bytes);
    }

    public static void PatchName(string path, int fieldOffset, string name)
    {
        byte[] field = new byte[AddCowHeader.FieldLengths.FileName];
        Encoding.UTF8.GetBytes(name, field);
        Patch(path, fieldOffset, field);
    }

    /// <summary>SHA-256 and length of every file under a folder (recursively), to prove nothing changed.</summary>
    public static Dictionary<string, string> Snapshot(string folder) =>
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
            .ToDictionary(f => f, f => $"{new FileInfo(f).Length}:{HashWithoutLock(f)}");

    /// <summary>
    /// Hashes a file the way an unlocked look (-U) reads it: .NET's own opens take a flock on Unix and ask
    /// others not to write on Windows, and both are refused while the engine holds an image read-write.
    /// </summary>
    private static string HashWithoutLock(string path) => Golden.FileSha256(path);

    public static void AssertUnchanged(Dictionary<string, string> before, string folder)
    {
        Dictionary<string, string> after = Snapshot(folder);
        CollectionAssert.AreEquivalent(before.Keys.ToList(), after.Keys.ToList(), "a file appeared or disappeared");
        foreach ((string file, string hash) in before)
        {
            Assert.AreEqual(hash, after[file], $"{Path.GetFileName(file)} changed");
        }
    }

    /// <summary>The whole composed disk through the engine.</summary>
    public static byte[] ReadAll(ISectorDevice device)
    {
        byte[] bytes = new byte[device.SectorCount * Sector];
        device.ReadSectors(0, bytes);
        return bytes;
    }
}
