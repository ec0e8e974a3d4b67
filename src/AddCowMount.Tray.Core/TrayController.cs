using System.Globalization;
using AddCowMount.Core.Format;
using AddCowMount.Tray.Core.Menu;
using AddCowMount.Tray.Core.Mounts;
using AddCowMount.Tray.Core.Platform;
using AddCowMount.Tray.Core.Settings;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Tray.Core;

/// <summary>
/// The tray's brain: holds the last known mounts and settings, runs menu commands through the seams and
/// publishes <see cref="Menu"/>. Every failure reaches the user through <see cref="INotifier"/> and turns the
/// icon to <see cref="IconState.Error"/> until the next command starts (or, for a failed
/// refresh, until a refresh works). Not thread-safe: call it from the UI thread.
/// </summary>
public sealed partial class TrayController
{
    public const string ErrorTitle = "AddCowMount error";
    public const string AppTitle = "AddCowMount";

    private readonly IMountClient _client;
    private readonly IDialogService _dialogs;
    private readonly ISettingsStore _store;
    private readonly INotifier _notifier;
    private readonly IDesktopShell _shell;
    private readonly IFileSystemProbe _probe;
    private readonly TimeProvider _time;
    private readonly ILogger<TrayController> _logger;

    private IReadOnlyList<MountInfo> _mounts = [];
    private TraySettings _settings = new();
    private string? _error;
    private bool _errorFromRefresh;
    private string? _lastRefreshFailure;

