using System.Globalization;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Mount.Windows.Hosting;

/// <summary>
/// Sinks for DokanNet's <c>DokanNet.Logging.Logger</c> (five <c>Action&lt;string, object[]&gt;</c>) that write to
/// Microsoft.Extensions.Logging. DokanNet's messages are already formatted text (sometimes with composite
/// arguments), so they go through a fixed template and never become templates themselves.
/// </summary>
public sealed partial class DokanLogBridge
{
    private readonly ILogger _logger;

    public DokanLogBridge(ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _logger = logger;
    }

    /// <summary>
    /// The debug sink, or null when Debug is off: DokanNet's logger reports <c>DebugEnabled</c> as "debug sink
    /// is not null" and skips formatting its per-callback traces when it is null.
    /// </summary>
    public Action<string, object[]>? DebugSink => _logger.IsEnabled(LogLevel.Debug) ? Debug : null;

    public void Debug(string message, object[] args) => Write(LogLevel.Debug, message, args);

    public void Info(string message, object[] args) => Write(LogLevel.Information, message, args);

    public void Warn(string message, object[] args) => Write(LogLevel.Warning, message, args);

    public void Error(string message, object[] args) => Write(LogLevel.Error, message, args);

    public void Fatal(string message, object[] args) => Write(LogLevel.Critical, message, args);

    /// <summary>Applies composite arguments when there are any; a message that does not fit its arguments is kept as is.</summary>
    public static string Format(string message, object[]? args)
    {
        if (args is null || args.Length == 0)
        {
            return message;
        }

        try
        {
            return string.Format(CultureInfo.InvariantCulture, message, args);
        }
        catch (FormatException)
        {
            return message + " [" + string.Join(", ", args) + "]";
        }
    }

    private void Write(LogLevel level, string message, object[] args)
    {
        if (!_logger.IsEnabled(level))
        {
            return;
        }

        try
        {
            LogDokan(_logger, level, Format(message ?? string.Empty, args));
        }
        catch (Exception)
        {
            // DokanNet calls this from its native callbacks: a failing log provider must not unwind into native code.
        }
    }

    [LoggerMessage(EventId = 1, Message = "Dokan: {DokanMessage}")]
    private static partial void LogDokan(ILogger logger, LogLevel level, string dokanMessage);
}
