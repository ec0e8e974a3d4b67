using System.Diagnostics;
using AddCowMount.Core.Hosting;
using AddCowMount.Core.Volume;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Mount.Fuse;

/// <summary>The Linux mount backend of <see cref="MountHost"/>: one <see cref="FuseMount"/> per mount.</summary>
public sealed class FuseBackend(ILoggerFactory loggerFactory) : IMountBackend
{
    public string Name => "FUSE";

    public bool IsAvailable(out string reason) => FuseMount.IsAvailable(out reason);

    public IMountedFileSystem Mount(IVolume volume, MountRequest request)
    {
        var mount = new FuseMount(loggerFactory.CreateLogger<FuseMount>());
        mount.Start(volume, request.MountPoint, new FuseMountOptions
        {
            ReadOnly = request.ReadOnly,
            AllowOther = request.AllowOther,
        });
        return new Mounted(mount);
    }

    public string PathOf(string mountPoint, string fileName) => Path.Combine(mountPoint, fileName);

    /// <summary>Whether the kernel still lists a FUSE mount at <paramref name="mountPoint"/>.</summary>
    public static bool IsMounted(string mountPoint) =>
        MountTable.Find(mountPoint) is { } entry && entry.FileSystemType.StartsWith("fuse", StringComparison.Ordinal);

    /// <summary>Clears a FUSE mount whose serving process died (kill -9 leaves "transport endpoint is not connected").</summary>
    public static bool TryClearStale(string mountPoint)
    {
        MountEntry? entry = MountTable.Find(mountPoint);
        if (entry is null || !entry.FileSystemType.StartsWith("fuse", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (string tool in new[] { "fusermount3", "fusermount" })
        {
            try
            {
                using var p = Process.Start(new ProcessStartInfo(tool, ["-u", "-z", entry.MountPoint]) { RedirectStandardError = true, UseShellExecute = false });
                if (p is not null && p.WaitForExit(10_000) && p.ExitCode == 0)
                {
                    return true;
                }
            }
            catch (System.ComponentModel.Win32Exception)
            {
            }
        }

        return false;
    }

    private sealed class Mounted(FuseMount mount) : IMountedFileSystem
    {
        public Task Completion => mount.Completion;

        public void Stop() => mount.Stop();

        public void Dispose() => mount.Dispose();
    }
}
