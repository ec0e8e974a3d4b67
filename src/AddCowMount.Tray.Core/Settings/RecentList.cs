namespace AddCowMount.Tray.Core.Settings;

/// <summary>Most-recently-used images: newest first, one entry per image path, capped.</summary>
public static class RecentList
{
    public const int Capacity = 10;

    /// <summary>Paths compare case-insensitively on Windows, exactly elsewhere.</summary>
    public static StringComparer PathComparer { get; } =
        OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;

    /// <summary><paramref name="used"/> moved (or added) to the front; the oldest dropped beyond <see cref="Capacity"/>.</summary>
    public static IReadOnlyList<RecentImage> Touch(IReadOnlyList<RecentImage> recent, RecentImage used)
    {
        ArgumentNullException.ThrowIfNull(recent);
        ArgumentNullException.ThrowIfNull(used);
        var result = new List<RecentImage>(Capacity) { used };
        foreach (RecentImage entry in recent)
        {
            if (result.Count == Capacity)
            {
                break;
            }

            if (!PathComparer.Equals(entry.Image, used.Image))
            {
                result.Add(entry);
            }
        }

        return result;
    }

    /// <summary><paramref name="recent"/> without <paramref name="image"/>.</summary>
    public static IReadOnlyList<RecentImage> Remove(IReadOnlyList<RecentImage> recent, string image)
    {
        ArgumentNullException.ThrowIfNull(recent);
        return recent.Where(e => !PathComparer.Equals(e.Image, image)).ToList();
    }
}
