namespace AddCowMount.Tray.Core.Mounts;

/// <summary>Result of running a console program to completion.</summary>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError);

/// <summary>Runs a program with an argument list (no shell, no quoting) and captures its output.</summary>
public interface IProcessRunner
{
    /// <exception cref="System.ComponentModel.Win32Exception">The program could not be started.</exception>
    Task<ProcessResult> RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken);
}
