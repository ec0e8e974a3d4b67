using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Tray.Core.Logging;

/// <summary>
/// Appends log lines to <c>tray-yyyyMMdd.log</c> in a folder chosen at each write (the user can change the
/// log folder in Settings). A failing write is dropped: logging must never take the tray down, and every
/// failure the user must know about is also a notification.
/// </summary>
public sealed class FileLoggerProvider : ILoggerProvider
{
    private readonly Func<string> _folder;
    private readonly TimeProvider _time;
    private readonly LogLevel _minimum;
    private readonly Lock _gate = new();

    public FileLoggerProvider(Func<string> folder, TimeProvider time, LogLevel minimum = LogLevel.Information)
    {
        _folder = folder ?? throw new ArgumentNullException(nameof(folder));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _minimum = minimum;
    }

    public ILogger CreateLogger(string categoryName) => new FileLogger(this, categoryName);

    public void Dispose()
    {
    }

    /// <summary>The file a line written now goes to.</summary>
    public string CurrentFile => Path.Combine(_folder(), $"tray-{_time.GetLocalNow():yyyyMMdd}.log");

    internal void Write(string category, LogLevel level, string message, Exception? exception)
    {
        var line = new StringBuilder();
        line.Append(_time.GetLocalNow().ToString("yyyy-MM-dd HH:mm:ss.fff zzz", CultureInfo.InvariantCulture))
            .Append(' ').Append(level.ToString().ToUpperInvariant()).Append(' ').Append(category).Append(": ").Append(message);
        if (exception is not null)
        {
            line.AppendLine().Append(exception);
        }

        line.AppendLine();
        lock (_gate)
        {
            try
            {
                string file = CurrentFile;
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                File.AppendAllText(file, line.ToString());
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Dropped on purpose, see the class comment.
            }
        }
    }

    private sealed class FileLogger(FileLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= provider._minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                provider.Write(category, logLevel, formatter(state, exception), exception);
            }
        }
    }
}
