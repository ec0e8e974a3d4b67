using System.Diagnostics;
using AddCowMount.Tray.Core.Platform;

namespace AddCowMount.Tray;

/// <summary>Explorer and clipboard.</summary>
internal sealed class DesktopShell : IDesktopShell
{
    public void OpenFolder(string path)
    {
        Directory.CreateDirectory(path);
        using Process? _ = Process.Start(new ProcessStartInfo("explorer.exe") { ArgumentList = { path }, UseShellExecute = false });
    }

    public void SetClipboardText(string text) => Clipboard.SetText(text);
}
