using System.Text.Json;
using System.Text.Json.Serialization;
using AddCowMount.Tray.Core.Mounts;

namespace AddCowMount.Tray.Core.Settings;

/// <summary>
/// Settings as an indented JSON file. Saves write a sibling temporary file and move it over the old one, so a
/// crash mid-save leaves the previous settings intact.
/// </summary>
public sealed class JsonSettingsStore : ISettingsStore
{
    private readonly string _path;

    public JsonSettingsStore(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _path = path;
    }

    public string FilePath => _path;

    public TraySettings Load()
    {
        string json;
        try
        {
            json = File.ReadAllText(_path);
        }
        catch (FileNotFoundException)
        {
            return new TraySettings();
        }
        catch (DirectoryNotFoundException)
        {
            return new TraySettings();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SettingsException($"Cannot read settings '{_path}': {ex.Message}", ex);
        }

        try
        {
            TraySettings? settings = JsonSerializer.Deserialize(json, TraySettingsJsonContext.Default.TraySettings);
            if (settings is null)
            {
                throw new SettingsException($"Settings '{_path}' hold no settings object.");
            }

            // Older or hand-edited files may carry nulls where lists are expected.
            return settings with
            {
                MountAtSignIn = settings.MountAtSignIn ?? [],
                RecentImages = settings.RecentImages ?? [],
            };
        }
        catch (JsonException ex)
        {
            throw new SettingsException($"Settings '{_path}' are not valid JSON ({ex.Message}); defaults are used until they are saved again.", ex);
        }
    }

    public void Save(TraySettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string temporary = _path + ".tmp";
        try
        {
            string? folder = Path.GetDirectoryName(_path);
            if (!string.IsNullOrEmpty(folder))
            {
                Directory.CreateDirectory(folder);
            }

            File.WriteAllText(temporary, JsonSerializer.Serialize(settings, TraySettingsJsonContext.Default.TraySettings));
            File.Move(temporary, _path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SettingsException($"Cannot save settings '{_path}': {ex.Message}", ex);
        }
    }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(TraySettings))]
[JsonSerializable(typeof(MountRequest))]
[JsonSerializable(typeof(RecentImage))]
internal sealed partial class TraySettingsJsonContext : JsonSerializerContext;
