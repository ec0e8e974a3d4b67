using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using AddCowMount.Core.Format;
using AddCowMount.Nbd.Export;
using AddCowMount.Nbd.Protocol;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Nbd.Server;

/// <summary>
/// The socket side of <c>addcow serve</c>: listens on a TCP address or a Unix socket, and serves each client with
/// <see cref="NbdConnection"/> (TLS through <see cref="NbdTls"/>). Clients come and go; the export stays up
/// until <see cref="StopAsync"/>, which lets in-flight requests finish.
/// </summary>
public sealed partial class NbdServer : IAsyncDisposable
{
    private const int MinimumThreads = 32;

    private readonly INbdExport _export;
    private readonly NbdServerOptions _options;
    private readonly ILogger _logger;
    private readonly NbdTls? _tls;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<long, Task> _connections = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Socket? _listener;
    private Task? _accepting;
    private long _nextId;
    private int _stopped;

    public NbdServer(INbdExport export, NbdServerOptions options, ILoggerFactory loggerFactory)
    {
        _export = export;
        _options = options;
        _logger = loggerFactory.CreateLogger<NbdServer>();
        if (options.UsesTls)
        {
            _tls = new NbdTls(options.TlsCertificatePath!, options.TlsKeyPath!, options.TlsClientCaPath);
        }
    }

    /// <summary>Completes once the server has stopped and every connection has ended.</summary>
    public Task Completion => _completion.Task;

    public int ConnectionCount => _connections.Count;

    /// <summary>Binds (errors such as "address in use" surface here) and starts accepting.</summary>
    public void Start()
    {
        _listener = _options.SocketPath is { } path ? BindUnix(path) : BindTcp();

        // The engine's I/O blocks (pread/pwrite): pipelined requests need threads to be in flight at once, and the
        // pool starts with one per core, growing slowly. With 2 cores a cold random read would wait on 2 preads at a time.
        ThreadPool.GetMinThreads(out int workers, out int completion);
        ThreadPool.SetMinThreads(Math.Max(workers, MinimumThreads), completion);
        if (!_export.IsReadOnly && !_options.IsLoopback && !_options.UsesTls)
        {
            LogInsecure(_logger, _options.Uri);
        }

        LogListening(_logger, _options.Uri, _export.IsReadOnly, _options.UsesTls, _tls?.RequiresClientCertificate ?? false);
        _accepting = AcceptLoopAsync();
    }

    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            await _completion.Task.ConfigureAwait(false);
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener?.Dispose();
        try
        {
            if (_accepting is not null)
            {
                await _accepting.ConfigureAwait(false);
            }

            await Task.WhenAll(_connections.Values).WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            LogStopTimeout(_logger, _connections.Count);
        }
        finally
        {
            if (_options.SocketPath is { } path)
            {
                TryDelete(path);
            }

            _tls?.Dispose();
            _completion.TrySetResult();
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    private Socket BindTcp()
    {
        var socket = new Socket(_options.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (OperatingSystem.IsWindows())
            {
                socket.ExclusiveAddressUse = true;
            }
            else
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            }

            socket.Bind(new IPEndPoint(_options.Address, _options.Port));
            socket.Listen(64);
            return socket;
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new AddCowException(AddCowError.InUse, null, $"cannot listen on {_options.Address}:{_options.Port}: {ex.Message}");
        }
    }

    private static Socket BindUnix(string path)
    {
        if (File.Exists(path) || Directory.Exists(path))
        {
            if (!IsStaleSocket(path))
            {
                throw new AddCowException(AddCowError.InUse, path, $"{path}: exists (a server listens there, or it is not a socket)");
            }

            File.Delete(path);
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            if (!OperatingSystem.IsWindows())
            {
                // Like a mount: the serving user's alone.
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            socket.Listen(64);
            return socket;
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new AddCowException(AddCowError.InUse, path, $"cannot listen on {path}: {ex.Message}");
        }
    }

    /// <summary>
    /// A socket file nobody answers on (left by a server that was killed). Anything with content, a directory,
    /// or a socket someone listens on is left alone.
    /// </summary>
    private static bool IsStaleSocket(string path)
    {
        if (Directory.Exists(path) || new FileInfo(path).Length != 0)
        {
            return false;
        }

        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return false;
        }
        catch (SocketException ex)
        {
            return ex.SocketErrorCode == SocketError.ConnectionRefused;
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener!.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                LogAcceptFailed(_logger, ex.Message);
                continue;
            }

            long id = Interlocked.Increment(ref _nextId);
            string peer = client.RemoteEndPoint is IPEndPoint ip ? $"{ip} #{id}" : $"unix #{id}";
            if (client.AddressFamily != AddressFamily.Unix)
            {
                client.NoDelay = true;
            }

            LogAccepted(_logger, peer);
            var options = new NbdConnectionOptions { StartTls = _tls is null ? null : _tls.AuthenticateAsync };
            Task connection = Task.Run(async () =>
            {
                NbdConnectionEnd end = await NbdConnection.ServeAsync(new NetworkStream(client, ownsSocket: true), _export, options, _logger, peer, _stopping.Token)
                    .ConfigureAwait(false);
                LogEnded(_logger, peer, end);
                _connections.TryRemove(id, out _);
            });
            _connections[id] = connection;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving {Uri} (read-only: {ReadOnly}, TLS: {Tls}, client certificates required: {ClientCerts})")]
    private static partial void LogListening(ILogger logger, string uri, bool readOnly, bool tls, bool clientCerts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "--allow-insecure-network: {Uri} is a writable export beyond loopback without TLS; anyone who reaches it can read and write the disk")]
    private static partial void LogInsecure(ILogger logger, string uri);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Peer}: connected")]
    private static partial void LogAccepted(ILogger logger, string peer);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Peer}: ended ({End})")]
    private static partial void LogEnded(ILogger logger, string peer, NbdConnectionEnd end);

    [LoggerMessage(Level = LogLevel.Warning, Message = "accept failed: {Reason}")]
    private static partial void LogAcceptFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} connection(s) did not end within 30 s of stopping")]
    private static partial void LogStopTimeout(ILogger logger, int count);
}
