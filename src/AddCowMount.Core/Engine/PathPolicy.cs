using AddCowMount.Core.Format;

namespace AddCowMount.Core.Engine;

/// <summary>
/// How names stored in a header become paths. An image from someone else can name any file, so by
/// default UNC shares (opening one leaks the user's credentials on Windows), devices and
/// <c>protocol:</c> names are refused; relative names resolve against the add-cow file's own folder
/// (the seed's path_combine), absolute names stand as they are.
/// </summary>
public static class PathPolicy
{
    public static string Resolve(string name, string addCowPath, bool allowUnsafe, string what)
    {
        if (!allowUnsafe && DescribeUnsafe(name) is { } reason)
        {
            throw new AddCowException(AddCowError.UnsafePath, addCowPath,
                $"{addCowPath}: {what} '{name}' is {reason}; refused (pass --allow-unsafe-paths to open it anyway)");
        }

        string folder = Path.GetDirectoryName(Path.GetFullPath(addCowPath)) ?? ".";
        string resolved = Path.GetFullPath(Path.IsPathRooted(name) ? name : Path.Combine(folder, name));
        if (!allowUnsafe && DescribeUnsafe(resolved) is { } resolvedReason)
        {
            throw new AddCowException(AddCowError.UnsafePath, addCowPath,
                $"{addCowPath}: {what} '{name}' resolves to {resolved}, which is {resolvedReason}; refused (pass --allow-unsafe-paths to open it anyway)");
        }

        return resolved;
    }

    /// <summary>Why a name is unsafe to open from an untrusted header, or null when it is an ordinary file name.</summary>
    public static string? DescribeUnsafe(string name)
    {
        if (name.StartsWith(@"\\.\", StringComparison.Ordinal) || name.StartsWith(@"\\?\", StringComparison.Ordinal) ||
            name.StartsWith("//./", StringComparison.Ordinal) || name.StartsWith("//?/", StringComparison.Ordinal))
        {
            return "a device path";
        }

        if (name.StartsWith(@"\\", StringComparison.Ordinal) || name.StartsWith("//", StringComparison.Ordinal) ||
            name.StartsWith(@"/\", StringComparison.Ordinal) || name.StartsWith(@"\/", StringComparison.Ordinal))
        {
            return "a network (UNC) path";
        }

        if (name.StartsWith("/dev/", StringComparison.Ordinal) || name.StartsWith("/proc/", StringComparison.Ordinal) ||
            name.StartsWith("/sys/", StringComparison.Ordinal))
        {
            return "a device path";
        }

        int colon = name.IndexOf(':', StringComparison.Ordinal);
        bool driveLetter = colon == 1 && char.IsAsciiLetter(name[0]) && name.Length > 2 && (name[2] == '\\' || name[2] == '/');
        if (colon >= 0 && !driveLetter)
        {
            return "a protocol path";
        }

        if (IsReservedDeviceName(name))
        {
            return "a device name";
        }

        return null;
    }

    /// <summary>
    /// Whether the last part of a path is one of Windows' reserved device names (CON, PRN, AUX, NUL, COM0-9,
    /// LPT0-9 and their superscript forms, CONIN$, CONOUT$), with any extension or trailing dots and spaces:
    /// Windows opens the device instead of a file for every such name, in any folder.
    /// </summary>
    public static bool IsReservedDeviceName(string path)
    {
        string leaf = path.Replace('\\', '/').Split('/')[^1];
        int dot = leaf.IndexOf('.', StringComparison.Ordinal);
        string stem = (dot >= 0 ? leaf[..dot] : leaf).TrimEnd(' ').ToUpperInvariant();
        return stem is "CON" or "PRN" or "AUX" or "NUL" or "CONIN$" or "CONOUT$" ||
            (stem.Length == 4 && (stem.StartsWith("COM", StringComparison.Ordinal) || stem.StartsWith("LPT", StringComparison.Ordinal)) &&
             (char.IsAsciiDigit(stem[3]) || stem[3] is '\u00b9' or '\u00b2' or '\u00b3'));
    }

    /// <summary>
    /// The name a header stores for a file the user named: relative names with '/' separators, so an image made on
    /// Windows opens on Linux and back (Windows reads '/' as a separator; Linux reads '\\' as part of a name).
    /// Absolute names stand as given, as qemu-img stores them.
    /// </summary>
    public static string StoredName(string name) =>
        OperatingSystem.IsWindows() && !Path.IsPathRooted(name) ? name.Replace('\\', '/') : name;

    /// <summary>
    /// The stored name for <paramref name="target"/> relative to the folder of <paramref name="addCowPath"/> (what
    /// a user picking files in a dialog means, and what lets the files move together); the full path when the two
    /// share no root (another drive).
    /// </summary>
    public static string RelativeStoredName(string target, string addCowPath)
    {
        string full = Path.GetFullPath(target);
        string folder = Path.GetDirectoryName(Path.GetFullPath(addCowPath)) ?? ".";
        string relative = Path.GetRelativePath(folder, full);
        return Path.IsPathRooted(relative) ? full : StoredName(relative);
    }
}
