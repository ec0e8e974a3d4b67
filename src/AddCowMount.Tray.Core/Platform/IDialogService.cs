using AddCowMount.Tray.Core.Mounts;

namespace AddCowMount.Tray.Core.Platform;

/// <summary>What the mount dialog shows; <see cref="Error"/> is set when a previous attempt was invalid.</summary>
public sealed record MountDialogState(string? Image, string MountPoint, bool ReadOnly, string? Error = null);

/// <summary>What the create-overlay dialog shows.</summary>
public sealed record CreateOverlayDialogState(string? Backing, string? ImageFile, string? Overlay, string? Error = null);

/// <summary>The user's answer when exiting with disks mounted.</summary>
public enum ExitChoice
{
    /// <summary>Stay in the tray.</summary>
    Cancel,

    /// <summary>Exit; the disks stay mounted (their mount processes own them).</summary>
    KeepMounted,

    /// <summary>Unmount every disk, then exit.</summary>
    UnmountAllAndExit,
}

/// <summary>Modal questions to the user. Every method returns null (or Cancel/false) when the user cancels.</summary>
public interface IDialogService
{
    MountRequest? AskMount(MountDialogState state);

    CreateOverlayRequest? AskCreateOverlay(CreateOverlayDialogState state);

    /// <param name="message">Names the mounted disks and any open files.</param>
    /// <param name="canUnmount">False while a disk has open files: only Cancel and KeepMounted are offered.</param>
    ExitChoice AskExit(string message, bool canUnmount);

    bool Confirm(string title, string message);

    string? PickFolder(string title, string? initialFolder);
}

public enum NotificationKind
{
    Info,
    Warning,
    Error,
}

/// <summary>Balloon/toast notifications. Every failure the tray sees goes through <see cref="Notify"/>.</summary>
public interface INotifier
{
    void Notify(NotificationKind kind, string title, string message);
}

/// <summary>Desktop actions: Explorer, clipboard.</summary>
public interface IDesktopShell
{
    void OpenFolder(string path);

    void SetClipboardText(string text);
}

/// <summary>State of a folder proposed as a mount point.</summary>
public enum FolderState
{
    Missing,
    Empty,
    NotEmpty,
}

/// <summary>The file-system facts validation needs.</summary>
public interface IFileSystemProbe
{
    bool FileExists(string path);

    bool DirectoryExists(string path);

    FolderState GetFolderState(string path);

    /// <summary>True when a drive letter is taken (a disk, a network share, an existing mount).</summary>
    bool IsDriveLetterInUse(char letter);
}
