using Microsoft.Extensions.Logging;

namespace AddCowMount.Mount.Windows.Tests.Fakes;

/// <summary>Records what was logged, at which level.</summary>
internal sealed class CapturingLogger<T>(LogLevel minimum = LogLevel.Trace) : ILogger<T>
{
    public List<(LogLevel Level, string Message, Exception? Exception)> Entries { get; } = [];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Entries)
        {
            Entries.Add((logLevel, formatter(state, exception), exception));
        }
    }
}
