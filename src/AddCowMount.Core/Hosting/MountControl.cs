using System.IO.Pipes;
using System.Text;

namespace AddCowMount.Core.Hosting;

/// <summary>
/// The small per-mount control channel: a named pipe (a Unix socket on Linux) served by the mount process.
/// Requests are one line: "unmount", "unmount --force" or "status"; answers are one line:
/// "ok", "busy N" (N open handles) or "handles N".
/// </summary>
public static class MountControl
{
    /// <summary>The channel of one process's <paramref name="mount"/>-th mount (a tray process serves several).</summary>
    public static string PipeNameFor(int pid, int mount) => $"addcow-mount-{pid}-{mount}";

    /// <summary>Sends one request; null when the mount process does not answer in time.</summary>
    public static string? Send(string pipeName, string request, TimeSpan timeout)
    {
        try
        {
            using var client = new NamedPipeClientStream(".", pipeName, PipeDirection.InOut);
            client.Connect((int)timeout.TotalMilliseconds);
            using var writer = new StreamWriter(client, new UTF8Encoding(false), leaveOpen: true) { AutoFlush = true };
            using var reader = new StreamReader(client, Encoding.UTF8, leaveOpen: true);
            writer.WriteLine(request);
            Task<string?> answer = reader.ReadLineAsync();
            return answer.Wait(timeout) ? answer.Result : null;
        }
        catch (Exception ex) when (ex is IOException or TimeoutException or UnauthorizedAccessException or AggregateException)
        {
            return null;
        }
    }

    /// <summary>Serves requests until <paramref name="cancel"/> fires; <paramref name="handle"/> answers each.</summary>
    /// <remarks>
    /// The next instance is opened as soon as a client is connected, before the one serving it is closed: on Unix all
    /// instances of a name share one listening socket, which closes with the last of them, and a client that connected
    /// in between (a second request right after an answer) was dropped from its backlog without an answer.
    /// </remarks>
    public static async Task ServeAsync(string pipeName, Func<string, string> handle, CancellationToken cancel)
    {
        NamedPipeServerStream next = Listen(pipeName);
        try
        {
            while (!cancel.IsCancellationRequested)
            {
                NamedPipeServerStream current = next;
                try
                {
                    await current.WaitForConnectionAsync(cancel).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (IOException)
                {
                    await current.DisposeAsync().ConfigureAwait(false);
                    next = Listen(pipeName);
                    continue;
                }

                next = Listen(pipeName);
                await using (current.ConfigureAwait(false))
                {
                    await AnswerAsync(current, handle, cancel).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            await next.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static NamedPipeServerStream Listen(string pipeName) =>
        new(pipeName, PipeDirection.InOut, NamedPipeServerStream.MaxAllowedServerInstances, PipeTransmissionMode.Byte,
            PipeOptions.Asynchronous | PipeOptions.CurrentUserOnly);

    private static async Task AnswerAsync(NamedPipeServerStream server, Func<string, string> handle, CancellationToken cancel)
    {
        try
        {
            using var reader = new StreamReader(server, Encoding.UTF8, leaveOpen: true);
            await using var writer = new StreamWriter(server, new UTF8Encoding(false), leaveOpen: true) { AutoFlush = true };
            string? request = await reader.ReadLineAsync(cancel).ConfigureAwait(false);
            string answer = request is null ? "error empty request" : handle(request.Trim());
            // Not cancellable: an "unmount" answered "ok" starts the stop that cancels this loop, and the caller must
            // still get its answer (a fast stop, as an NBD export's, used to cancel the reply: "does not answer").
            await writer.WriteLineAsync(answer.AsMemory(), CancellationToken.None).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped while a request was being read: the loop ends at its next turn.
        }
        catch (IOException)
        {
            // A client that went away mid-request; keep serving.
        }
    }
}
