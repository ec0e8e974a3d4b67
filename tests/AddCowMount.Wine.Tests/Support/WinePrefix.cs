using System.Diagnostics;

namespace AddCowMount.Wine.Tests.Support;

/// <summary>
/// One fresh WINEPREFIX for the whole test run (a first wineboot takes seconds, so tests share it), removed at the
/// end with every Wine process of it. Every Windows program of the tier starts through <see cref="Run(IEnumerable{string}, string?, TimeSpan?, IReadOnlyDictionary{string, string}?, string?)"/>.
/// </summary>
[TestClass]
public static class WinePrefix
{
    private static string? s_prefix;

    public static string Path => s_prefix ?? throw new InvalidOperationException("The Wine prefix is not set up.");

    /// <summary>drive_c of the prefix, as a Linux folder.</summary>
    public static string DriveC => System.IO.Path.Combine(Path, "drive_c");

    /// <summary>
    /// Files under drive_c matching a pattern, found without following links: Wine links the user's Documents,
    /// Desktop and the like to the Unix home, and a home holding its own ~/.wine leads on to dosdevices/z:, which is /,
    /// and to /proc (where a recursive walk dies on map_files). Nothing the installer or the tray writes is behind a link.
    /// </summary>
    public static string[] FindFiles(string pattern) =>
        Directory.GetFiles(DriveC, pattern, new EnumerationOptions
        {
            RecurseSubdirectories = true,
            AttributesToSkip = FileAttributes.ReparsePoint,
            MatchCasing = MatchCasing.CaseInsensitive,
        });

    /// <summary>
    /// The environment of every Wine process. DOTNET_EnableWriteXorExecute=0: under Wine 8 the .NET 10 runtime's
    /// W^X double mapping of JIT code breaks in longer runs (the CLR dies with "Internal CLR error (0x80131506)" in
    /// DynamicResolver finalization); turning W^X off avoids it and changes nothing else we test. It is set here only,
    /// for Wine processes: the Linux builds run with the runtime's defaults. WINEDEBUG=-all keeps Wine's own
    /// diagnostics out of the outputs we compare; mshtml is disabled so wineboot does not try to install Gecko
    /// (mscoree must stay: Wine loads IL assemblies through it).
    /// </summary>
    public static Dictionary<string, string> Environment(IReadOnlyDictionary<string, string>? extra = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["WINEPREFIX"] = Path,
            ["WINEDEBUG"] = "-all",
            ["WINEDLLOVERRIDES"] = "mshtml=",
            ["DOTNET_EnableWriteXorExecute"] = "0",
            ["DISPLAY"] = string.Empty, // no X display for the CLI and msiexec
        };
        foreach ((string key, string value) in extra ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        return environment;
    }

    [AssemblyInitialize]
    public static void SetUp(TestContext context)
    {
        _ = context;
        foreach (string tool in new[] { "wine", "wineserver" })
        {
            if (Support.Run.FindTool(tool) is null)
            {
                Assert.Fail($"'{tool}' is not installed; the Wine tier needs it (Debian: apt-get install wine wine64 xvfb xauth xdotool imagemagick).");
            }
        }

        s_prefix = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"addcow-wine-{System.Environment.ProcessId}-{Guid.NewGuid():N}");
        var clock = Stopwatch.StartNew();
        // A persistent wineserver (until TearDown's -k) with its services stays up between the many short runs,
        // instead of starting again for each.
        Support.Run.Program("wineserver", ["-p"], Environment(), timeout: TimeSpan.FromSeconds(60));
        Run(["wineboot", "-i"], timeout: TimeSpan.FromSeconds(180)).Succeeded();

        // No crash debugger: a Windows program that dies must end with a failing exit code, not hand over to winedbg
        // (which made a crashed addcow.exe exit 0).
        Run(["reg", "delete", @"HKLM\Software\Microsoft\Windows NT\CurrentVersion\AeDebug", "/v", "Debugger", "/f", "/reg:64"]);
        Console.WriteLine($"fresh WINEPREFIX {s_prefix} in {clock.Elapsed.TotalSeconds:0.0} s");
    }

    [AssemblyCleanup]
    public static void TearDown()
    {
        if (s_prefix is null)
        {
            return;
        }

        Support.Run.Program("wineserver", ["-k"], Environment(), timeout: TimeSpan.FromSeconds(60));
        try
        {
            Directory.Delete(s_prefix, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>
    /// Runs a Windows program (or a Wine built-in such as msiexec, reg, cmd) in the prefix, once more when Wine did
    /// not start it (<see cref="WineLaunch.DidNotStart"/>; the retry is reported). <paramref name="logFile"/> is a
    /// Linux path the program writes as soon as it runs (msiexec's /l*v log): when it exists, the program ran.
    /// </summary>
    public static RunResult Run(IEnumerable<string> arguments, string? workingDirectory = null, TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string>? environment = null, string? logFile = null)
    {
        string[] args = [.. arguments];
        return WineLaunch.RetryingOnce(
            () => new WineLaunch(Support.Run.Program("wine", args, Environment(environment), workingDirectory, timeout), logFile is not null && File.Exists(logFile)),
            WineLaunch.Report);
    }

    /// <summary>Waits until every process of the prefix has ended (msiexec leaves its service running a little).</summary>
    public static void WaitIdle() => Support.Run.Program("wineserver", ["-w"], Environment(), timeout: TimeSpan.FromSeconds(120));

    /// <summary>Ends every process of the prefix (ours only: wineserver -k acts on this WINEPREFIX alone).</summary>
    public static void KillAll() => Support.Run.Program("wineserver", ["-k"], Environment(), timeout: TimeSpan.FromSeconds(60));

    /// <summary>A Linux path as Windows programs in the prefix see it (Wine maps Z: to /).</summary>
    public static string ToWindows(string linuxPath) => "Z:" + System.IO.Path.GetFullPath(linuxPath).Replace('/', '\\');

    /// <summary>A value from the 64-bit registry view, or null when the key or value is missing.</summary>
    public static string? RegistryValue(string key, string name)
    {
        RunResult result = Run(["reg", "query", key, "/v", name, "/reg:64"]);
        if (result.ExitCode != 0)
        {
            return null;
        }

        // "    NAME    REG_SZ    VALUE"
        foreach (string line in result.Output.Split('\n'))
        {
            string[] parts = line.Trim().TrimEnd('\r').Split("    ", 3, StringSplitOptions.None);
            if (parts.Length == 3 && string.Equals(parts[0], name, StringComparison.OrdinalIgnoreCase))
            {
                return parts[2];
            }
        }

        return null;
    }
}
