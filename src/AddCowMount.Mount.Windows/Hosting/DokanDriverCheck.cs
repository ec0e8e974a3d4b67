using System.Globalization;

namespace AddCowMount.Mount.Windows.Hosting;

/// <summary>Outcome of checking the installed Dokany before mounting.</summary>
public enum DokanDriverState
{
    Ready,
    LibraryMissing,
    LibraryTooOld,
    DriverNotRunning,
}

/// <summary>Result of <see cref="DokanDriverCheck.Evaluate"/>; <see cref="Message"/> is what the user reads.</summary>
public sealed record DokanDriverCheckResult(DokanDriverState State, string Message)
{
    public bool IsReady => State == DokanDriverState.Ready;
}

/// <summary>
/// Decides whether the installed Dokany can carry the mount. Inputs come from dokan2.dll:
/// <c>DokanVersion()</c> is the library version without dots (231 = 2.3.1); <c>DokanDriverVersion()</c>
/// is the kernel driver's own number (0x190 for Dokany 2.x) and 0 when the driver does not answer.
/// </summary>
public static class DokanDriverCheck
{
    /// <summary>Dokany 2.0.0, the first release DokanNet 2.x talks to (DOKAN_MINIMUM_COMPATIBLE_VERSION).</summary>
    public const int MinimumLibraryVersion = 200;

    public const string DownloadUrl = "https://github.com/dokan-dev/dokany/releases";

    /// <param name="libraryVersion">DokanVersion(), or null when dokan2.dll could not be loaded.</param>
    /// <param name="driverVersion">DokanDriverVersion(), or null when it was not asked.</param>
    public static DokanDriverCheckResult Evaluate(int? libraryVersion, int? driverVersion)
    {
        if (libraryVersion is null)
        {
            return new(DokanDriverState.LibraryMissing,
                $"Dokany 2.x is not installed (dokan2.dll was not found). Install Dokany 2.x from {DownloadUrl} and restart Windows, then mount again.");
        }

        if (libraryVersion < MinimumLibraryVersion)
        {
            return new(DokanDriverState.LibraryTooOld,
                $"Dokany {FormatVersion(libraryVersion.Value)} is installed, but AddCowMount needs Dokany {FormatVersion(MinimumLibraryVersion)} or newer. Install the current 2.x release from {DownloadUrl} and restart Windows.");
        }

        if (driverVersion is 0)
        {
            return new(DokanDriverState.DriverNotRunning,
                $"Dokany {FormatVersion(libraryVersion.Value)} is installed, but its driver (dokan2.sys) is not running. Restart Windows; if that does not help, repair Dokany 2.x from {DownloadUrl}.");
        }

        return new(DokanDriverState.Ready, $"Dokany {FormatVersion(libraryVersion.Value)} is ready.");
    }

    /// <summary>231 gives "2.3.1", 200 gives "2.0.0", 1xyz style numbers are rendered the same way.</summary>
    public static string FormatVersion(int version)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(version);
        var patch = version % 10;
        var minor = version / 10 % 10;
        var major = version / 100;
        return string.Create(CultureInfo.InvariantCulture, $"{major}.{minor}.{patch}");
    }
}
