using System.Globalization;
using System.Numerics;

namespace AddCowMount.Cli.Output;

/// <summary>Sizes and offsets as qemu-img takes them: 512, 64K, 64M, 8G, 1T (binary multiples), optional B/iB.</summary>
public static class SizeParser
{
    /// <summary>
    /// Parses <paramref name="text"/> in integer arithmetic, so every suffix is an exact power of two: 1P is 2^50 and
    /// 1E is 2^60. A fraction is accepted when the result is a whole number of bytes (1.5K = 1536), as qemu-img does.
    /// </summary>
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

        int point = t.IndexOf('.', StringComparison.Ordinal);
        string whole = point < 0 ? t : t[..point];
        string fraction = point < 0 ? string.Empty : t[(point + 1)..];
        if (whole.Length + fraction.Length == 0 || !whole.All(char.IsAsciiDigit) || !fraction.All(char.IsAsciiDigit))
        {
            return false;
        }

        // (whole + fraction / 10^digits) * 2^shift, exactly: the fraction's part must come out whole.
        BigInteger bytes = Digits(whole) << shift;
        BigInteger fractionBytes = BigInteger.DivRem(Digits(fraction) << shift, BigInteger.Pow(10, fraction.Length), out BigInteger remainder);
        bytes += fractionBytes;
        if (!remainder.IsZero || bytes > long.MaxValue)
        {
            return false;
        }

        value = (long)bytes;
        return true;
    }

    private static BigInteger Digits(string digits) =>
        digits.Length == 0 ? BigInteger.Zero : BigInteger.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);

    public static long Parse(string text, string what) =>
        TryParse(text, out long value) ? value : throw new UsageException($"invalid {what} '{text}' (use bytes or a suffix: 512, 64K, 64M, 8G, 1T, 1P, 1E)");

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
