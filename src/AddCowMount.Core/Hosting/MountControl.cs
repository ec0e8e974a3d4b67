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
    public static async Task ServeAsync(string pipeName, Func<string, string> handle, CancellationToken cancel)
    {
        while (!cancel.IsCancellationRequested)
        {
            try
            {
                await using var server = new NamedPipeServerStream(pipeName, PipeDirection.InOut, NamedPipeServerStream.MaxAllowedServerInstances,
                    PipeTransmissionMode.Byte, PipeOptions.Asynchronous | PipeOptions.CurrentUserOnly);
                await server.WaitForConnectionAsync(cancel).ConfigureAwait(false);
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
                return;
            }
            catch (IOException)
            {
                // A client that went away mid-request; keep serving.
            }
        }
    }
}
