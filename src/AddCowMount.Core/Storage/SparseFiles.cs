using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace AddCowMount.Core.Storage;

/// <summary>
/// Finds the holes of sparse files, so a walk of a mostly empty 512 MiB bitmap skips what it would only read as zeros.
/// Linux: lseek(SEEK_DATA). Elsewhere, or when the file system cannot tell (EINVAL and the like), no holes are known,
/// which is always correct.
/// </summary>
internal static partial class SparseFiles
{
    private const int SeekData = 3;
    private const int ENXIO = 6;

    public static long NextData(SafeFileHandle handle, long offset)
    {
        if (!OperatingSystem.IsLinux() || handle.IsInvalid)
        {
            return offset;
        }

        try
        {
            return Descriptors.Call(handle, offset, static (fd, offset) =>
            {
                long data = LSeek(fd, offset, SeekData);
                if (data >= offset)
                {
                    return data;
                }

                // ENXIO: no data at or after offset (also offset at or past the end).
                return data < 0 && Marshal.GetLastPInvokeError() == ENXIO ? long.MaxValue : offset;
            });
        }
        catch (ObjectDisposedException)
        {
            return offset;
        }
    }

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long LSeek(int fd, long offset, int whence);
}
