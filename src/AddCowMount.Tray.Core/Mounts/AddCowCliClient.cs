using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Serialization;
using AddCowMount.Core.Engine;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Tray.Core.Mounts;

/// <summary>
/// <see cref="IMountClient"/> over the <c>addcow</c> executable installed next to the tray.
/// Contract: exit 0 is success; otherwise stderr carries a one-line error (exit 1 error, 2 usage error).
/// </summary>
public sealed partial class AddCowCliClient : IMountClient
{
    private static readonly TimeSpan s_defaultTimeout = TimeSpan.FromMinutes(2);

    private readonly string _executable;
    private readonly IProcessRunner _runner;
    private readonly ILogger<AddCowCliClient> _logger;
    private readonly TimeSpan _timeout;

    public AddCowCliClient(string executable, IProcessRunner runner, ILogger<AddCowCliClient> logger, TimeSpan? timeout = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(executable);
        _executable = executable;
        _runner = runner ?? throw new ArgumentNullException(nameof(runner));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _timeout = timeout ?? s_defaultTimeout;
    }

    /// <summary>The <c>addcow</c> executable in <paramref name="directory"/> (the tray's own folder).</summary>
    public static string ExecutableIn(string directory) =>
        Path.Combine(directory, OperatingSystem.IsWindows() ? "addcow.exe" : "addcow");

    public async Task<IReadOnlyList<MountInfo>> ListAsync(CancellationToken cancellationToken = default)
    {
        ProcessResult result = await RunCheckedAsync(["list", "--output", "json"], cancellationToken).ConfigureAwait(false);
        return ParseList(result.StandardOutput);
    }

    public Task MountAsync(MountRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        List<string> arguments = ["mount", "--background"];
        if (request.ReadOnly)
        {
            arguments.Add("--read-only");
        }

        arguments.Add(request.Image);
        arguments.Add(request.MountPoint);
        return RunCheckedAsync(arguments, cancellationToken);
    }

    public Task UnmountAsync(string mountPoint, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(mountPoint);
        return RunCheckedAsync(["unmount", mountPoint], cancellationToken);
    }

    public Task CreateOverlayAsync(CreateOverlayRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);

        // The dialogs give full paths; the header gets names relative to the overlay's folder, as a user of the CLI
        // would type them, so the files can move together and the overlay opens on Linux too.
        return RunCheckedAsync(
            ["create", "-b", PathPolicy.RelativeStoredName(request.Backing, request.Overlay),
             "-i", PathPolicy.RelativeStoredName(request.ImageFile, request.Overlay), request.Overlay],
            cancellationToken);
    }

    /// <summary>Parses <c>addcow list --output json</c>.</summary>
    /// <exception cref="MountClientException">The output is not the documented JSON array.</exception>
    internal static IReadOnlyList<MountInfo> ParseList(string json)
    {
        List<MountEntryDto?>? entries;
        try
        {
            entries = JsonSerializer.Deserialize(json, MountListJsonContext.Default.ListMountEntryDto);
        }
        catch (JsonException ex)
        {
            throw new MountClientException($"'addcow list' printed output the tray cannot read: {ex.Message}", ex);
        }

        if (entries is null)
        {
            throw new MountClientException("'addcow list' printed no mount list.");
        }

        var mounts = new List<MountInfo>(entries.Count);
        foreach (MountEntryDto? entry in entries)
        {
            if (entry is null || string.IsNullOrEmpty(entry.MountPoint) || string.IsNullOrEmpty(entry.Image))
            {
                throw new MountClientException("'addcow list' printed a mount without a mount point or image.");
            }

            mounts.Add(new MountInfo(entry.MountPoint, entry.Image, entry.Pid, entry.ReadOnly, entry.Files ?? [], entry.OpenHandles));
        }

        return mounts;
    }

    /// <summary>The text to show for a failed run: stderr's first line without the program prefix.</summary>
    internal static string ErrorText(IReadOnlyList<string> arguments, ProcessResult result)
    {
        string? line = result.StandardError
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .FirstOrDefault();
        if (line is null)
        {
            return $"'addcow {arguments[0]}' failed with exit code {result.ExitCode} and printed no error.";
        }

        const string prefix = "addcow: ";
        return line.StartsWith(prefix, StringComparison.Ordinal) ? line[prefix.Length..] : line;
    }

    private async Task<ProcessResult> RunCheckedAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        LogRunning(_executable, string.Join(' ', arguments));
        ProcessResult result;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            result = await _runner.RunAsync(_executable, arguments, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new MountClientException($"'addcow {arguments[0]}' did not finish within {_timeout.TotalSeconds:0} s.", ex);
        }
        catch (Win32Exception ex)
        {
            throw new MountClientException($"Cannot run '{_executable}': {ex.Message}. Reinstall AddCowMount.", ex);
        }
        catch (FileNotFoundException ex)
        {
            throw new MountClientException($"Cannot find '{_executable}'. Reinstall AddCowMount.", ex);
        }

        if (result.ExitCode != 0)
        {
            string message = ErrorText(arguments, result);
            LogFailed(arguments[0], result.ExitCode, message);
            throw new MountClientException(message, result.ExitCode);
        }

        return result;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Running {Executable} {Arguments}")]
    private partial void LogRunning(string executable, string arguments);

    [LoggerMessage(Level = LogLevel.Warning, Message = "addcow {Verb} exited with {ExitCode}: {Error}")]
    private partial void LogFailed(string verb, int exitCode, string error);
}

internal sealed record MountEntryDto(
    string? MountPoint,
    string? Image,
    int Pid,
    bool ReadOnly,
    List<string>? Files,
    int OpenHandles);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(List<MountEntryDto?>))]
internal sealed partial class MountListJsonContext : JsonSerializerContext;