    public TrayController(
        IMountClient client,
        IDialogService dialogs,
        ISettingsStore store,
        INotifier notifier,
        IDesktopShell shell,
        IFileSystemProbe probe,
        TimeProvider time,
        ILogger<TrayController> logger)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _dialogs = dialogs ?? throw new ArgumentNullException(nameof(dialogs));
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _notifier = notifier ?? throw new ArgumentNullException(nameof(notifier));
        _shell = shell ?? throw new ArgumentNullException(nameof(shell));
        _probe = probe ?? throw new ArgumentNullException(nameof(probe));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        Menu = MenuBuilder.Build(_mounts, _settings, _error);
    }

    /// <summary>Raised after <see cref="Menu"/> changed.</summary>
    public event EventHandler? MenuChanged;

    public TrayMenu Menu { get; private set; }

    public IReadOnlyList<MountInfo> Mounts => _mounts;

    public TraySettings Settings => _settings;

    /// <summary>The log folder in effect.</summary>
    public string LogFolder => _settings.LogFolder ?? SettingsPaths.DefaultLogFolder;

    /// <summary>Loads settings, reads the mounts and, at sign-in, mounts the saved sign-in list.</summary>
    public async Task InitializeAsync(bool atSignIn, CancellationToken cancellationToken = default)
    {
        try
        {
            _settings = _store.Load();
        }
        catch (SettingsException ex)
        {
            Fail(ex.Message, ex, fromRefresh: false);
        }

        await RefreshAsync(cancellationToken).ConfigureAwait(true);
        if (!atSignIn)
        {
            Publish();
            return;
        }

        foreach (MountRequest request in _settings.MountAtSignIn)
        {
            if (_mounts.Any(m => RecentList.PathComparer.Equals(m.Image, request.Image)))
            {
                continue;
            }

            string? invalid = MountValidator.ValidateMount(request, _mounts, _probe);
            if (invalid is not null)
            {
                Fail($"Cannot mount '{Path.GetFileName(request.Image)}' at sign-in: {invalid}", null, fromRefresh: false);
                continue;
            }

            await TryMountAsync(request, cancellationToken).ConfigureAwait(true);
        }

        await RefreshAsync(cancellationToken).ConfigureAwait(true);
    }

    /// <summary>Re-reads the mounts (the shell polls this, and it runs after every command).</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            _mounts = await _client.ListAsync(cancellationToken).ConfigureAwait(true);
            _lastRefreshFailure = null;
            if (_errorFromRefresh)
            {
                _error = null;
                _errorFromRefresh = false;
            }
        }
        catch (MountClientException ex)
        {
            // A poll repeating the same failure keeps the error icon without a new balloon every few seconds.
            if (_lastRefreshFailure != ex.Message)
            {
                _lastRefreshFailure = ex.Message;
                Fail($"Cannot list mounted disks: {ex.Message}", ex, fromRefresh: true);
            }
        }

        Publish();
    }

    /// <summary>Runs one menu command. Returns true when the tray should exit.</summary>
    public async Task<bool> ExecuteAsync(TrayCommand command, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        bool exit = false;

        // A new command starts clean: the previous failure was shown; one failing in this command sets it again
        // (a batch such as Unmount all keeps the error even when later items succeed).
        ClearError();
        try
        {
            exit = await ExecuteCoreAsync(command, cancellationToken).ConfigureAwait(true);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // Last line of defence: a failure in a command is shown, never lost.
            LogCommandFailed(ex, command.GetType().Name);
            Fail(ex is MountClientException or SettingsException ? ex.Message : $"{command.GetType().Name} failed: {ex.Message}", ex, fromRefresh: false);
        }

        if (!exit)
        {
            await RefreshAsync(cancellationToken).ConfigureAwait(true);
        }

        return exit;
    }

    private async Task<bool> ExecuteCoreAsync(TrayCommand command, CancellationToken cancellationToken)
    {
        switch (command)
        {
            case TrayCommand.MountImage:
                await MountWithDialogAsync(new MountDialogState(null, SuggestMountPoint(), _settings.DefaultReadOnly), cancellationToken).ConfigureAwait(true);
                return false;
            case TrayCommand.MountRecent recent:
                await MountRecentAsync(recent, cancellationToken).ConfigureAwait(true);
                return false;
            case TrayCommand.OpenMountPoint open:
                _shell.OpenFolder(MountValidator.TryGetDriveLetter(open.MountPoint, out char letter) ? $"{letter}:\\" : open.MountPoint);
                return false;
            case TrayCommand.CopyVhdPath copy:
                _shell.SetClipboardText(copy.Path);
                _notifier.Notify(NotificationKind.Info, AppTitle, $"Copied {copy.Path}");
                return false;
            case TrayCommand.Unmount unmount:
                await TryUnmountAsync(unmount.MountPoint, cancellationToken).ConfigureAwait(true);
                return false;
            case TrayCommand.UnmountAll:
                await UnmountAllAsync(cancellationToken).ConfigureAwait(true);
                return false;
            case TrayCommand.ClearRecent:
                if (_dialogs.Confirm(AppTitle, "Forget all recent images?"))
                {
                    SaveSettings(_settings with { RecentImages = [] });
                }

                return false;
            case TrayCommand.CreateOverlay:
                await CreateOverlayAsync(cancellationToken).ConfigureAwait(true);
                return false;
            case TrayCommand.ToggleMountAtSignIn toggle:
                ToggleMountAtSignIn(toggle.Request);
                return false;
            case TrayCommand.ToggleDefaultReadOnly:
                SaveSettings(_settings with { DefaultReadOnly = !_settings.DefaultReadOnly });
                return false;
            case TrayCommand.ChooseLogFolder:
                string? folder = _dialogs.PickFolder("Folder for AddCowMount's log files", LogFolder);
                if (folder is not null)
                {
                    SaveSettings(_settings with { LogFolder = folder });
                }

                return false;
            case TrayCommand.OpenLogFolder:
                _shell.OpenFolder(LogFolder);
                return false;
            case TrayCommand.Exit:
                return await ExitAsync(cancellationToken).ConfigureAwait(true);
            default:
                throw new ArgumentOutOfRangeException(nameof(command), command, "Unknown tray command.");
        }
    }

    private string SuggestMountPoint() => MountValidator.SuggestDriveLetter(_mounts, _probe) ?? string.Empty;

    private async Task MountWithDialogAsync(MountDialogState state, CancellationToken cancellationToken)
    {
        while (true)
        {
            MountRequest? answer = _dialogs.AskMount(state);
            if (answer is null)
            {
                return;
            }

            MountRequest request = answer with { Image = answer.Image.Trim(), MountPoint = MountValidator.NormalizeMountPoint(answer.MountPoint) };
            string? invalid = MountValidator.ValidateMount(request, _mounts, _probe);
            if (invalid is null)
            {
                await TryMountAsync(request, cancellationToken).ConfigureAwait(true);
                return;
            }

            state = new MountDialogState(request.Image, request.MountPoint, request.ReadOnly, invalid);
        }
    }

    private async Task MountRecentAsync(TrayCommand.MountRecent recent, CancellationToken cancellationToken)
    {
        var request = new MountRequest(recent.Image, recent.MountPoint, recent.ReadOnly);
        string? invalid = MountValidator.ValidateMount(request, _mounts, _probe);
        if (invalid is null)
        {
            await TryMountAsync(request, cancellationToken).ConfigureAwait(true);
            return;
        }

        // The remembered mount point may be taken now: let the user pick another, with the reason shown.
        await MountWithDialogAsync(new MountDialogState(recent.Image, recent.MountPoint, recent.ReadOnly, invalid), cancellationToken).ConfigureAwait(true);
    }

    private async Task<bool> TryMountAsync(MountRequest request, CancellationToken cancellationToken)
    {
        string name = Path.GetFileName(request.Image);
        try
        {
            await _client.MountAsync(request, cancellationToken).ConfigureAwait(true);
        }
        catch (MountClientException ex)
        {
            Fail(AddCowException.About($"Could not mount {name} at {request.MountPoint}", ex.Message), ex, fromRefresh: false);
            return false;
        }

        LogMounted(request.Image, request.MountPoint);
        _notifier.Notify(NotificationKind.Info, AppTitle, $"Mounted {name} at {request.MountPoint}{(request.ReadOnly ? " (read-only)" : "")}.");
        SaveSettings(_settings with
        {
            RecentImages = RecentList.Touch(_settings.RecentImages, new RecentImage(request.Image, request.MountPoint, request.ReadOnly, _time.GetUtcNow())),
        });
        return true;
    }

    private async Task<bool> TryUnmountAsync(string mountPoint, CancellationToken cancellationToken)
    {
        try
        {
            await _client.UnmountAsync(mountPoint, cancellationToken).ConfigureAwait(true);
        }
        catch (MountClientException ex)
        {
            Fail(AddCowException.About($"Could not unmount {mountPoint}", ex.Message), ex, fromRefresh: false);
            return false;
        }

        LogUnmounted(mountPoint);
        _notifier.Notify(NotificationKind.Info, AppTitle, $"Unmounted {mountPoint}.");
        return true;
    }

    private async Task<bool> UnmountAllAsync(CancellationToken cancellationToken)
    {
        bool all = true;
        foreach (MountInfo mount in _mounts.ToList())
        {
            all &= await TryUnmountAsync(mount.MountPoint, cancellationToken).ConfigureAwait(true);
        }

        return all;
    }

    private async Task CreateOverlayAsync(CancellationToken cancellationToken)
    {
        var state = new CreateOverlayDialogState(null, null, null);
        CreateOverlayRequest request;
        while (true)
        {
            CreateOverlayRequest? answer = _dialogs.AskCreateOverlay(state);
            if (answer is null)
            {
                return;
            }

            string? invalid = MountValidator.ValidateCreate(answer, _probe);
            if (invalid is null)
            {
                request = answer;
                break;
            }

            state = new CreateOverlayDialogState(answer.Backing, answer.ImageFile, answer.Overlay, invalid);
        }

        try
        {
            await _client.CreateOverlayAsync(request, cancellationToken).ConfigureAwait(true);
        }
        catch (MountClientException ex)
        {
            Fail($"Could not create {Path.GetFileName(request.Overlay)}: {ex.Message}", ex, fromRefresh: false);
            return;
        }

        _notifier.Notify(NotificationKind.Info, AppTitle, $"Created {request.Overlay}.");
        if (_dialogs.Confirm(AppTitle, $"Mount {Path.GetFileName(request.Overlay)} now?"))
        {
            await MountWithDialogAsync(new MountDialogState(request.Overlay, SuggestMountPoint(), _settings.DefaultReadOnly), cancellationToken).ConfigureAwait(true);
        }
    }

    private void ToggleMountAtSignIn(MountRequest request)
    {
        bool saved = _settings.MountAtSignIn.Any(r => RecentList.PathComparer.Equals(r.Image, request.Image));
        IReadOnlyList<MountRequest> list = saved
            ? _settings.MountAtSignIn.Where(r => !RecentList.PathComparer.Equals(r.Image, request.Image)).ToList()
            : [.. _settings.MountAtSignIn, request];
        SaveSettings(_settings with { MountAtSignIn = list });
    }

    private async Task<bool> ExitAsync(CancellationToken cancellationToken)
    {
        await RefreshAsync(cancellationToken).ConfigureAwait(true);
        if (_mounts.Count == 0)
        {
            return true;
        }

        List<MountInfo> busy = _mounts.Where(m => m.OpenHandles > 0).ToList();
        string list = string.Join(", ", _mounts.Select(m => m.MountPoint));
        string message = busy.Count == 0
            ? string.Create(CultureInfo.CurrentCulture, $"{_mounts.Count} disk(s) are mounted ({list}). They stay mounted after the tray exits unless you unmount them now.")
            : string.Create(CultureInfo.CurrentCulture, $"{_mounts.Count} disk(s) are mounted ({list}); {string.Join(", ", busy.Select(m => $"{m.MountPoint} has {m.OpenHandles} open file(s)"))}. Close those files to unmount; exiting the tray leaves the disks mounted.");

        switch (_dialogs.AskExit(message, canUnmount: busy.Count == 0))
        {
            case ExitChoice.KeepMounted:
                return true;
            case ExitChoice.UnmountAllAndExit when busy.Count == 0:
                return await UnmountAllAsync(cancellationToken).ConfigureAwait(true);
            case ExitChoice.UnmountAllAndExit:
                Fail($"Cannot unmount while files are open: {string.Join(", ", busy.Select(m => m.MountPoint))}.", null, fromRefresh: false);
                return false;
            default:
                return false;
        }
    }

    private void SaveSettings(TraySettings settings)
    {
        _settings = settings;
        try
        {
            _store.Save(settings);
        }
        catch (SettingsException ex)
        {
            Fail(ex.Message, ex, fromRefresh: false);
        }

        Publish();
    }

    private void ClearError()
    {
        _error = null;
        _errorFromRefresh = false;
    }

    private void Fail(string message, Exception? exception, bool fromRefresh)
    {
        _error = message;
        _errorFromRefresh = fromRefresh;
        LogFailure(exception, message);
        _notifier.Notify(NotificationKind.Error, ErrorTitle, message);
        Publish();
    }

    private void Publish()
    {
        Menu = MenuBuilder.Build(_mounts, _settings, _error);
        MenuChanged?.Invoke(this, EventArgs.Empty);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Mounted {Image} at {MountPoint}")]
    private partial void LogMounted(string image, string mountPoint);

    [LoggerMessage(Level = LogLevel.Information, Message = "Unmounted {MountPoint}")]
    private partial void LogUnmounted(string mountPoint);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Message}")]
    private partial void LogFailure(Exception? exception, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "Tray command {Command} threw")]
    private partial void LogCommandFailed(Exception exception, string command);
}
