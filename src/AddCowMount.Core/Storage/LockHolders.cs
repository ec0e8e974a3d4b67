using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;

namespace AddCowMount.Core.Storage;

/// <summary>
/// Names the process holding a lock on a file, where the OS tells: Linux through /proc/locks, Windows through
/// the Restart Manager. A diagnostic only: whatever fails here yields an empty text, never an error of its own,
/// so the caller's "in use" error always stands.
/// </summary>
internal static partial class LockHolders
{
    public static string Describe(string path)
    {
        try
        {
            int? pid = OperatingSystem.IsLinux() ? LinuxHolder(path) : null;
            if (pid is int linuxPid)
            {
                return Format(linuxPid, LinuxProcessName(linuxPid));
            }

            if (OperatingSystem.IsWindows() && WindowsHolder(path) is (int windowsPid, string app))
            {
                return Format(windowsPid, app);
            }
        }
#pragma warning disable CA1031 // A diagnostic must not replace the error it decorates, whatever it hits.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        return string.Empty;
    }

    /// <summary>" (pid N: name)", or " (pid N)" without a name; long names shortened.</summary>
    internal static string Format(int pid, string? name)
    {
        name = name?.Trim();
        if (string.IsNullOrEmpty(name))
        {
            return string.Create(CultureInfo.InvariantCulture, $" (pid {pid})");
        }

        return string.Create(CultureInfo.InvariantCulture, $" (pid {pid}: {(name.Length > 80 ? name[..80] + "…" : name)})");
    }

    /// <summary>The /proc/locks key of a file, "MAJOR:MINOR:INODE" (major and minor in hex, as the kernel prints them).</summary>
    internal static string? LinuxLockKey(string path)
    {
        if (!TryStatx(path, out uint major, out uint minor, out ulong inode))
        {
            return null;
        }

        return string.Create(CultureInfo.InvariantCulture, $"{major:x2}:{minor:x2}:{inode}");
    }

    private static int? LinuxHolder(string path)
    {
        if (LinuxLockKey(path) is not string key)
        {
            return null;
        }

        foreach (string line in File.ReadLines("/proc/locks"))
        {
            // "1: FLOCK  ADVISORY  WRITE 12345 08:01:1234567 0 EOF"; blocked waiters ("1: -> FLOCK ...") have one field more.
            string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 6 && parts[1] != "->" && parts[5] == key && int.TryParse(parts[4], CultureInfo.InvariantCulture, out int pid) && pid > 0)
            {
                return pid;
            }
        }

        return null;
    }

    private static string? LinuxProcessName(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// statx(2): unlike struct stat, whose layout differs by architecture (and whose glibc symbol exists only from
    /// 2.33), struct statx is one fixed layout on every architecture: stx_ino at byte 32, stx_dev_major and
    /// stx_dev_minor at 136 and 140.
    /// </summary>
    private static unsafe bool TryStatx(string path, out uint major, out uint minor, out ulong inode)
    {
        const int AT_FDCWD = -100;
        const uint STATX_INO = 0x100;
        const int Size = 256;
        byte* buffer = stackalloc byte[Size];
        new Span<byte>(buffer, Size).Clear();
        major = minor = 0;
        inode = 0;
        try
        {
            if (Native.Statx(AT_FDCWD, path, 0, STATX_INO, buffer) != 0)
            {
                return false;
            }
        }
        catch (EntryPointNotFoundException)
        {
            return false; // glibc before 2.28 or another libc
        }

        var statx = new ReadOnlySpan<byte>(buffer, Size);
        if ((BinaryPrimitives.ReadUInt32LittleEndian(statx) & STATX_INO) == 0)
        {
            return false;
        }

        inode = BinaryPrimitives.ReadUInt64LittleEndian(statx[32..]);
        major = BinaryPrimitives.ReadUInt32LittleEndian(statx[136..]);
        minor = BinaryPrimitives.ReadUInt32LittleEndian(statx[140..]);
        if (!BitConverter.IsLittleEndian)
        {
            inode = BinaryPrimitives.ReverseEndianness(inode);
            major = BinaryPrimitives.ReverseEndianness(major);
            minor = BinaryPrimitives.ReverseEndianness(minor);
        }

        return true;
    }

    /// <summary>The first process the Restart Manager names as using the file (RmStartSession, RmRegisterResources, RmGetList).</summary>
    private static unsafe (int Pid, string App)? WindowsHolder(string path)
    {
        const int ErrorMoreData = 234;
        char* key = stackalloc char[RestartManager.SessionKeyLength + 1];
        if (RestartManager.RmStartSession(out uint session, 0, key) != 0)
        {
            return null;
        }

        try
        {
            string full = Path.GetFullPath(path);
            fixed (char* name = full)
            {
                char** names = &name;
                if (RestartManager.RmRegisterResources(session, 1, names, 0, null, 0, null) != 0)
                {
                    return null;
                }
            }

            const int Capacity = 4;
            RestartManager.ProcessInfo* infos = stackalloc RestartManager.ProcessInfo[Capacity];
            uint count = Capacity;
            int status = RestartManager.RmGetList(session, out _, ref count, infos, out _);
            if ((status != 0 && status != ErrorMoreData) || count == 0)
            {
                return null;
            }

            int own = Environment.ProcessId;
            for (int i = 0; i < Math.Min(count, (uint)Capacity); i++)
            {
                RestartManager.ProcessInfo* info = infos + i;
                if ((int)info->ProcessId != own)
                {
                    return ((int)info->ProcessId, new string(info->AppName));
                }
            }

            return null;
        }
        finally
        {
            _ = RestartManager.RmEndSession(session);
        }
    }

    private static unsafe partial class RestartManager
    {
        public const int SessionKeyLength = 32;

        /// <summary>RM_PROCESS_INFO: RM_UNIQUE_PROCESS, strAppName[256], strServiceShortName[64], type, status, session, restartable.</summary>
        [StructLayout(LayoutKind.Sequential)]
        public struct ProcessInfo
        {
            public uint ProcessId;
            public uint StartTimeLow; // FILETIME: two DWORDs, so the struct stays 4-byte aligned as in C
            public uint StartTimeHigh;
            public fixed char AppName[256];
            public fixed char ServiceShortName[64];
            public int ApplicationType;
            public uint AppStatus;
            public uint TSSessionId;
            public int Restartable;
        }

        [LibraryImport("rstrtmgr.dll")]
        public static partial int RmStartSession(out uint sessionHandle, int sessionFlags, char* sessionKey);

        [LibraryImport("rstrtmgr.dll")]
        public static partial int RmRegisterResources(uint sessionHandle, uint fileCount, char** fileNames, uint applicationCount, void* applications, uint serviceCount, char** serviceNames);

        [LibraryImport("rstrtmgr.dll")]
        public static partial int RmGetList(uint sessionHandle, out uint needed, ref uint count, ProcessInfo* processes, out uint rebootReasons);

        [LibraryImport("rstrtmgr.dll")]
        public static partial int RmEndSession(uint sessionHandle);
    }
}
