using System.Runtime.InteropServices;

namespace AddCowMount.TestSupport.Processes;

/// <summary>Direct libc calls, so a test sees the exact errno a mount answered and can send exact signals.</summary>
public static partial class Posix
{
    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_RDWR = 2;
    public const int EACCES = 13;
    public const int EROFS = 30;
    public const int SIGTERM = 15;

    /// <summary>0 when <paramref name="path"/> opens with <paramref name="flags"/>, else the errno.</summary>
    public static int OpenErrno(string path, int flags)
    {
        int fd = Open(path, flags, 0);
        if (fd < 0)
        {
            return Marshal.GetLastPInvokeError();
        }

        _ = Close(fd);
        return 0;
    }

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUserId();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
