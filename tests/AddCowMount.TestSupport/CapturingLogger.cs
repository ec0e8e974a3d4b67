using Microsoft.Extensions.Logging;

namespace AddCowMount.TestSupport;

/// <summary>Keeps every log entry (level, formatted message, exception) at or above <paramref name="minimum"/>, so a
/// test can assert that a refusal or a failure was logged. Safe to log to from many threads.</summary>
public class CapturingLogger(LogLevel minimum = LogLevel.Trace) : ILogger
{
    private readonly Lock _lock = new();
    private readonly List<(LogLevel Level, string Message, Exception? Exception)> _entries = [];

    /// <summary>A snapshot of what was logged so far, oldest first.</summary>
    public IReadOnlyList<(LogLevel Level, string Message, Exception? Exception)> Entries
    {
        get
        {
            lock (_lock)
            {
                return [.. _entries];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }

        lock (_lock)
        {
            _entries.Add((logLevel, formatter(state, exception), exception));
        }
    }
}

/// <summary>A <see cref="CapturingLogger"/> for code that asks for an <see cref="ILogger{T}"/>.</summary>
public sealed class CapturingLogger<T>(LogLevel minimum = LogLevel.Trace) : CapturingLogger(minimum), ILogger<T>;

/// <summary>Hands out one <see cref="CapturingLogger"/> for every category, for code that takes a logger factory.</summary>
public sealed class CapturingLoggerFactory : ILoggerFactory
{
    public CapturingLogger Logger { get; } = new();

    public ILogger CreateLogger(string categoryName) => Logger;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }
}
