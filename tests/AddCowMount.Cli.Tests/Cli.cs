using System.Security.Cryptography;
using AddCowMount.Cli;

namespace AddCowMount.Cli.Tests;

/// <summary>Runs `addcow` verbs in-process and captures what a user would see.</summary>
internal static class Cli
{
    public sealed record Result(int ExitCode, string Out, string Error);

    public static Result Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(args, new CliContext(output, error, interactive: false));
        return new Result(code, output.ToString(), error.ToString());
    }

    public static Result Ok(params string[] args)
    {
        Result r = Run(args);
        Assert.AreEqual(0, r.ExitCode, $"addcow {string.Join(' ', args)} failed: {r.Error}");
        return r;
    }

    public static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    public static Dictionary<string, string> Snapshot(string folder) =>
        Directory.GetFiles(folder).ToDictionary(f => f, Sha256);

    public static void AssertUnchanged(Dictionary<string, string> before)
    {
        foreach ((string file, string hash) in before)
        {
            Assert.IsTrue(File.Exists(file), $"{file} disappeared");
            Assert.AreEqual(hash, Sha256(file), $"{Path.GetFileName(file)} changed");
        }
    }

    /// <summary>An error is one line, prefixed, with no stack trace.</summary>
    public static void AssertOneLineError(Result r, string contains)
    {
        string[] lines = r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.AreEqual(1, lines.Length, $"expected one line of error, got: {r.Error}");
        StringAssert.StartsWith(lines[0], "addcow: ");
        StringAssert.Contains(lines[0], contains);
        Assert.IsFalse(r.Error.Contains("   at ", StringComparison.Ordinal), "stack trace printed");
    }

    public static string GoldenFolder(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "golden", name);
}
