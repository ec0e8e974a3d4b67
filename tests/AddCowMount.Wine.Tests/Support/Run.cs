using System.Diagnostics;

namespace AddCowMount.Wine.Tests.Support;

/// <summary>What a finished program left: the end-to-end tests' <see cref="ProcessResult"/>, plus an assertion of success.</summary>
public sealed record RunResult(string CommandLine, int ExitCode, byte[] OutputBytes, string Error)
{
    public string Output => new ProcessResult(CommandLine, ExitCode, OutputBytes, Error).Output;

    /// <summary>How long the program ran, from start to its end (streams read); zero when not measured.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>Set when this is a second launch because Wine did not start the first (<see cref="WineLaunch"/>): what the first left.</summary>
    public string? FirstLaunch { get; init; }

    public string Describe() =>
        new ProcessResult(CommandLine, ExitCode, OutputBytes, Error).Describe() + (FirstLaunch is null ? string.Empty : $"\n--- launched a second time ---\n{FirstLaunch}");

    /// <summary>
    /// The program's own stderr lines: Wine's loader writes its diagnostics to the same stream, each starting with
    /// "wine: " (a fault in one of Wine's threads, "starting debugger..."), and a test of what addcow prints must not
    /// count them. Any other line, ours or not, stays.
    /// </summary>
    public string[] ProgramErrorLines => WithoutWineLines(Error);

    internal static string[] WithoutWineLines(string error) =>
        error.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.TrimEnd('\r'))
            .Where(line => line.Length > 0 && !line.StartsWith("wine: ", StringComparison.Ordinal))
            .ToArray();

    public RunResult Succeeded()
    {
        Assert.AreEqual(0, ExitCode, Describe());
        return this;
    }
}

/// <summary>Programs run through the end-to-end tests' <see cref="ProcessRunner"/> (time limit, stdin closed, each run logged).</summary>
internal static class Run
{
    public static RunResult Program(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        ProcessResult result = ProcessRunner.Run(file, arguments, environment, timeout ?? TimeSpan.FromSeconds(120), workingDirectory);
        return new RunResult(result.CommandLine, result.ExitCode, result.OutputBytes, result.Error) { Elapsed = clock.Elapsed };
    }

    /// <summary>Starts a program with stdin, stdout and stderr redirected; the caller talks to it and ends it.</summary>
    public static Process Start(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        ProcessStartInfo start = ProcessRunner.StartInfo(file, arguments, environment);
        start.RedirectStandardInput = true;
        start.WorkingDirectory = workingDirectory ?? string.Empty;
        return Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
    }

    public static string? FindTool(string name) => E2eEnvironment.FindTool(name);
}
