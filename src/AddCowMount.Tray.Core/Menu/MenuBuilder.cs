using System.Globalization;
using AddCowMount.Tray.Core.Mounts;
using AddCowMount.Tray.Core.Settings;

namespace AddCowMount.Tray.Core.Menu;

/// <summary>Computes the tray menu from the mounts and the settings; pure, so tests pin every state.</summary>
public static class MenuBuilder
{
    /// <summary>NotifyIcon.Text refuses more than 127 characters; 63 is what older Windows shows.</summary>
    public const int MaxTooltipLength = 63;

    public const string MountImageText = "Mount image…";
    public const string NoMountsText = "No disks mounted";
    public const string UnmountAllText = "Unmount all";
    public const string RecentText = "Recent images";
    public const string ClearRecentText = "Clear recent images";
    public const string CreateOverlayText = "Create overlay…";
    public const string SettingsText = "Settings";
    public const string MountAtSignInText = "Mount at sign-in";
    public const string DefaultReadOnlyText = "Mount read-only by default";
    public const string LogFolderText = "Log folder…";
    public const string OpenLogFolderText = "Open log folder";
    public const string OpenInExplorerText = "Open in Explorer";
    public const string CopyVhdPathText = "Copy path of the VHD";
    public const string CopyVhdxPathText = "Copy path of the VHDX (Hyper-V Gen 2)";
    public const string UnmountText = "Unmount";
    public const string ExitText = "Exit";

    public static TrayMenu Build(IReadOnlyList<MountInfo> mounts, TraySettings settings, string? error)
    {
        ArgumentNullException.ThrowIfNull(mounts);
        ArgumentNullException.ThrowIfNull(settings);

        var items = new List<MenuItemModel> { new(MountImageText, new TrayCommand.MountImage()), MenuItemModel.Separator };
        if (mounts.Count == 0)
        {
            items.Add(new MenuItemModel(NoMountsText, Enabled: false));
        }
        else
        {
            items.AddRange(mounts.Select(MountItem));
        }

        items.Add(new MenuItemModel(UnmountAllText, new TrayCommand.UnmountAll(), Enabled: mounts.Count > 0));
        items.Add(MenuItemModel.Separator);
        items.Add(RecentMenu(mounts, settings));
        items.Add(new MenuItemModel(CreateOverlayText, new TrayCommand.CreateOverlay()));
        items.Add(SettingsMenu(mounts, settings));
        items.Add(MenuItemModel.Separator);
        items.Add(new MenuItemModel(ExitText, new TrayCommand.Exit()));

        IconState icon = error is not null ? IconState.Error : mounts.Count > 0 ? IconState.Mounted : IconState.Idle;
        return new TrayMenu(icon, Tooltip(mounts, error), items);
    }

    public static string MountLabel(MountInfo mount)
    {
        ArgumentNullException.ThrowIfNull(mount);
        string label = $"{mount.MountPoint}  {Path.GetFileName(mount.Image)}";
        if (mount.ReadOnly)
        {
            label += " (read-only)";
        }

        return label;
    }

    private static MenuItemModel MountItem(MountInfo mount)
    {
        string unmountText = mount.OpenHandles switch
        {
            0 => UnmountText,
            1 => $"{UnmountText} (1 file open)",
            int n => string.Create(CultureInfo.CurrentCulture, $"{UnmountText} ({n} files open)"),
        };
        return new MenuItemModel(
            MountLabel(mount),
            Children:
            [
                new MenuItemModel(OpenInExplorerText, new TrayCommand.OpenMountPoint(mount.MountPoint)),
                CopyPathItem(CopyVhdPathText, mount.VhdPath),
                CopyPathItem(CopyVhdxPathText, mount.VhdxPath),
                new MenuItemModel(unmountText, new TrayCommand.Unmount(mount.MountPoint)),
            ]);
    }

    /// <summary>Copies a disk file's path to the clipboard; disabled when the mount has no such file.</summary>
    private static MenuItemModel CopyPathItem(string text, string? path) =>
        path is null ? new MenuItemModel(text, Enabled: false) : new MenuItemModel(text, new TrayCommand.CopyVhdPath(path));

    private static MenuItemModel RecentMenu(IReadOnlyList<MountInfo> mounts, TraySettings settings)
    {
        var children = new List<MenuItemModel>();
        foreach (RecentImage recent in settings.RecentImages)
        {
            MountInfo? mounted = mounts.FirstOrDefault(m => RecentList.PathComparer.Equals(m.Image, recent.Image));
            string text = $"{Path.GetFileName(recent.Image)}  ({Path.GetDirectoryName(recent.Image)})";
            children.Add(mounted is null
                ? new MenuItemModel(text, new TrayCommand.MountRecent(recent.Image, recent.MountPoint, recent.ReadOnly))
                : new MenuItemModel($"{text}  mounted at {mounted.MountPoint}", Enabled: false));
        }

        if (children.Count > 0)
        {
            children.Add(MenuItemModel.Separator);
            children.Add(new MenuItemModel(ClearRecentText, new TrayCommand.ClearRecent()));
        }

        return new MenuItemModel(RecentText, Enabled: children.Count > 0, Children: children);
    }

    private static MenuItemModel SettingsMenu(IReadOnlyList<MountInfo> mounts, TraySettings settings)
    {
        // Saved sign-in mounts (checked; click removes) then current mounts not yet saved (unchecked; click adds).
        var signIn = new List<MenuItemModel>();
        foreach (MountRequest request in settings.MountAtSignIn)
        {
            signIn.Add(new MenuItemModel(SignInLabel(request), new TrayCommand.ToggleMountAtSignIn(request), Checked: true));
        }

        foreach (MountInfo mount in mounts)
        {
            if (!settings.MountAtSignIn.Any(r => RecentList.PathComparer.Equals(r.Image, mount.Image)))
            {
                var request = new MountRequest(mount.Image, mount.MountPoint, mount.ReadOnly);
                signIn.Add(new MenuItemModel(SignInLabel(request), new TrayCommand.ToggleMountAtSignIn(request)));
            }
        }

        return new MenuItemModel(
            SettingsText,
            Children:
            [
                new MenuItemModel(MountAtSignInText, Enabled: signIn.Count > 0, Children: signIn),
                new MenuItemModel(DefaultReadOnlyText, new TrayCommand.ToggleDefaultReadOnly(), Checked: settings.DefaultReadOnly),
                new MenuItemModel(LogFolderText, new TrayCommand.ChooseLogFolder()),
                new MenuItemModel(OpenLogFolderText, new TrayCommand.OpenLogFolder()),
            ]);
    }

    private static string SignInLabel(MountRequest request) =>
        $"{Path.GetFileName(request.Image)} at {request.MountPoint}{(request.ReadOnly ? " (read-only)" : "")}";

    private static string Tooltip(IReadOnlyList<MountInfo> mounts, string? error)
    {
        string text = error is not null
            ? $"AddCowMount: {error}"
            : mounts.Count switch
            {
                0 => "AddCowMount: no disks mounted",
                1 => $"AddCowMount: {mounts[0].MountPoint} mounted",
                int n => string.Create(CultureInfo.CurrentCulture, $"AddCowMount: {n} disks mounted"),
            };
        return text.Length <= MaxTooltipLength ? text : string.Concat(text.AsSpan(0, MaxTooltipLength - 1), "…");
    }
}
