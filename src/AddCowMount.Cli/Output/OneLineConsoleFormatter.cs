using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace AddCowMount.Cli.Output;

/// <summary>
/// Log lines on stderr as one line each: "addcow: warning: message (IOException: text)". A user never sees a stack
/// trace; ADDCOW_LOG=trace adds it for debugging.
/// </summary>
internal sealed class OneLineConsoleFormatter() : ConsoleFormatter(Name)
{
    public new const string Name = "addcow";

    public static bool IncludeStackTraces { get; set; }

    public override void Write<TState>(in LogEntry<TState> logEntry, Microsoft.Extensions.Logging.IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        string message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        string level = logEntry.LogLevel switch
        {
            LogLevel.Trace => "trace",
            LogLevel.Debug => "debug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warning",
            LogLevel.Error => "error",
            _ => "critical",
        };
        textWriter.Write($"addcow: {level}: {message}");
        if (logEntry.Exception is { } ex)
        {
            textWriter.Write(IncludeStackTraces ? $"\n{ex}" : $" ({ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")})");
        }

        textWriter.WriteLine();
    }
}
