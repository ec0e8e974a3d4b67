namespace AddCowMount.Wine.Tests.Support;

/// <summary>
/// One launch of a Windows program under Wine, and the one rule that tells "Wine never started the program" apart
/// from the program's own failure. In one CI run `wine msiexec /i ... ADDLOCAL=Main` exited 1 after 0.01 s with no
/// output and no msiexec log: Wine's loader gave up before msiexec ran, and a rerun passed.
/// </summary>
/// <param name="Result">What the launch left (exit code, outputs, and how long it took).</param>
/// <param name="WroteLog">Whether the log file the program writes as soon as it runs (msiexec's /l*v) exists.</param>
internal readonly record struct WineLaunch(RunResult Result, bool WroteLog = false)
{
    /// <summary>
    /// Faster than any program Wine really starts. Measured here with the harness's own clock (a persistent
    /// wineserver, as the tests run): the fastest real start to exit is a silent `wine sc delete` of a missing
    /// service, exit 1 with no output, in 37 ms at the least (median 45 ms); `cmd /c exit 3` 45 ms; addcow.exe 110 ms
    /// and more. The loader refusing to start (e.g. a bad WINEPREFIX) ends in 3 to 7 ms, and the CI failure took
    /// 0.01 s. A bound of 0.5 s would count that real `sc delete` failure, which every installer test's set-up
    /// runs, as Wine not starting.
    /// </summary>
    public static readonly TimeSpan StartBound = TimeSpan.FromMilliseconds(25);

    /// <summary>
    /// Wine did not start the program: a failing exit code sooner than <see cref="StartBound"/>, nothing on stdout,
    /// nothing on stderr but Wine's own "wine: " lines, and no log written. Output, a log or a slower end means the
    /// program ran, and its failure is real.
    /// </summary>
    public bool DidNotStart =>
        Result.ExitCode != 0
        && Result.Elapsed < StartBound
        && Result.OutputBytes.Length == 0
        && Result.ProgramErrorLines.Length == 0
        && !WroteLog;

    /// <summary>
    /// Launches once and, only when Wine did not start the program, once more, reporting that it did: the second
    /// launch's result is returned whatever it is, and it names the first in its <see cref="RunResult.Describe"/>.
    /// </summary>
    public static RunResult RetryingOnce(Func<WineLaunch> launch, Action<string> report)
    {
        WineLaunch first = launch();
        if (!first.DidNotStart)
        {
            return first.Result;
        }

        string note = $"Wine did not start `{first.Result.CommandLine}` (exit {first.Result.ExitCode} after " +
            $"{first.Result.Elapsed.TotalMilliseconds:0} ms, no output{(first.Result.Error.Length > 0 ? " but Wine's: " + first.Result.Error.Trim() : string.Empty)}); launched it once more";
        report(note);
        return launch().Result with { FirstLaunch = note };
    }

    /// <summary>The retry's report: the test's output, and the CI run's report file (ADDCOW_TEST_REPORT) when set.</summary>
    public static void Report(string line)
    {
        Console.Error.WriteLine(line);
        string? path = System.Environment.GetEnvironmentVariable("ADDCOW_TEST_REPORT");
        if (!string.IsNullOrEmpty(path))
        {
            File.AppendAllText(path, $"Wine tests: {line}{System.Environment.NewLine}");
        }
    }
}
