namespace AddCowMount.TestSupport.Processes;

/// <summary>
/// What the end-to-end tests need: Linux, root, /dev/fuse, the built addcow and the named tools.
/// Missing pieces make a test Inconclusive on a developer machine, and fail it under CI=true so a CI
/// machine without them is noticed.
/// </summary>
public static class E2eEnvironment
{
    private static readonly string[] s_extraToolFolders = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>`dotnet` that runs addcow.dll: the host running these tests (the SDK exports it to child processes).</summary>
    public static string DotnetHost
    {
        get
        {
            string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            return !string.IsNullOrEmpty(host) && File.Exists(host) ? host : FindTool("dotnet") ?? "dotnet";
        }
    }

    public static string AddCowDll => Path.Combine(AppContext.BaseDirectory, "addcow.dll");

    public static void Require(params string[] tools)
    {
        var missing = new List<string>();
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("The end-to-end tests run on Linux (FUSE).");
        }

        if (Posix.GetEffectiveUserId() != 0)
        {
            missing.Add("root (euid 0)");
        }

        if (!File.Exists("/dev/fuse"))
        {
            missing.Add("/dev/fuse");
        }

        if (!File.Exists(AddCowDll))
        {
            missing.Add(AddCowDll);
        }

        foreach (string tool in tools.Append("fusermount3"))
        {
            if (FindTool(tool) is null)
            {
                missing.Add($"the '{tool}' program");
            }
        }

        if (missing.Count == 0)
        {
            return;
        }

        string message = "End-to-end test cannot run; missing: " + string.Join(", ", missing);
        if (IsCi)
        {
            Assert.Fail(message);
        }

        Assert.Inconclusive(message);
    }

    /// <summary>Full path of a program on PATH or in the sbin folders (root tools such as mkfs.ext4 live there).</summary>
    public static string? FindTool(string name)
    {
        IEnumerable<string> folders = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(s_extraToolFolders);
        return folders.Select(f => Path.Combine(f, name)).FirstOrDefault(File.Exists);
    }

    public static string Tool(string name) => FindTool(name) ?? throw new InvalidOperationException($"'{name}' is not installed");
}
