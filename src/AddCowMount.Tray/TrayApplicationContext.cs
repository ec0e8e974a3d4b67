using AddCowMount.Tray.Core;
using AddCowMount.Tray.Core.Menu;
using AddCowMount.Tray.Core.Mounts;
using AddCowMount.Tray.Core.Platform;
using AddCowMount.Tray.Core.Settings;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Tray;

/// <summary>
/// The tray without a main form: owns the NotifyIcon, rebuilds its ContextMenuStrip from
/// <see cref="TrayController.Menu"/> and polls the mount list so mounts made by the CLI appear too.
/// </summary>
internal sealed class TrayApplicationContext : ApplicationContext
{
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromSeconds(5);

    private readonly NotifyIcon _notifyIcon;
    private readonly ContextMenuStrip _menu;
    private readonly System.Windows.Forms.Timer _poll;
    private readonly TrayController _controller;
    private readonly WinFormsDialogService _dialogs;
    private readonly Dictionary<IconState, Icon> _icons;
    private bool _busy;

    public TrayApplicationContext(string[] args, ILoggerFactory loggerFactory)
    {
        _icons = new Dictionary<IconState, Icon>
        {
            [IconState.Idle] = LoadIcon("tray-idle.ico"),
            [IconState.Mounted] = LoadIcon("tray-mounted.ico"),
            [IconState.Error] = LoadIcon("tray-error.ico"),
        };
        _menu = new ContextMenuStrip();
        _notifyIcon = new NotifyIcon
        {
            Icon = _icons[IconState.Idle],
            Text = "AddCowMount",
            ContextMenuStrip = _menu,
            Visible = true,
        };
        _notifyIcon.DoubleClick += (_, _) => Run(new TrayCommand.MountImage());

        _dialogs = new WinFormsDialogService();
        var client = new AddCowCliClient(
            AddCowCliClient.ExecutableIn(AppContext.BaseDirectory),
            new ProcessRunner(),
            loggerFactory.CreateLogger<AddCowCliClient>());
        _controller = new TrayController(
            client,
            _dialogs,
            new JsonSettingsStore(SettingsPaths.SettingsFile),
            new BalloonNotifier(_notifyIcon),
            new DesktopShell(),
            new FileSystemProbe(),
            TimeProvider.System,
            loggerFactory.CreateLogger<TrayController>());
        _controller.MenuChanged += (_, _) => Bind(_controller.Menu);

        _poll = new System.Windows.Forms.Timer { Interval = (int)s_pollInterval.TotalMilliseconds };
        _poll.Tick += async (_, _) =>
        {
            if (!_busy)
            {
                await _controller.RefreshAsync().ConfigureAwait(true);
            }
        };

        bool atSignIn = args.Contains(Program.AtSignInArgument, StringComparer.OrdinalIgnoreCase);
        _ = StartAsync(atSignIn, args);
    }

    public void OnArgumentsForwarded(object? sender, string[] args)
    {
        string? image = args.FirstOrDefault(a => a.EndsWith(MountValidator.ImageExtension, StringComparison.OrdinalIgnoreCase));
        if (image is not null)
        {
            _dialogs.PendingImage = image;
            Run(new TrayCommand.MountImage());
        }
        else
        {
            _notifyIcon.ShowBalloonTip(3000, "AddCowMount", "AddCowMount is already running: use its icon in the notification area.", ToolTipIcon.Info);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _poll.Dispose();
            _notifyIcon.Visible = false;
            _notifyIcon.Dispose();
            _menu.Dispose();
            foreach (Icon icon in _icons.Values)
            {
                icon.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    protected override void ExitThreadCore()
    {
        _poll.Stop();
        _notifyIcon.Visible = false;
        base.ExitThreadCore();
    }

    private static Icon LoadIcon(string name)
    {
        using Stream stream = typeof(TrayApplicationContext).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Icon resource '{name}' is missing from the tray build.");
        return new Icon(stream, SystemInformation.SmallIconSize);
    }

    private async Task StartAsync(bool atSignIn, string[] args)
    {
        _busy = true;
        try
        {
            await _controller.InitializeAsync(atSignIn).ConfigureAwait(true);
            TrayLogFolder.Current = _controller.LogFolder;
        }
        catch (Exception ex)
        {
            // Started fire-and-forget: hand anything unexpected to the global hook (logged and shown).
            Application.OnThreadException(ex);
        }
        finally
        {
            _busy = false;
            _poll.Start();
        }

        if (args.Any(a => a.EndsWith(MountValidator.ImageExtension, StringComparison.OrdinalIgnoreCase)))
        {
            OnArgumentsForwarded(this, args);
        }
    }

    private void Bind(TrayMenu model)
    {
        _notifyIcon.Icon = _icons[model.Icon];
        _notifyIcon.Text = model.Tooltip;
        TrayLogFolder.Current = _controller.LogFolder;
        if (_menu.Visible)
        {
            // Rebuilding an open menu closes it under the user's pointer; the next poll or open applies it.
            return;
        }

        _menu.SuspendLayout();
        foreach (ToolStripItem old in _menu.Items.Cast<ToolStripItem>().ToList())
        {
            old.Dispose();
        }

        _menu.Items.Clear();
        _menu.Items.AddRange(model.Items.Select(CreateItem).ToArray());
        _menu.ResumeLayout();
    }

    private ToolStripItem CreateItem(MenuItemModel model)
    {
        if (model.IsSeparator)
        {
            return new ToolStripSeparator();
        }

        var item = new ToolStripMenuItem(model.Text) { Enabled = model.Enabled, Checked = model.Checked };
        if (model.IsSubmenu)
        {
            item.DropDownItems.AddRange(model.Items.Select(CreateItem).ToArray());
        }
        else if (model.Command is { } command)
        {
            item.Click += (_, _) => Run(command);
        }

        return item;
    }

    private async void Run(TrayCommand command)
    {
        // async void is the UI event boundary; ExecuteAsync reports every failure itself, and anything that
        // still escapes reaches Application.ThreadException (logged and shown by Program).
        if (_busy)
        {
            return;
        }

        _busy = true;
        bool exit;
        try
        {
            exit = await _controller.ExecuteAsync(command).ConfigureAwait(true);
        }
        finally
        {
            _busy = false;
        }

        if (exit)
        {
            ExitThread();
        }
    }
}
