using System.Diagnostics;
using System.Text;

namespace AddCowMount.TestSupport.Processes;

/// <summary>What a finished process left: exit code, stdout (as bytes and as text) and stderr.</summary>
public sealed record ProcessResult(string CommandLine, int ExitCode, byte[] OutputBytes, string Error)
{
    public string Output => Encoding.UTF8.GetString(OutputBytes);

    /// <summary>Everything a failed assertion should show.</summary>
    public string Describe() => $"`{CommandLine}` exited {ExitCode}\n--- stdout ---\n{Output}\n--- stderr ---\n{Error}";
}

/// <summary>Starts real programs in the C locale (predictable messages) with a time limit.</summary>
public static class ProcessRunner
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(90);

    public static ProcessResult Run(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null, string? workingDirectory = null)
    {
        ProcessStartInfo start = StartInfo(file, arguments, environment);
        start.WorkingDirectory = workingDirectory ?? string.Empty;
        start.RedirectStandardInput = true;
        var clock = Stopwatch.StartNew();
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        process.StandardInput.Close();
        using var output = new MemoryStream();
        Task copy = process.StandardOutput.BaseStream.CopyToAsync(output);
        Task<string> error = process.StandardError.ReadToEndAsync();
        TimeSpan limit = timeout ?? DefaultTimeout;
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"`{Describe(start)}` did not finish within {limit.TotalSeconds} s; stderr so far: {(error.Wait(1000) ? error.Result : "?")}");
        }

        process.WaitForExit();
        copy.Wait();
        // In the test's output: which programs ran, how they ended and how long they took.
        Console.WriteLine($"[{clock.Elapsed.TotalSeconds:0.00} s] exit {process.ExitCode}: {Describe(start)}");
        return new ProcessResult(Describe(start), process.ExitCode, output.ToArray(), error.Result);
    }

    /// <summary>Starts a process with stdout and stderr redirected (the caller reads them).</summary>
    public static Process Start(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        ProcessStartInfo start = StartInfo(file, arguments, environment);
        start.WorkingDirectory = workingDirectory ?? string.Empty;
        start.RedirectStandardInput = true;
        Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        process.StandardInput.Close();
        return process;
    }

    public static ProcessStartInfo StartInfo(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["LC_ALL"] = "C";
        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
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
