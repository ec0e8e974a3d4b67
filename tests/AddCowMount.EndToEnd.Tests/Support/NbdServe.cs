using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace AddCowMount.EndToEnd.Tests.Support;

/// <summary>A foreground <c>addcow serve</c> child of a test: its process, the address it serves, and its stderr.</summary>
internal sealed class NbdServe : IDisposable
{
    private NbdServe(Process process, string uri, Task<string> output, Task<string> errors)
    {
        Process = process;
        Uri = uri;
        LaterOutput = output;
        Errors = errors;
    }

    public Process Process { get; }

    /// <summary>The address the server printed (nbd+unix:///NAME?socket=…, nbd://127.0.0.1:PORT/NAME, …).</summary>
    public string Uri { get; }

    public Task<string> LaterOutput { get; }

    public Task<string> Errors { get; }

    /// <summary>Starts <c>addcow serve OPTIONS IMAGE</c> and returns once it says it serves.</summary>
    public static NbdServe Start(Workspace ws, string image, params string[] options)
    {
        var environment = new Dictionary<string, string> { ["ADDCOW_STATE_DIR"] = ws.StateDir, ["ADDCOW_LOG"] = "info" };
        Process process = ProcessRunner.Start(E2eEnvironment.DotnetHost, [E2eEnvironment.AddCowDll, "serve", .. options, image], environment);
        Task<string> errors = process.StandardError.ReadToEndAsync();
        const string ready = "Press Ctrl+C or run 'addcow unmount ";
        string last = ReadyLine.WaitFor(process, ready, errors, "addcow serve")[^1];
        string uri = last[ready.Length..last.LastIndexOf('\'')];
        return new NbdServe(process, uri, process.StandardOutput.ReadToEndAsync(), errors);
    }

    /// <summary>A Unix socket path in the workspace (short enough for sun_path).</summary>
    public static string SocketIn(Workspace ws, string name = "nbd.sock") => ws.Combine(name);

    /// <summary>A TCP port that was free a moment ago (tests never use the fixed 10809).</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>Waits for the process to exit on its own; fails the test after the timeout.</summary>
    public int WaitForExit(TimeSpan? timeout = null)
    {
        if (!Process.WaitForExit(timeout ?? TimeSpan.FromSeconds(60)))
        {
            Assert.Fail($"addcow serve (pid {Process.Id}) did not exit");
        }

        Process.WaitForExit();
        return Process.ExitCode;
    }

    public void Dispose()
    {
        try
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        Process.Dispose();
    }
}
