using System.Security.Authentication;
using AddCowMount.Nbd.Export;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Nbd.Protocol;

/// <summary>How a connection ended; the fuzz tests count these.</summary>
public enum NbdConnectionEnd
{
    /// <summary>NBD_CMD_DISC or a client that closed between requests.</summary>
    Closed,

    /// <summary>NBD_OPT_ABORT during the handshake.</summary>
    Aborted,

    /// <summary>Malformed input that cannot be answered: disconnected, with a log line.</summary>
    ProtocolError,

    /// <summary>The client vanished mid-message, or the stream failed.</summary>
    ConnectionLost,

    /// <summary>The TLS handshake failed (no or a wrong client certificate, ...).</summary>
    TlsFailed,

    /// <summary>The handshake took longer than allowed.</summary>
    HandshakeTimeout,

    /// <summary>The server is stopping.</summary>
    Shutdown,

    /// <summary>The export refused another session.</summary>
    Refused,
}

/// <summary>
/// Serves one NBD client over any <see cref="Stream"/>: the handshake, then transmission. Never throws for
/// anything the client does; every abnormal end is logged once and reported as an <see cref="NbdConnectionEnd"/>.
/// The stream is disposed at the end.
/// </summary>
public static partial class NbdConnection
{
    public static async Task<NbdConnectionEnd> ServeAsync(Stream stream, INbdExport export, NbdConnectionOptions options,
        ILogger logger, string peer, CancellationToken shutdown)
    {
        Stream current = stream;
        try
        {
            NegotiationResult? negotiated;
            using (var handshake = CancellationTokenSource.CreateLinkedTokenSource(shutdown))
            {
                handshake.CancelAfter(options.HandshakeTimeout);
                try
                {
                    negotiated = await new NbdNegotiation(stream, export, options).RunAsync(handshake.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!shutdown.IsCancellationRequested)
                {
                    LogHandshakeTimeout(logger, peer, options.HandshakeTimeout.TotalSeconds);
                    return NbdConnectionEnd.HandshakeTimeout;
                }
            }

            if (negotiated is null)
            {
                LogAborted(logger, peer);
                return NbdConnectionEnd.Aborted;
            }

            current = negotiated.Stream;
            using INbdSession? session = export.Open(out string? reason);
            if (session is null)
            {
                LogRefused(logger, peer, reason ?? "no reason given");
                return NbdConnectionEnd.Refused;
            }

            LogTransmission(logger, peer, export.Name, negotiated.StructuredReplies, negotiated.Contexts.Count);
            var transmission = new NbdTransmission(current, export, session, negotiated, options, logger, peer);
            await transmission.RunAsync(shutdown).ConfigureAwait(false);
            return NbdConnectionEnd.Closed;
        }
        catch (NbdProtocolException ex)
        {
            LogProtocolError(logger, peer, ex.Message);
            return NbdConnectionEnd.ProtocolError;
        }
        catch (AuthenticationException ex)
        {
            LogTlsFailed(logger, peer, ex.InnerException?.Message ?? ex.Message);
            return NbdConnectionEnd.TlsFailed;
        }
        catch (OperationCanceledException)
        {
            return NbdConnectionEnd.Shutdown;
        }
        catch (Exception ex) when (ex is IOException or EndOfStreamException or ObjectDisposedException)
        {
            LogLost(logger, peer, ex.Message);
            return NbdConnectionEnd.ConnectionLost;
        }
        finally
        {
            await DisposeQuietlyAsync(current).ConfigureAwait(false);
            if (!ReferenceEquals(current, stream))
            {
                await DisposeQuietlyAsync(stream).ConfigureAwait(false);
            }
        }
    }

    private static async Task DisposeQuietlyAsync(Stream stream)
    {
        try
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Peer}: handshake not finished within {Seconds} s; disconnected")]
    private static partial void LogHandshakeTimeout(ILogger logger, string peer, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Peer}: aborted the handshake")]
    private static partial void LogAborted(ILogger logger, string peer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Peer}: refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string peer, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Peer}: serving export '{Export}' (structured replies: {Structured}, meta contexts: {Contexts})")]
    private static partial void LogTransmission(ILogger logger, string peer, string export, bool structured, int contexts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Peer}: protocol error, disconnected: {Reason}")]
    private static partial void LogProtocolError(ILogger logger, string peer, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Peer}: TLS handshake failed, disconnected: {Reason}")]
    private static partial void LogTlsFailed(ILogger logger, string peer, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Peer}: connection lost: {Reason}")]
    private static partial void LogLost(ILogger logger, string peer, string reason);
}
