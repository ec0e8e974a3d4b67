using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace AddCowMount.Benchmarks.Infrastructure;

/// <summary>The few libc calls the benchmarks need: fdatasync (the seed's flush) and dropping a file's page cache.</summary>
internal static partial class NativeFile
{
    private const int ReadOnly = 0;
    private const int FadviseDontNeed = 4; // POSIX_FADV_DONTNEED on Linux

    /// <summary>fdatasync(2), what QEMU's raw-posix raw_flush (and so the seed's bdrv_pwrite_sync) calls.</summary>
    public static void DataSync(SafeFileHandle handle)
    {
        if (FdataSync((int)handle.DangerousGetHandle()) != 0)
        {
            throw new IOException($"fdatasync failed (errno {Marshal.GetLastPInvokeError()})");
        }
    }

    /// <summary>
    /// Writes back and evicts one file's pages from the page cache, so the next read comes from the disk.
    /// Uses open(2) without flock, so it works while the engine holds its exclusive lock on the file.
    /// </summary>
    public static void DropCache(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        int fd = Open(path, ReadOnly);
        if (fd < 0)
        {
            throw new IOException($"open {path} failed (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            _ = FdataSync(fd);
            int rc = Fadvise(fd, 0, 0, FadviseDontNeed);
            if (rc != 0)
            {
                throw new IOException($"posix_fadvise {path} failed (error {rc})");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int FdataSync(int fd);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "posix_fadvise")]
    private static partial int Fadvise(int fd, long offset, long length, int advice);
}
