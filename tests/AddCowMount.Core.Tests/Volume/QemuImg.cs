using System.Diagnostics;
using System.Text.Json;

namespace AddCowMount.Core.Tests.Volume;

/// <summary>
/// Runs the real qemu-img. Missing qemu-img fails the test with a clear message (CI installs qemu-utils):
/// these tests check our bytes against a real client and must not pass silently without one.
/// </summary>
internal static class QemuImg
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public static Result Run(params string[] arguments)
    {
        var path = Find() ?? throw new AssertFailedException(
            "qemu-img was not found on PATH: install qemu-utils (apt-get install qemu-utils); CI installs it.");
        var start = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new AssertFailedException("qemu-img could not be started.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(60_000))
        {
            process.Kill();
            throw new AssertFailedException($"qemu-img {string.Join(' ', arguments)} did not finish within 60 s.");
        }

        return new Result(process.ExitCode, output.Result, error);
    }

    public static Result RunChecked(params string[] arguments)
    {
        var result = Run(arguments);
        Assert.AreEqual(0, result.ExitCode, $"qemu-img {string.Join(' ', arguments)} failed: {result.Error}{result.Output}");
        return result;
    }

    /// <summary>`qemu-img info --output json -f FORMAT FILE` parsed.</summary>
    public static (string Format, long VirtualSize) Info(string format, string file)
    {
        var result = RunChecked("info", "--output", "json", "-f", format, file);
        using var json = JsonDocument.Parse(result.Output);
        return (json.RootElement.GetProperty("format").GetString()!, json.RootElement.GetProperty("virtual-size").GetInt64());
    }

    private static string? Find()
    {
        var name = OperatingSystem.IsWindows() ? "qemu-img.exe" : "qemu-img";
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
