using AddCowMount.Tray.Core.Platform;

namespace AddCowMount.Tray;

/// <summary>Notifications as NotifyIcon balloons (Windows 10/11 shows them as toasts).</summary>
internal sealed class BalloonNotifier(NotifyIcon notifyIcon) : INotifier
{
    public void Notify(NotificationKind kind, string title, string message)
    {
        ToolTipIcon icon = kind switch
        {
            NotificationKind.Error => ToolTipIcon.Error,
            NotificationKind.Warning => ToolTipIcon.Warning,
            _ => ToolTipIcon.Info,
        };
        notifyIcon.ShowBalloonTip(kind == NotificationKind.Error ? 10000 : 4000, title, message, icon);
    }
}
