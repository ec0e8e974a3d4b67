using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace AddCowMount.Mount.Windows.Security;

/// <summary>
/// Binary security identifiers (SID) without Windows APIs: System.Security.AccessControl throws
/// PlatformNotSupportedException off Windows, so the mount builds its descriptors itself.
/// Layout: revision (1), sub-authority count, 48-bit big-endian identifier authority, then
/// little-endian 32-bit sub-authorities.
/// </summary>
public static class Sid
{
    public const string LocalSystem = "S-1-5-18";
    public const string BuiltinAdministrators = "S-1-5-32-544";

    private const int MaxSubAuthorities = 15;
    private const int HeaderLength = 8;

    /// <summary>Parses "S-1-5-21-..." into its binary form.</summary>
    /// <exception cref="FormatException">The text is not a SID.</exception>
    public static byte[] Parse(string sid)
    {
        ArgumentNullException.ThrowIfNull(sid);
        var parts = sid.Split('-');
        if (parts.Length < 3 || !string.Equals(parts[0], "S", StringComparison.OrdinalIgnoreCase) || parts[1] != "1")
        {
            throw new FormatException($"'{sid}' is not a SID (expected S-1-<authority>-<sub-authority>...).");
        }

        var subCount = parts.Length - 3;
        if (subCount > MaxSubAuthorities)
        {
            throw new FormatException($"'{sid}' has {subCount} sub-authorities; a SID has at most {MaxSubAuthorities}.");
        }

        if (!ulong.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var authority) || authority > 0xFFFF_FFFF_FFFF)
        {
            throw new FormatException($"'{sid}' has an invalid identifier authority '{parts[2]}'.");
        }

        var bytes = new byte[HeaderLength + (4 * subCount)];
        bytes[0] = 1;
        bytes[1] = (byte)subCount;
        for (var i = 0; i < 6; i++)
        {
            bytes[2 + i] = (byte)(authority >> (8 * (5 - i)));
        }

        for (var i = 0; i < subCount; i++)
        {
            if (!uint.TryParse(parts[3 + i], NumberStyles.None, CultureInfo.InvariantCulture, out var sub))
            {
                throw new FormatException($"'{sid}' has an invalid sub-authority '{parts[3 + i]}'.");
            }

            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(HeaderLength + (4 * i)), sub);
        }

        return bytes;
    }

    /// <summary>Length of the SID at the start of <paramref name="data"/>, or -1 when it is not a valid SID.</summary>
    public static int GetLength(ReadOnlySpan<byte> data)
    {
        if (data.Length < HeaderLength || data[0] != 1 || data[1] > MaxSubAuthorities)
        {
            return -1;
        }

        var length = HeaderLength + (4 * data[1]);
        return length <= data.Length ? length : -1;
    }

    /// <summary>The "S-1-..." text of a binary SID.</summary>
    public static string ToString(ReadOnlySpan<byte> sid)
    {
        var length = GetLength(sid);
        if (length < 0)
        {
            throw new FormatException("Not a binary SID.");
        }

        ulong authority = 0;
        for (var i = 0; i < 6; i++)
        {
            authority = (authority << 8) | sid[2 + i];
        }

        var text = new StringBuilder("S-1-").Append(authority.ToString(CultureInfo.InvariantCulture));
        for (var i = 0; i < sid[1]; i++)
        {
            var sub = BinaryPrimitives.ReadUInt32LittleEndian(sid[(HeaderLength + (4 * i))..]);
            text.Append('-').Append(sub.ToString(CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }
}
