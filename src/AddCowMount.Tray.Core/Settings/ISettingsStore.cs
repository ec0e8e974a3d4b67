namespace AddCowMount.Tray.Core.Settings;

/// <summary>Loads and saves <see cref="TraySettings"/>.</summary>
public interface ISettingsStore
{
    /// <summary>The saved settings, or defaults when none were saved yet.</summary>
    /// <exception cref="SettingsException">The file exists but cannot be read or parsed.</exception>
    TraySettings Load();

    /// <exception cref="SettingsException">The file cannot be written.</exception>
    void Save(TraySettings settings);
}

/// <summary>Settings could not be read or written; the message names the file and the cause.</summary>
public sealed class SettingsException : Exception
{
    public SettingsException()
    {
    }

    public SettingsException(string message)
        : base(message)
    {
    }

    public SettingsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
