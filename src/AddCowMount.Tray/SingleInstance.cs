using System.IO.Pipes;
using System.Text;

namespace AddCowMount.Tray;

/// <summary>
/// One tray per user session: a named Mutex decides who is first; later launches send their arguments to
/// the first over a named pipe (one UTF-8 line per argument) and exit.
/// </summary>
internal sealed class SingleInstance : IDisposable
{
    private static readonly TimeSpan s_connectTimeout = TimeSpan.FromSeconds(3);

    private readonly string _pipeName;
    private readonly Mutex _mutex;
    private readonly CancellationTokenSource _stop = new();
    private readonly SynchronizationContext? _uiContext;
    private bool _owned;

    public SingleInstance(string name)
    {
        string user = Environment.UserName;
        _pipeName = $"{name}-{user}";
        _mutex = new Mutex(initiallyOwned: false, $@"Local\{name}-{user}");
        _uiContext = SynchronizationContext.Current;
    }

    /// <summary>Raised on the UI thread with a later launch's arguments.</summary>
    public event EventHandler<string[]>? ArgumentsReceived;

    public bool TryAcquire()
    {
        try
        {
            _owned = _mutex.WaitOne(TimeSpan.Zero);
        }
        catch (AbandonedMutexException)
        {
            // The previous tray crashed while holding it; we own it now.
            _owned = true;
        }

        return _owned;
    }

    public bool ForwardToFirstInstance(string[] args)
    {
        try
        {
            using var client = new NamedPipeClientStream(".", _pipeName, PipeDirection.Out);
            client.Connect(s_connectTimeout);
            using var writer = new StreamWriter(client, new UTF8Encoding(false));
            foreach (string arg in args)
            {
                writer.WriteLine(arg);
            }

            return true;
        }
        catch (Exception ex) when (ex is IOException or TimeoutException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public void StartListening()
    {
        SynchronizationContext? ui = SynchronizationContext.Current ?? _uiContext;
        _ = Task.Run(() => ListenAsync(ui, _stop.Token));
    }

    public void Dispose()
    {
        _stop.Cancel();
        if (_owned)
        {
            _mutex.ReleaseMutex();
        }

        _mutex.Dispose();
        _stop.Dispose();
    }

    private async Task ListenAsync(SynchronizationContext? ui, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var server = new NamedPipeServerStream(_pipeName, PipeDirection.In, 1, PipeTransmissionMode.Byte, PipeOptions.Asynchronous | PipeOptions.CurrentUserOnly);
                await server.WaitForConnectionAsync(cancellationToken).ConfigureAwait(false);
                using var reader = new StreamReader(server, Encoding.UTF8);
                var args = new List<string>();
                while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
                {
                    args.Add(line);
                }

                string[] received = [.. args];
                if (ui is null)
                {
                    ArgumentsReceived?.Invoke(this, received);
                }
                else
                {
                    ui.Post(_ => ArgumentsReceived?.Invoke(this, received), null);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (IOException)
            {
                // A client that went away mid-message; wait for the next.
            }
        }
    }
}
