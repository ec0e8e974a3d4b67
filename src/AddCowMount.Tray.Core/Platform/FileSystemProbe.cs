namespace AddCowMount.Tray.Core.Platform;

/// <summary><see cref="IFileSystemProbe"/> over the real file system.</summary>
public sealed class FileSystemProbe : IFileSystemProbe
{
    public bool FileExists(string path) => File.Exists(path);

    public bool DirectoryExists(string path) => Directory.Exists(path);

    public FolderState GetFolderState(string path)
    {
        if (!Directory.Exists(path))
        {
            return FolderState.Missing;
        }

        return Directory.EnumerateFileSystemEntries(path).Any() ? FolderState.NotEmpty : FolderState.Empty;
    }

    public bool IsDriveLetterInUse(char letter)
    {
        if (!OperatingSystem.IsWindows())
        {
            return false;
        }

        return DriveInfo.GetDrives().Any(d => char.ToUpperInvariant(d.Name[0]) == char.ToUpperInvariant(letter));
    }
}
