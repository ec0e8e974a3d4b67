using AddCowMount.Core.Alignment;
using AddCowMount.Core.Engine;

namespace AddCowMount.Core.Tests.Engine;

/// <summary>Images written by the seed's own C code read exactly as it reads them.</summary>
[TestClass]
public sealed class GoldenImageTests
{
    public static IEnumerable<object[]> Cases => Golden.Cases.Select(c => new object[] { c });

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void Open_GoldenImage_ComposedDiskMatchesSeedSha256(string name)
    {
        using var temp = new TempDirectory();
        string folder = Golden.CopyCase(name, temp);
        using AddCowImage image = AddCowImage.Open(Path.Combine(folder, "disk.add-cow"));
        Assert.AreEqual(Golden.ExpectedSha256(folder), Golden.ComposedSha256(image));
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void Open_GoldenImage_AllocationMapMatchesSeed(string name)
    {
        using var temp = new TempDirectory();
        string folder = Golden.CopyCase(name, temp);
        using AddCowImage image = AddCowImage.Open(Path.Combine(folder, "disk.add-cow"));
        CollectionAssert.AreEqual(Golden.ExpectedMap(folder), image.AllocationRuns().ToList());
    }

    [TestMethod]
    public void Open_ChainMiddleLayer_MatchesSeed()
    {
        using var temp = new TempDirectory();
        string folder = Golden.CopyCase("chain-2level", temp);
        using AddCowImage mid = AddCowImage.Open(Path.Combine(folder, "mid.add-cow"));
        Assert.AreEqual(Golden.ExpectedSha256(folder, "mid.sha256"), Golden.ComposedSha256(mid));
        CollectionAssert.AreEqual(Golden.ExpectedMap(folder, "mid.map"), mid.AllocationRuns().ToList());
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void OpenReadOnly_GoldenImage_ChangesNoFile(string name)
    {
        using var temp = new TempDirectory();
        string folder = Golden.CopyCase(name, temp);
        var before = Directory.GetFiles(folder).ToDictionary(f => f, Golden.FileSha256);
        using (AddCowImage image = AddCowImage.Open(Path.Combine(folder, "disk.add-cow")))
        {
            using var disk = new SectorAligningDisk(image, ownsDevice: false);
            byte[] buffer = new byte[disk.Length];
            disk.Read(0, buffer);
        }

        foreach ((string file, string hash) in before)
        {
            Assert.AreEqual(hash, Golden.FileSha256(file), $"{Path.GetFileName(file)} changed");
        }
    }

    /// <summary>
    /// Replays each case's ops.txt through our engine from scratch and compares every file with the seed's:
    /// create, writes and the bitmap produce the same bytes.
    /// </summary>
    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void ReplayOps_ProducesSeedIdenticalFiles(string name)
    {
        using var temp = new TempDirectory();
        string folder = Golden.CopyCase(name, temp);
        string work = Path.Combine(temp.Path, "replay");
        Directory.CreateDirectory(work);
        foreach (string file in Directory.GetFiles(folder, "*.bin").Concat(Directory.GetFiles(folder, "backing.raw")).Concat(Directory.GetFiles(folder, "base.raw")))
        {
            File.Copy(file, Path.Combine(work, Path.GetFileName(file)));
        }

        foreach (string line in File.ReadAllLines(Path.Combine(folder, "ops.txt")))
        {
            string[] p = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (p.Length == 0 || p[0].StartsWith('#'))
            {
                continue;
            }

            if (p[0] == "truncate")
            {
                File.WriteAllBytes(Path.Combine(work, p[3]), []);
                continue;
            }

            Assert.AreEqual("refcow", p[0], line);
            string img = Path.Combine(work, p[2]);
            switch (p[1])
            {
                case "create":
                    AddCowImage.Create(img, new ImageCreateOptions
                    {
                        BackingFile = p[3],
                        ImageFile = p[4],
                        Size = p.Length > 5 ? long.Parse(p[5]) : null,
                    });
                    break;
                case "write":
                case "writefile":
                {
                    long offset = long.Parse(p[3]);
                    byte[] data = p[1] == "write"
                        ? Enumerable.Repeat(Convert.ToByte(p[5], p[5].StartsWith("0x") ? 16 : 10), int.Parse(p[4])).ToArray()
                        : File.ReadAllBytes(Path.Combine(work, p[4]));
                    using AddCowImage image = AddCowImage.Open(img, new ImageOpenOptions { Writable = true });
                    using var disk = new SectorAligningDisk(image, ownsDevice: false);
                    disk.Write(offset, data);
                    disk.Flush();
                    break;
                }

                default:
                    Assert.Fail($"unknown op {line}");
                    break;
            }
        }

        foreach (string line in File.ReadAllLines(Path.Combine(folder, "files.sha256")))
        {
            string[] p = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string file = p[1].TrimStart('*');
            if (!file.EndsWith(".add-cow", StringComparison.Ordinal) && !file.EndsWith("image.raw", StringComparison.Ordinal))
            {
                continue;
            }

            Assert.AreEqual(p[0], Golden.FileSha256(Path.Combine(work, file)), $"{name}/{file} differs from the seed's");
        }
    }
}
