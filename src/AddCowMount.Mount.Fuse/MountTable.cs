using System.Globalization;
using System.Text;

namespace AddCowMount.Mount.Fuse;

/// <summary>One line of /proc/self/mountinfo, the fields this layer needs.</summary>
internal sealed record MountEntry(int Major, int Minor, string MountPoint, string FileSystemType, string Source);

/// <summary>Reads /proc/self/mountinfo: is a path a mount point, and which FUSE connection serves it.</summary>
internal static class MountTable
{
    internal const string MountInfoPath = "/proc/self/mountinfo";

    public static MountEntry? Find(string mountPoint)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(mountPoint));
        MountEntry? found = null;
        foreach (string line in File.ReadLines(MountInfoPath))
        {
            MountEntry? entry = Parse(line);
            if (entry is not null && entry.MountPoint == full)
            {
                found = entry; // the last one is on top
            }
        }

        return found;
    }

    /// <summary>
    /// "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue": fields 3 (major:minor) and
    /// 5 (mount point), then after the " - " separator the type and source. Octal escapes (\040) are decoded.
    /// </summary>
    public static MountEntry? Parse(string line)
    {
        string[] fields = line.Split(' ');
        int separator = Array.IndexOf(fields, "-");
        if (fields.Length < 5 || separator < 6 || separator + 2 >= fields.Length)
        {
            return null;
        }

        string[] device = fields[2].Split(':');
        if (device.Length != 2
            || !int.TryParse(device[0], NumberStyles.None, CultureInfo.InvariantCulture, out int major)
            || !int.TryParse(device[1], NumberStyles.None, CultureInfo.InvariantCulture, out int minor))
        {
            return null;
        }

        return new MountEntry(major, minor, Unescape(fields[4]), Unescape(fields[separator + 1]), Unescape(fields[separator + 2]));
    }

    private static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }

        var bytes = new List<byte>(field.Length);
        for (int i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length && IsOctal(field[i + 1]) && IsOctal(field[i + 2]) && IsOctal(field[i + 3]))
            {
                bytes.Add((byte)(((field[i + 1] - '0') << 6) | ((field[i + 2] - '0') << 3) | (field[i + 3] - '0')));
                i += 3;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(field[i].ToString()));
            }
        }

        return Encoding.UTF8.GetString([.. bytes]);
    }

    private static bool IsOctal(char c) => c is >= '0' and <= '7';
}
