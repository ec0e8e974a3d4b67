using System.Diagnostics;

namespace AddCowMount.Installer.Tests;

/// <summary>Runs tools and finds the repository; one MSI is built per test run.</summary>
internal static class MsiFixture
{
    public const string Version = "1.2.3";

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static (int ExitCode, string Output, string Error) Run(string fileName, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Cannot start {fileName}.");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, output.Result, error.Result);
    }

    /// <summary>Fails the test with an installation hint when a required tool is missing.</summary>
    public static void RequireTools()
    {
        foreach (string tool in new[] { "wixl", "wixl-heat", "msiinfo", "msibuild", "msiextract" })
        {
            if (Run("/bin/sh", "-c", $"command -v {tool}").ExitCode != 0)
            {
                Assert.Fail($"'{tool}' is not installed; the installer tests need it (Debian: apt-get install wixl msitools).");
            }
        }
    }

    /// <summary>A payload shaped like the real publish: both executables, runtime files, a subfolder.</summary>
    public static string CreateFakePayload(string root)
    {
        string payload = Path.Combine(root, "payload");
        Directory.CreateDirectory(Path.Combine(payload, "de"));
        foreach (string name in new[] { "addcow.exe", "AddCowMount.Tray.exe", "AddCowMount.Core.dll", "coreclr.dll", "System.Windows.Forms.dll" })
        {
            File.WriteAllText(Path.Combine(payload, name), $"placeholder {name}");
        }

        File.WriteAllText(Path.Combine(payload, "de", "AddCowMount.Tray.resources.dll"), "placeholder");
        File.WriteAllText(Path.Combine(payload, "AddCowMount.Tray.pdb"), "symbols are not installed");
        return payload;
    }

    /// <summary>The rows of one table from <c>msiinfo export</c> (the three header lines dropped), split on tabs.</summary>
    public static List<string[]> Table(string msi, string table)
    {
        (int code, string output, string error) = Run("msiinfo", "export", msi, table);
        Assert.AreEqual(0, code, $"msiinfo export {table} failed: {error}");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Skip(3)
            .Select(line => line.TrimEnd('\r').Split('\t'))
            .ToList();
    }

    private static string FindRepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "installer", "build-msi.sh")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No installer/build-msi.sh above {AppContext.BaseDirectory}.");
    }
}
