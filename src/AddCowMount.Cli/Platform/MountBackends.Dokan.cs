using AddCowMount.Core.Hosting;
using AddCowMount.Mount.Dokan;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Cli.Platform;

internal static partial class MountBackends
{
    private static partial IMountBackend? CreateWindows(ILoggerFactory loggerFactory) =>
        OperatingSystem.IsWindows() ? new DokanBackend(loggerFactory) : null;
}
