using System.Text.RegularExpressions;

namespace AddCowMount.Wine.Tests.Support;

/// <summary>Wine's msiexec and what an installed AddCowMount leaves in the prefix.</summary>
internal static partial class Msi
{
    public const string EnvironmentKey = @"HKLM\System\CurrentControlSet\Control\Session Manager\Environment";
    public const string RunKey = @"HKLM\Software\Microsoft\Windows\CurrentVersion\Run";
    public const string UninstallKey = @"HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall";
    public const string InstallDir = @"C:\Program Files\AddCowMount\";

    public static string InstallFolder => Path.Combine(WinePrefix.DriveC, "Program Files", "AddCowMount");

    public static RunResult Install(string msi, string logFolder, params string[] properties)
    {
        string log = Path.Combine(logFolder, $"install-{Guid.NewGuid():N}.log");
        return WinePrefix.Run(["msiexec", "/i", WinePrefix.ToWindows(msi), "/qn", "/l*v", WinePrefix.ToWindows(log), .. properties],
            timeout: TimeSpan.FromMinutes(4), logFile: log);
    }

    public static RunResult Uninstall(string msi, string logFolder)
    {
        string log = Path.Combine(logFolder, $"uninstall-{Guid.NewGuid():N}.log");
        return WinePrefix.Run(["msiexec", "/x", WinePrefix.ToWindows(msi), "/qn", "/l*v", WinePrefix.ToWindows(log)],
            timeout: TimeSpan.FromMinutes(4), logFile: log);
    }

    /// <summary>Registers a Dokan2 service the way Dokany's installer does (the MSI looks for its ImagePath).</summary>
    public static void CreateDokanService()
    {
        DeleteDokanService(); // an earlier test may have left one
        WinePrefix.Run(["sc", "create", "Dokan2", "binPath=", @"C:\windows\system32\drivers\dokan2.sys", "type=", "kernel"]).Succeeded();
    }

    public static void DeleteDokanService() => WinePrefix.Run(["sc", "delete", "Dokan2"]);

    public static string MachinePath => WinePrefix.RegistryValue(EnvironmentKey, "PATH") ?? throw new InvalidOperationException("the prefix has no machine PATH");

    public static int PathEntries(string path) =>
        path.Split(';').Count(e => string.Equals(e.TrimEnd('\\'), InstallDir.TrimEnd('\\'), StringComparison.OrdinalIgnoreCase));

    public static string? RunValue => WinePrefix.RegistryValue(RunKey, "AddCowMount");

    /// <summary>Start-menu shortcuts named AddCowMount (per-machine or per-user Programs folder).</summary>
    public static string[] Shortcuts() =>
        WinePrefix.FindFiles("AddCowMount.lnk")
            .Where(f => f.Contains("Start Menu", StringComparison.OrdinalIgnoreCase))
            .ToArray();

    /// <summary>DisplayVersion of every Add/Remove Programs entry named AddCowMount.</summary>
    public static List<string> ProductEntries()
    {
        RunResult result = WinePrefix.Run(["reg", "query", UninstallKey, "/s", "/reg:64"]);
        var keys = new List<Dictionary<string, string>>();
        foreach (string raw in result.Output.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.StartsWith("HKEY_", StringComparison.Ordinal))
            {
                keys.Add([]);
            }
            else if (keys.Count > 0 && ValueLine().Match(line) is { Success: true } m)
            {
                keys[^1][m.Groups[1].Value] = m.Groups[2].Value;
            }
        }

        return keys.Where(k => k.GetValueOrDefault("DisplayName") == "AddCowMount").Select(k => k.GetValueOrDefault("DisplayVersion") ?? "?").ToList();
    }

    /// <summary>Leaves the prefix without AddCowMount, whatever a failed test left.</summary>
    public static void EnsureUninstalled(string msi, string logFolder)
    {
        if (Directory.Exists(InstallFolder) || ProductEntries().Count > 0)
        {
            Uninstall(msi, logFolder);
            WinePrefix.WaitIdle();
        }
    }

    [GeneratedRegex(@"^\s+(\S+)\s+REG_\w+\s+(.*)$")]
    private static partial Regex ValueLine();
}
