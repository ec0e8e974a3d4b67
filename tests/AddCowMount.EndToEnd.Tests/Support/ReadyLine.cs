using System.Diagnostics;

namespace AddCowMount.EndToEnd.Tests.Support;

/// <summary>Waits for a foreground `addcow` child (mount, serve) to say it is ready.</summary>
internal static class ReadyLine
{
    /// <summary>
    /// Reads the child's stdout line by line until one starts with <paramref name="prefix"/> and returns every line read,
    /// that one last. Kills the child and fails the test, with what it printed, when it ends or is silent for 30 s first.
    /// </summary>
    public static List<string> WaitFor(Process process, string prefix, Task<string> errors, string what)
    {
        var lines = new List<string>();
        var wait = Stopwatch.StartNew();
        while (wait.Elapsed < TimeSpan.FromSeconds(30))
        {
            Task<string?> next = process.StandardOutput.ReadLineAsync();
            if (!next.Wait(TimeSpan.FromSeconds(30)) || next.Result is null)
            {
                break;
            }

            lines.Add(next.Result);
            if (next.Result.StartsWith(prefix, StringComparison.Ordinal))
            {
                return lines;
            }
        }

        process.Kill(entireProcessTree: true);
        process.WaitForExit();
        throw new AssertFailedException($"{what} did not become ready:\n{string.Join('\n', lines)}\n{errors.Result}");
    }
}
