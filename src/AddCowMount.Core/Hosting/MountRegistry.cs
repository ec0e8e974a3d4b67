using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AddCowMount.Core.Hosting;

/// <summary>
/// Where mounts are announced: one JSON file per mount in a per-user folder, written atomically by the
/// process that serves the mount and removed when it ends. Records of processes that died are dropped on
/// listing. The CLI and the tray read the same folder, so both see and control the same mounts.
/// </summary>
public sealed class MountRegistry
{
    public MountRegistry(string? folder = null)
    {
        Folder = folder ?? DefaultFolder();
    }

    public string Folder { get; }

    public static string DefaultFolder()
    {
        string? overridden = Environment.GetEnvironmentVariable("ADDCOW_STATE_DIR");
        if (!string.IsNullOrEmpty(overridden))
        {
            return Path.Combine(overridden, "mounts");
        }

        if (OperatingSystem.IsWindows())
        {
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "AddCowMount", "mounts");
        }

        string? runtime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        return !string.IsNullOrEmpty(runtime) && Directory.Exists(runtime)
            ? Path.Combine(runtime, "addcow", "mounts")
            : Path.Combine(Path.GetTempPath(), $"addcow-{Environment.UserName}", "mounts");
    }

    /// <summary>
    /// Mount points compare by full path (case-insensitively on Windows, where "x:" is "X:"); an export's address
    /// (<c>nbd://…</c>, <c>nbd+unix://…</c>) is its own key, as given.
    /// </summary>
    public static string NormalizeMountPoint(string mountPoint)
    {
        string trimmed = mountPoint.Trim();
        if (trimmed.Contains("://", StringComparison.Ordinal))
        {
            return trimmed;
        }

        if (trimmed.Length == 2 && trimmed[1] == ':' && char.IsAsciiLetter(trimmed[0]))
        {
            return trimmed.ToUpperInvariant();
        }

        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(trimmed));
        return full;
    }

    public void Register(MountRecord record)
    {
        Directory.CreateDirectory(Folder);
        string path = PathFor(record.MountPoint);
        string temp = path + $".{Environment.ProcessId}.tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(record, MountJsonContext.Default.MountRecord));
        File.Move(temp, path, overwrite: true);
    }

    public void Unregister(string mountPoint, int pid)
    {
        string path = PathFor(mountPoint);
        if (TryRead(path) is { } record && record.Pid == pid)
        {
            File.Delete(path);
        }
    }

    /// <summary>Live mounts; records of dead processes are removed.</summary>
    public List<MountRecord> List()
    {
        var records = new List<MountRecord>();
        if (!Directory.Exists(Folder))
        {
            return records;
        }

        foreach (string file in Directory.GetFiles(Folder, "*.json"))
        {
            if (TryRead(file) is not { } record)
            {
                continue;
            }

            if (!IsAlive(record.Pid))
            {
                TryDelete(file);
                continue;
            }

            records.Add(record);
        }

        return records.OrderBy(r => r.MountPoint, StringComparer.Ordinal).ToList();
    }

    public MountRecord? Find(string mountPoint)
    {
        string normalized = NormalizeMountPoint(mountPoint);
        return List().FirstOrDefault(r => string.Equals(NormalizeMountPoint(r.MountPoint), normalized,
            OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal));
    }

    public static bool IsAlive(int pid)
    {
        if (OperatingSystem.IsLinux())
        {
            // A killed mount process whose parent is gone may linger as a zombie: it serves nothing.
            try
            {
                string stat = File.ReadAllText($"/proc/{pid}/stat");
                int close = stat.LastIndexOf(')');
                return close > 0 && close + 2 < stat.Length && stat[close + 2] is not ('Z' or 'X');
            }
            catch (IOException)
            {
                return false;
            }
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private string PathFor(string mountPoint)
    {
        string key = NormalizeMountPoint(mountPoint);
        if (OperatingSystem.IsWindows())
        {
            key = key.ToUpperInvariant();
        }

        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16];
        return Path.Combine(Folder, $"mount-{hash}.json");
    }

    private static MountRecord? TryRead(string path)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), MountJsonContext.Default.MountRecord);
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
