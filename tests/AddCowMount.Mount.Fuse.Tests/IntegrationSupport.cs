using System.Diagnostics;
using System.Runtime.InteropServices;

namespace AddCowMount.Mount.Fuse.Tests;

/// <summary>Skips (Inconclusive) where FUSE cannot run, but fails under CI=true so a CI machine without /dev/fuse is noticed.</summary>
internal static class FuseTestEnvironment
{
    public static void Require()
    {
        if (FuseMount.IsAvailable(out string reason))
        {
            return;
        }

        string message = "FUSE integration tests cannot run: " + reason;
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail(message);
        }

        Assert.Inconclusive(message);
    }
}

/// <summary>An <see cref="InMemoryVolume"/> mounted in a fresh temp folder; Dispose stops the mount and removes the folder.</summary>
internal sealed class MountedVolume : IDisposable
{
    public MountedVolume(bool readOnly = false, FuseCacheMode cacheMode = FuseCacheMode.DirectIo)
    {
        FuseTestEnvironment.Require();
        Folder = Directory.CreateTempSubdirectory("addcow-fuse-").FullName;
        Volume = new InMemoryVolume();
        Mount = new FuseMount();
        try
        {
            Mount.Start(Volume, Folder, new FuseMountOptions { ReadOnly = readOnly, CacheMode = cacheMode });
        }
        catch
        {
            Directory.Delete(Folder);
            throw;
        }
    }

    public string Folder { get; }

    public InMemoryVolume Volume { get; }

    public FuseMount Mount { get; }

    public string PathOf(string volumePath) => Path.Combine(Folder, volumePath.TrimStart('/'));

    public void Dispose()
    {
        try
        {
            Mount.Stop();
        }
        finally
        {
            try
            {
                Directory.Delete(Folder);
            }
            catch (IOException)
            {
            }
        }
    }
}

internal sealed record ToolResult(int ExitCode, string Output, string Error);

/// <summary>Runs real tools (C locale, so messages are predictable) with a timeout.</summary>
internal static class Tool
{
    public static ToolResult Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["LC_ALL"] = "C";
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', arguments)} did not finish within 60 s.");
        }

        return new ToolResult(process.ExitCode, output.Result, error.Result);
    }

    public static Process Start(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, UseShellExecute = false };
        start.Environment["LC_ALL"] = "C";
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }
}

/// <summary>The FUSE control file system, where the kernel shows each connection's negotiated limits.</summary>
internal static class FuseControl
{
    private const string Path = "/sys/fs/fuse/connections";

    /// <summary>
    /// Its folder, mounted first if it is not (systemd mounts it at boot; a bare VM or container may not, and root can
    /// mount it here); inconclusive where neither is so.
    /// </summary>
    public static string Folder()
    {
        if (MountTable.Find(Path) is null)
        {
            if (!Environment.IsPrivilegedProcess)
            {
                Assert.Inconclusive($"{Path} is not mounted and only root can mount it");
            }

            ToolResult mount = Tool.Run("mount", "-t", "fusectl", "fusectl", Path);
            Assert.AreEqual(0, mount.ExitCode, "mount -t fusectl: " + mount.Error);
        }

        return Path;
    }
}

/// <summary>Direct libc calls, so a test sees the exact errno the mount answered.</summary>
internal static partial class Posix
{
    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_RDWR = 2;
    public const int O_CREAT = 0x40;
    public const int O_DIRECT = 0x4000;

    public static int OpenErrno(string path, int flags)
    {
        int fd = Open(path, flags, 0x1A4);
        if (fd < 0)
        {
            return Marshal.GetLastPInvokeError();
        }

        _ = Close(fd);
        return 0;
    }

    public static int Errno(int result) => result == 0 ? 0 : Marshal.GetLastPInvokeError();

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "unlink", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Unlink(string path);

    [LibraryImport("libc", EntryPoint = "rename", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Rename(string from, string to);

    [LibraryImport("libc", EntryPoint = "truncate", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Truncate(string path, long length);

    [LibraryImport("libc", EntryPoint = "chmod", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Chmod(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "mkdir", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Mkdir(string path, uint mode);
}
