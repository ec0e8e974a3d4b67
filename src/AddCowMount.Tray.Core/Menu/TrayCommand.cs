using AddCowMount.Tray.Core.Mounts;

namespace AddCowMount.Tray.Core.Menu;

/// <summary>What a menu item does; executed by <see cref="TrayController.ExecuteAsync"/>.</summary>
public abstract record TrayCommand
{
    public sealed record MountImage : TrayCommand;

    public sealed record MountRecent(string Image, string MountPoint, bool ReadOnly) : TrayCommand;

    public sealed record OpenMountPoint(string MountPoint) : TrayCommand;

    /// <summary>Copies a disk file's path (the .vhd or the .vhdx) to the clipboard.</summary>
    public sealed record CopyVhdPath(string Path) : TrayCommand;

    public sealed record Unmount(string MountPoint) : TrayCommand;

    public sealed record UnmountAll : TrayCommand;

    public sealed record ClearRecent : TrayCommand;

    public sealed record CreateOverlay : TrayCommand;

    public sealed record ToggleMountAtSignIn(MountRequest Request) : TrayCommand;

    public sealed record ToggleDefaultReadOnly : TrayCommand;

    public sealed record ChooseLogFolder : TrayCommand;

    public sealed record OpenLogFolder : TrayCommand;

    public sealed record Exit : TrayCommand;
}
