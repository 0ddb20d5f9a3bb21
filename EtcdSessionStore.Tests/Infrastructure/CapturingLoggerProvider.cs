using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.Tests.Infrastructure;

/// <summary>Keeps every log entry (message, exception text, event id) so tests can assert on what was logged.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<LogEntry> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    /// <summary>Everything the logs contain, as one text to search.</summary>
    public string AllText => string.Join('\n', Entries.Select(e => $"{e.Category} {e.EventId} {e.Message} {e.Exception}"));

    public sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message, string? Exception)
    {
        /// <summary>The logged exception itself, for assertions on its type and properties.</summary>
        public Exception? Thrown { get; init; }
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue(new LogEntry(category, logLevel, eventId, formatter(state, exception), exception?.ToString()) { Thrown = exception });
    }
}
