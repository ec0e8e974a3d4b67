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

        string leaf = Path.GetFileNameWithoutExtension(name.Replace('\\', '/').Split('/')[^1]).ToUpperInvariant();
        if (leaf is "CON" or "PRN" or "AUX" or "NUL" or "COM1" or "COM2" or "COM3" or "COM4" or "LPT1" or "LPT2" or "LPT3")
        {
            return "a device name";
        }

        return null;
    }
}
