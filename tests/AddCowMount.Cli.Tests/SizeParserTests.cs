using AddCowMount.Cli.Output;

namespace AddCowMount.Cli.Tests;

/// <summary>Sizes as qemu-img takes them, in exact integer arithmetic: every suffix is a power of two, at its limits.</summary>
[TestClass]
public sealed class SizeParserTests
{
    [TestMethod]
    [DataRow("0", 0L)]
    [DataRow("512", 512L)]
    [DataRow("9223372036854775807", long.MaxValue)]
    [DataRow("1B", 1L)]
    [DataRow("1K", 1L << 10)]
    [DataRow("1M", 1L << 20)]
    [DataRow("1G", 1L << 30)]
    [DataRow("1T", 1L << 40)]
    [DataRow("1P", 1L << 50)]
    [DataRow("1E", 1L << 60)]
    [DataRow("9007199254740991K", 9007199254740991L << 10)]
    [DataRow("8796093022207M", 8796093022207L << 20)]
    [DataRow("8589934591G", 8589934591L << 30)]
    [DataRow("8388607T", 8388607L << 40)]
    [DataRow("8191P", 8191L << 50)]
    [DataRow("7E", 7L << 60)]
    [DataRow("1.5K", 1536L)]
    [DataRow("1.25E", (1L << 60) + (1L << 58))]
    [DataRow("0.5M", 1L << 19)]
    [DataRow(".5K", 512L)]
    [DataRow("64k", 64L << 10)]
    [DataRow("64KiB", 64L << 10)]
    [DataRow("64kB", 64L << 10)]
    [DataRow("2pib", 2L << 50)]
    [DataRow(" 8G ", 8L << 30)]
    [DataRow("0x200", 512L)]
    public void Accepts(string text, long expected)
    {
        Assert.IsTrue(SizeParser.TryParse(text, out long value), text);
        Assert.AreEqual(expected, value, text);
    }

    [TestMethod]
    [DataRow("9223372036854775808")]
    [DataRow("9007199254740992K")]
    [DataRow("8796093022208M")]
    [DataRow("8589934592G")]
    [DataRow("8388608T")]
    [DataRow("8192P")]
    [DataRow("8E")]
    [DataRow("1.0001K")]
    [DataRow("0.5")]
    [DataRow("0.5B")]
    [DataRow("")]
    [DataRow("K")]
    [DataRow(".")]
    [DataRow("1X")]
    [DataRow("1.2.3")]
    [DataRow("-1")]
    [DataRow("+1")]
    [DataRow("1e3")]
    [DataRow("0x10K")]
    public void Refuses(string text)
    {
        Assert.IsFalse(SizeParser.TryParse(text, out _), text);
    }

    [TestMethod]
    public void Create_WithASizeBeyondTheLargestFile_IsAUsageError_AndCreatesNothing()
    {
        using var temp = new TempDirectory();
        string image = temp.Combine("big.add-cow");

        Cli.Result result = Cli.Run("create", image, "8E");

        Assert.AreEqual(2, result.ExitCode);
        StringAssert.Contains(result.Error, "invalid size '8E'");
        Assert.IsFalse(File.Exists(image));
    }
}
