using System.Buffers.Binary;
using System.Globalization;

namespace AddCowMount.Core.Storage;

/// <summary>Names the process holding a lock on a file, where the OS tells (Linux: /proc/locks).</summary>
internal static class LockHolders
{
    public static string Describe(string path)
    {
        try
        {
            if (!OperatingSystem.IsLinux() || !TryGetInode(path, out ulong dev, out ulong ino))
            {
                return string.Empty;
            }

            uint major = (uint)(((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfffUL));
            uint minor = (uint)((dev & 0xff) | ((dev >> 12) & ~0xffUL));
            string key = string.Create(CultureInfo.InvariantCulture, $"{major:x2}:{minor:x2}:{ino}");
            foreach (string line in File.ReadLines("/proc/locks"))
            {
                // "1: FLOCK  ADVISORY  WRITE 12345 08:01:1234567 0 EOF"
                string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 6 && parts[5] == key && int.TryParse(parts[4], CultureInfo.InvariantCulture, out int pid) && pid > 0)
                {
                    string name = ProcessName(pid);
                    return $" (pid {pid}{name})";
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return string.Empty;
    }

    private static string ProcessName(int pid)
    {
        try
        {
            string cmd = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
            return cmd.Length == 0 ? string.Empty : $": {(cmd.Length > 80 ? cmd[..80] + "…" : cmd)}";
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    private static unsafe bool TryGetInode(string path, out ulong dev, out ulong ino)
    {
        // struct stat starts with st_dev then st_ino (8 bytes each) on x86_64 and aarch64 glibc.
        byte* buffer = stackalloc byte[512];
        if (Native.Stat(path, buffer) != 0)
        {
            dev = ino = 0;
            return false;
        }

        var span = new ReadOnlySpan<byte>(buffer, 16);
        dev = BinaryPrimitives.ReadUInt64LittleEndian(span);
        ino = BinaryPrimitives.ReadUInt64LittleEndian(span[8..]);
        return true;
    }
}
