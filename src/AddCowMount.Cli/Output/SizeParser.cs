using System.Globalization;

namespace AddCowMount.Cli.Output;

/// <summary>Sizes and offsets as qemu-img takes them: 512, 64K, 64M, 8G, 1T (binary multiples), optional B/iB.</summary>
public static class SizeParser
{
    public static bool TryParse(string text, out long value)
    {
        value = 0;
        string t = text.Trim();
        if (t.EndsWith("iB", StringComparison.OrdinalIgnoreCase))
        {
            t = t[..^2];
        }
        else if (t.Length > 1 && (t[^1] == 'B' || t[^1] == 'b') && char.IsLetter(t[^2]))
        {
            t = t[..^1];
        }

        int shift = 0;
        if (t.Length > 0 && char.IsLetter(t[^1]))
        {
            shift = char.ToUpperInvariant(t[^1]) switch
            {
                'B' => 0,
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                'P' => 50,
                'E' => 60,
                _ => -1,
            };
            if (shift < 0)
            {
                return false;
            }

            t = t[..^1];
        }

        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && shift == 0)
        {
            return long.TryParse(t[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value) && value >= 0;
        }

        if (!decimal.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal number) || number < 0)
        {
            return false;
        }

        decimal scaled = number * (decimal)Math.Pow(2, shift);
        if (scaled > long.MaxValue || scaled != decimal.Truncate(scaled))
        {
            return false;
        }

        value = (long)scaled;
        return true;
    }

    public static long Parse(string text, string what) =>
        TryParse(text, out long value) ? value : throw new UsageException($"invalid {what} '{text}' (use bytes or a suffix: 512, 64K, 64M, 8G)");

    public static string Human(long bytes)
    {
        string[] units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.Length - 1)
        {
            v /= 1024;
            u++;
        }

        return u == 0 ? $"{bytes} bytes" : string.Create(CultureInfo.InvariantCulture, $"{v:0.##} {units[u]}");
    }
}

/// <summary>A mistake in the command line: exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
