
namespace AddCowMount.Cli.Tests;

/// <summary>`addcow create`, `addcow io` writes and `addcow convert` produce exactly what the seed's code produces.</summary>
[TestClass]
public sealed class SeedCompatibilityTests
{
    [TestMethod]
    [DataRow("fresh-1m")]
    [DataRow("size-from-backing")]
    [DataRow("basic-1m")]
    [DataRow("odd-size-1m1536")]
    [DataRow("unaligned-1m")]
    public void CreateIoConvert_SameOperationsAsSeed_SameFilesAndDisk(string name)
    {
        using var temp = new TempDirectory();
        string golden = Cli.GoldenFolder(name);
        File.Copy(Path.Combine(golden, "backing.raw"), temp.Combine("backing.raw"));
        foreach (string line in File.ReadAllLines(Path.Combine(golden, "ops.txt")))
        {
            string[] p = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (p.Length == 0 || p[0].StartsWith('#') || p[0] == "truncate")
            {
                continue;
            }

            string img = temp.Combine(p[2]);
            switch (p[1])
            {
                case "create":
                    Cli.Ok(p.Length > 5 ? ["create", "-b", p[3], "-i", p[4], img, p[5]] : ["create", "-b", p[3], "-i", p[4], img]);
                    break;
                case "write":
                    Cli.Ok("io", "-c", $"write -P {p[5]} {p[3]} {p[4]}", "-c", $"read -P {p[5]} {p[3]} {p[4]}", img);
                    break;
                default:
                    // writefile has no io equivalent: write the file's bytes through the engine's own path instead.
                    using (var image = Core.Engine.AddCowImage.Open(img, new Core.Engine.ImageOpenOptions { Writable = true }))
                    using (var disk = new Core.Alignment.SectorAligningDisk(image, ownsDevice: false))
                    {
                        disk.Write(long.Parse(p[3]), File.ReadAllBytes(Path.Combine(golden, p[4])));
                    }

                    break;
            }
        }

        foreach (string line in File.ReadAllLines(Path.Combine(golden, "files.sha256")))
        {
            string[] p = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string file = p[1].TrimStart('*');
            if (file is "disk.add-cow" or "image.raw")
            {
                Assert.AreEqual(p[0], Cli.Sha256(temp.Combine(file)), $"{file} differs from the seed's");
            }
        }

        Cli.Ok("convert", "-O", "raw", temp.Combine("disk.add-cow"), temp.Combine("out.raw"));
        string expected = File.ReadAllText(Path.Combine(golden, "expected.sha256")).Split(' ')[0];
        Assert.AreEqual(expected, Cli.Sha256(temp.Combine("out.raw")));
    }
}
