using AddCowMount.Core.Format;
using AddCowMount.Core.Hosting;
using AddCowMount.Mount.Fuse;

using Microsoft.Extensions.Logging;

namespace AddCowMount.Cli.Platform;

/// <summary>Picks the platform's mount backend: FUSE on Linux, Dokan on Windows (when built with it).</summary>
internal static partial class MountBackends
{
    public static IMountBackend Create(ILoggerFactory loggerFactory)
    {
        if (OperatingSystem.IsWindows())
        {
            return CreateWindows(loggerFactory) ?? throw new AddCowException(AddCowError.InvalidArgument, null,
                "this build of addcow has no Dokan support; build with -p:BuildDokan=true");
        }

        if (OperatingSystem.IsLinux())
        {
            return new FuseBackend(loggerFactory);
        }

        throw new AddCowException(AddCowError.InvalidArgument, null, "mounting is supported on Linux (FUSE) and Windows (Dokan)");
    }

    /// <summary>Clears a mount left behind by a mount process that died; true when there was one.</summary>
    public static bool TryClearStale(string mountPoint) => OperatingSystem.IsLinux() && FuseBackend.TryClearStale(mountPoint);

    /// <summary>Whether the OS still shows a mount there (Linux; elsewhere the registry is the only witness).</summary>
    public static bool IsStillAttached(string mountPoint) => !OperatingSystem.IsLinux() || FuseBackend.IsMounted(mountPoint);

    private static partial IMountBackend? CreateWindows(ILoggerFactory loggerFactory);
}
