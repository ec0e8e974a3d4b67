using AddCowMount.Core.Hosting;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Cli.Platform;

internal static partial class MountBackends
{
    private static partial IMountBackend? CreateWindows(ILoggerFactory loggerFactory) => null;
}
