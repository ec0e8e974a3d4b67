using System.Diagnostics;
using System.Text;

namespace AddCowMount.Wine.Tests.Support;

/// <summary>What a finished program left: exit code, stdout as bytes and text, stderr.</summary>
public sealed record RunResult(string CommandLine, int ExitCode, byte[] OutputBytes, string Error)
{
    public string Output => Encoding.UTF8.GetString(OutputBytes);

    public string Describe() => $"`{CommandLine}` exited {ExitCode}\n--- stdout ---\n{Output}\n--- stderr ---\n{Error}";

    public RunResult Succeeded()
    {
        Assert.AreEqual(0, ExitCode, Describe());
        return this;
    }
}

/// <summary>Starts programs with a time limit, stdin closed, and logs each run (command, exit, seconds) to the test output.</summary>
internal static class Run
{
    public static RunResult Program(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null,
        string? workingDirectory = null, TimeSpan? timeout = null)
    {
        ProcessStartInfo start = StartInfo(file, arguments, environment, workingDirectory);
        var clock = Stopwatch.StartNew();
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        process.StandardInput.Close();
        using var output = new MemoryStream();
        Task copy = process.StandardOutput.BaseStream.CopyToAsync(output);
        Task<string> error = process.StandardError.ReadToEndAsync();
        TimeSpan limit = timeout ?? TimeSpan.FromSeconds(120);
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"`{Describe(start)}` did not finish within {limit.TotalSeconds} s; stderr so far: {(error.Wait(1000) ? error.Result : "?")}");
        }

        process.WaitForExit();
        copy.Wait();
        Console.WriteLine($"[{clock.Elapsed.TotalSeconds:0.00} s] exit {process.ExitCode}: {Describe(start)}");
        return new RunResult(Describe(start), process.ExitCode, output.ToArray(), error.Result);
    }

    /// <summary>Starts a program with stdin, stdout and stderr redirected; the caller talks to it and ends it.</summary>
    public static Process Start(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        ProcessStartInfo start = StartInfo(file, arguments, environment, workingDirectory);
        Console.WriteLine($"started: {Describe(start)}");
        return Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
    }

    public static string? FindTool(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
            .Select(folder => Path.Combine(folder, name))
            .FirstOrDefault(File.Exists);

    private static ProcessStartInfo StartInfo(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment, string? workingDirectory)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? string.Empty,
        };
        start.Environment["LC_ALL"] = "C";
        foreach ((string key, string? value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }

        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    private static string Describe(ProcessStartInfo start) =>
        string.Join(' ', new[] { Path.GetFileName(start.FileName) }.Concat(start.ArgumentList.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"\"{a}\"" : a)));
}
