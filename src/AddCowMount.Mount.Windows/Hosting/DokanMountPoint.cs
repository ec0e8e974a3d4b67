namespace AddCowMount.Mount.Windows.Hosting;

/// <summary>Validates and normalizes a mount point given by the user: a drive letter or an absolute folder.</summary>
public static class DokanMountPoint
{
    /// <summary>
    /// "x", "X:", "x:\" give "X:\"; "C:\mnt\disk\" gives "C:\mnt\disk". Throws <see cref="ArgumentException"/>
    /// with a message for the user otherwise.
    /// </summary>
    public static string Normalize(string mountPoint)
    {
        ArgumentNullException.ThrowIfNull(mountPoint);
        var text = mountPoint.Trim().Replace('/', '\\');
        if (text.Length == 0)
        {
            throw new ArgumentException("The mount point is empty; give a drive letter such as X: or an empty folder.", nameof(mountPoint));
        }

        if (text.Length <= 3 && char.IsAsciiLetter(text[0]) && (text.Length == 1 || text[1] == ':') && (text.Length < 3 || text[2] == '\\'))
        {
            return char.ToUpperInvariant(text[0]) + ":\\";
        }

        var isAbsolute = text.Length > 3 && char.IsAsciiLetter(text[0]) && text[1] == ':' && text[2] == '\\';
        if (!isAbsolute)
        {
            throw new ArgumentException($"'{mountPoint}' is not a drive letter (X:) or an absolute folder path (C:\\mnt\\disk).", nameof(mountPoint));
        }

        if (text.AsSpan(3).IndexOfAny("<>\"|?*:") >= 0)
        {
            throw new ArgumentException($"'{mountPoint}' contains characters Windows does not allow in a path.", nameof(mountPoint));
        }

        return text.TrimEnd('\\');
    }

    /// <summary>True for "X:\"-style drive-letter mount points (after <see cref="Normalize"/>).</summary>
    public static bool IsDriveLetter(string normalized) => normalized is [_, ':', '\\'];
}
