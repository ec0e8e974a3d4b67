using AddCowMount.Tray.Core.Logging;
using AddCowMount.Tray.Core.Settings;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Tray;

/// <summary>
/// Entry point: single instance (a second launch forwards its arguments over a pipe and exits), global
/// exception hooks that log and tell the user, then the tray context. Arguments: <c>--at-sign-in</c> (the
/// installer's Run value) mounts the saved sign-in list; an <c>.add-cow</c> path opens the mount dialog for it.
/// </summary>
internal static class Program
{
    public const string AtSignInArgument = "--at-sign-in";

    private static ILogger? s_crashLogger;

    [STAThread]
    private static int Main(string[] args)
    {
        using var instance = new SingleInstance("AddCowMount.Tray");
        if (!instance.TryAcquire())
        {
            return instance.ForwardToFirstInstance(args) ? 0 : 1;
        }

        using var loggerFactory = LoggerFactory.Create(builder =>
        {
            builder.SetMinimumLevel(LogLevel.Information);
            builder.AddProvider(new FileLoggerProvider(() => TrayLogFolder.Current, TimeProvider.System));
        });
        s_crashLogger = loggerFactory.CreateLogger("AddCowMount.Tray.Crash");

        Application.SetUnhandledExceptionMode(UnhandledExceptionMode.CatchException);
        Application.ThreadException += (_, e) => ReportCrash(e.Exception, terminating: false);
        AppDomain.CurrentDomain.UnhandledException += (_, e) => ReportCrash(e.ExceptionObject as Exception, e.IsTerminating);
        TaskScheduler.UnobservedTaskException += (_, e) =>
        {
            ReportCrash(e.Exception, terminating: false);
            e.SetObserved();
        };

        Application.EnableVisualStyles();
        Application.SetCompatibleTextRenderingDefault(false);
        Application.SetHighDpiMode(HighDpiMode.PerMonitorV2);

        using var context = new TrayApplicationContext(args, loggerFactory);
        instance.ArgumentsReceived += context.OnArgumentsForwarded;
        instance.StartListening();
        Application.Run(context);
        return 0;
    }

    private static void ReportCrash(Exception? exception, bool terminating)
    {
        try
        {
            s_crashLogger?.LogCritical(exception, "Unhandled exception (terminating: {Terminating})", terminating);
            MessageBox.Show(
                $"AddCowMount's tray hit an unexpected error{(terminating ? " and must close" : "")}:\n\n{exception?.Message}\n\n" +
                $"Mounted disks are not affected. Details are in {TrayLogFolder.Current}.",
                "AddCowMount",
                MessageBoxButtons.OK,
                MessageBoxIcon.Error);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
        {
            // Reporting must not throw from inside an exception hook.
        }
    }
}

/// <summary>The log folder in effect, updated when settings change.</summary>
internal static class TrayLogFolder
{
    private static volatile string s_current = SettingsPaths.DefaultLogFolder;

    public static string Current
    {
        get => s_current;
        set => s_current = value;
    }
}
