using AddCowMount.Cli;
using AddCowMount.Cli.Output;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Logging;

// Composition root: real console, logging to stderr only when asked (ADDCOW_LOG=debug|trace).
LogLevel level = Environment.GetEnvironmentVariable("ADDCOW_LOG")?.ToLowerInvariant() switch
{
    "trace" => LogLevel.Trace,
    "debug" => LogLevel.Debug,
    "information" or "info" => LogLevel.Information,
    _ => LogLevel.Warning,
};
OneLineConsoleFormatter.IncludeStackTraces = level == LogLevel.Trace;
using ILoggerFactory loggerFactory = LoggerFactory.Create(b => b
    .SetMinimumLevel(level)
    .AddConsole(o =>
    {
        o.LogToStandardErrorThreshold = LogLevel.Trace;
        o.FormatterName = OneLineConsoleFormatter.Name;
    })
    .AddConsoleFormatter<OneLineConsoleFormatter, ConsoleFormatterOptions>()
    .AddFilter((category, l) => l >= level));
var context = new CliContext(Console.Out, Console.Error, interactive: !Console.IsErrorRedirected && !Console.IsOutputRedirected, loggerFactory);
try
{
    return CliApp.Run(args, context);
}
catch (Exception ex)
{
    // Last line of defence: one line, never a stack trace.
    Console.Error.WriteLine($"addcow: internal error: {ex.GetType().Name}: {ex.Message}");
    return ExitCodes.Error;
}
