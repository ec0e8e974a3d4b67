namespace AddCowMount.Tray.Core.Menu;

/// <summary>One menu entry as data; the shell turns it into a ToolStripItem.</summary>
/// <param name="Text">Label; ignored for separators.</param>
/// <param name="Command">Null for separators, submenus and information-only lines.</param>
public sealed record MenuItemModel(
    string Text,
    TrayCommand? Command = null,
    bool Enabled = true,
    bool Checked = false,
    IReadOnlyList<MenuItemModel>? Children = null)
{
    public static MenuItemModel Separator { get; } = new("-", Enabled: false);

    public bool IsSeparator => ReferenceEquals(this, Separator);

    public IReadOnlyList<MenuItemModel> Items => Children ?? [];

    public bool IsSubmenu => Children is not null;
}

/// <summary>Which icon the tray shows.</summary>
public enum IconState
{
    Idle,
    Mounted,
    Error,
}

/// <summary>The whole tray as data: icon, tooltip and menu.</summary>
public sealed record TrayMenu(IconState Icon, string Tooltip, IReadOnlyList<MenuItemModel> Items);
