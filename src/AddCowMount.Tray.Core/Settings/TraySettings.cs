using AddCowMount.Tray.Core.Mounts;

namespace AddCowMount.Tray.Core.Settings;

/// <summary>A recently used image, newest first in <see cref="TraySettings.RecentImages"/>.</summary>
public sealed record RecentImage(string Image, string MountPoint, bool ReadOnly, DateTimeOffset LastUsed);

/// <summary>Per-user tray settings, persisted as JSON by <see cref="ISettingsStore"/>.</summary>
public sealed record TraySettings
{
    /// <summary>Images mounted when the tray starts at sign-in.</summary>
    public IReadOnlyList<MountRequest> MountAtSignIn { get; init; } = [];

    /// <summary>The read-only box's initial state in the mount dialog.</summary>
    public bool DefaultReadOnly { get; init; }

    /// <summary>Where the tray writes its log; null means <see cref="SettingsPaths.DefaultLogFolder"/>.</summary>
    public string? LogFolder { get; init; }

    /// <summary>Most recently used first, at most <see cref="RecentList.Capacity"/>.</summary>
    public IReadOnlyList<RecentImage> RecentImages { get; init; } = [];
}

/// <summary>Where per-user files live.</summary>
public static class SettingsPaths
{
    /// <summary><c>%APPDATA%\AddCowMount</c> (Windows) or <c>~/.config/AddCowMount</c>.</summary>
    public static string SettingsFolder =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData, Environment.SpecialFolderOption.Create), "AddCowMount");

    /// <summary><c>%LOCALAPPDATA%\AddCowMount\logs</c> (Windows) or <c>~/.local/share/AddCowMount/logs</c>.</summary>
    public static string DefaultLogFolder =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "AddCowMount", "logs");

    public static string SettingsFile => Path.Combine(SettingsFolder, "tray-settings.json");
}
