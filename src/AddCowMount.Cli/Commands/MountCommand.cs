using System.CommandLine;
using System.Diagnostics;
using System.Reflection;
using System.Reflection.PortableExecutable;
using System.Runtime.InteropServices;
using AddCowMount.Cli.Output;
using AddCowMount.Cli.Platform;
using AddCowMount.Core.Format;
using AddCowMount.Core.Hosting;

namespace AddCowMount.Cli.Commands;

/// <summary>
/// <c>addcow mount [--read-only] IMG MOUNTPOINT</c>: serves the composed disk as NAME.img / NAME.vhd / NAME.vhdx / NAME.vmdk
/// until unmounted (SIGINT/SIGTERM or <c>addcow unmount</c> flush and unmount cleanly). <c>--background</c>
/// starts the same command as a detached process and returns once the mount is ready.
/// </summary>
internal static class MountCommand
{
    private const string ReadyLine = "addcow-mount-ready";

    public static Command Build(CliContext context)
    {
        var readOnly = new Option<bool>("--read-only", "-r") { Description = "Refuse every write to the disk" };
        var background = new Option<bool>("--background") { Description = "Return once mounted; the mount lives on in a background process" };
        var copyOnRead = new Option<bool>("--copy-on-read") { Description = "Copy backing data into the image file as it is read" };
        var allowOther = new Option<bool>("--allow-other") { Description = "Let other users access the mount (Linux; off by default)" };
        var unsafePaths = CommonOptions.AllowUnsafePaths();
        var cache = CommonOptions.Cache();
        var child = new Option<bool>("--serve-detached") { Hidden = true };
        var img = new Argument<string>("IMG") { Description = "The add-cow file" };
        var mountPoint = new Argument<string>("MOUNTPOINT") { Description = "An empty folder (Linux/Windows) or a drive letter such as X: (Windows)" };
        var command = new Command("mount", "Expose the composed disk as files on a virtual drive or folder")
        {
            readOnly, background, copyOnRead, allowOther, cache, unsafePaths, child, img, mountPoint,
        };
        command.SetAction(result =>
        {
            var request = new MountRequest
            {
                ImagePath = Path.GetFullPath(result.GetValue(img)!),
                MountPoint = result.GetValue(mountPoint)!,
                ReadOnly = result.GetValue(readOnly),
                CopyOnRead = result.GetValue(copyOnRead),
                AllowOther = result.GetValue(allowOther),
                AllowUnsafePaths = result.GetValue(unsafePaths),
                Storage = CommonOptions.StorageFor(result, cache),
            };
            if (request.ReadOnly && request.CopyOnRead)
            {
                throw new UsageException("--copy-on-read writes to the image file; it cannot go with --read-only");
            }

            if (result.GetValue(background))
            {
                var childArgs = new List<string>();
                if (request.ReadOnly) { childArgs.Add("--read-only"); }
                if (request.CopyOnRead) { childArgs.Add("--copy-on-read"); }
                if (request.AllowOther) { childArgs.Add("--allow-other"); }
                if (request.AllowUnsafePaths) { childArgs.Add("--allow-unsafe-paths"); }
                childArgs.AddRange(["--cache", result.GetValue(cache)!]);
                childArgs.Add(request.ImagePath);
                childArgs.Add(Path.GetFullPath(request.MountPoint));
                return StartInBackground(context, "mount", HostWording.Mount, childArgs);
            }

            return Serve(context, request, MountBackends.Create(context.LoggerFactory), HostWording.Mount, detached: result.GetValue(child));
        });
        return command;
    }

    /// <summary>Runs a host (a mount, or <c>addcow serve</c>'s export) in this process until it is stopped.</summary>
    internal static int Serve(CliContext context, MountRequest request, IMountBackend backend, HostWording words, bool detached)
    {
        using var host = new MountHost(request, backend, new MountRegistry(), context.LoggerFactory);
        host.Start();
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using PosixSignalRegistration? sighup = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGHUP, Ignore);
        MountRecord record = host.Record!;
        if (detached)
        {
            context.Out.WriteLine(ReadyLine);
            context.Out.Flush();
            DetachConsole();
        }
        else
        {
            context.Out.WriteLine($"{words.Started} {record.Image} at {record.MountPoint} (pid {record.Pid}){(record.ReadOnly ? ", read-only" : string.Empty)}:");
            foreach (string file in record.Files)
            {
                context.Out.WriteLine($"  {file}");
            }

            foreach (string note in record.NotShown)
            {
                context.Out.WriteLine($"  ({note})");
            }

            context.Out.WriteLine($"Press Ctrl+C or run 'addcow unmount {record.MountPoint}' to {words.Stop}.");
            context.Out.Flush();
        }

        host.Completion.GetAwaiter().GetResult();
        if (!detached)
        {
            context.Out.WriteLine($"{words.Ended} {record.MountPoint}.");
        }

        return ExitCodes.Ok;

        void Stop(PosixSignalContext signal)
        {
            signal.Cancel = true;
            _ = Task.Run(() => host.RequestStop(force: true));
        }

        static void Ignore(PosixSignalContext signal) => signal.Cancel = true;
    }

    /// <summary>Re-runs this command as a child process and waits for its ready line or its error.</summary>
    internal static int StartInBackground(CliContext context, string verb, HostWording words, List<string> arguments)
    {
        var start = ServingChild([verb, "--serve-detached", .. arguments]);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.RedirectStandardInput = true;
        using Process process = Process.Start(start) ?? throw new AddCowException(AddCowError.IoError, null, "could not start the mount process");
        process.StandardInput.Close();
        Task<string> errors = process.StandardError.ReadToEndAsync();
        string? line;
        while ((line = process.StandardOutput.ReadLine()) is not null)
        {
            if (line == ReadyLine)
            {
                MountRecord? record = new MountRegistry().List().FirstOrDefault(r => r.Pid == process.Id);
                if (record is not null)
                {
                    context.Out.WriteLine($"{words.Started} {record.Image} at {record.MountPoint} (pid {record.Pid})");
                    foreach (string file in record.Files)
                    {
                        context.Out.WriteLine($"  {file}");
                    }

                    foreach (string note in record.NotShown)
                    {
                        context.Out.WriteLine($"  ({note})");
                    }
                }

                return ExitCodes.Ok;
            }
        }

        process.WaitForExit();
        string error = errors.Result.Trim();
        context.Error.WriteLine(error.Length > 0 ? error : $"addcow: {verb} process exited with code {process.ExitCode}");
        return process.ExitCode == 0 ? ExitCodes.Error : process.ExitCode;
    }

    /// <summary>
    /// The background process that serves a mount or an export: this program again. A build without precompiled code
    /// (build output, <c>dotnet run</c>) runs it with tiered compilation off unless the user set it: a serving process
    /// lives for hours, and tiering compiles every path twice during the first load, competing for the cores the I/O
    /// needs (profiled on a fresh mount under sequential writes: 18% of the daemon's samples were the JIT and the
    /// runtime, 720 ms of CPU per GiB against 480 ms with tiering off). A published build keeps tiering: it starts on
    /// its ReadyToRun code and recompiles only the hot methods, while tiering off would keep that less optimised code
    /// for good (random 4 KiB re-reads on a fresh mount: 142-146k IOPS so, 149-160k with tiering).
    /// </summary>
    internal static ProcessStartInfo ServingChild(IEnumerable<string> arguments) =>
        ServingChild(arguments, IsPrecompiled(typeof(MountCommand).Assembly));

    internal static ProcessStartInfo ServingChild(IEnumerable<string> arguments, bool precompiled)
    {
        ProcessStartInfo start = SelfInvocation(arguments);
        if (!precompiled)
        {
            start.Environment.TryAdd("DOTNET_TieredCompilation", "0");
        }

        return start;
    }

    /// <summary>Whether an assembly carries ReadyToRun code (its CLI header names a managed native header).</summary>
    internal static bool IsPrecompiled(Assembly assembly)
    {
        try
        {
            using FileStream file = File.OpenRead(assembly.Location);
            using var reader = new PEReader(file);
            return reader.PEHeaders.CorHeader?.ManagedNativeHeaderDirectory.Size > 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or BadImageFormatException or ArgumentException)
        {
            return false; // single-file (no Location) or unreadable: treat as JIT-only
        }
    }

    /// <summary>How to start this same program again (apphost or `dotnet addcow.dll`), detached from the terminal's session.</summary>
    internal static ProcessStartInfo SelfInvocation(IEnumerable<string> arguments)
    {
        string processPath = Environment.ProcessPath ?? "addcow";
        var args = new List<string>();
        string exe = processPath;
        if (Path.GetFileNameWithoutExtension(processPath).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            args.Add(typeof(MountCommand).Assembly.Location);
        }

        if (OperatingSystem.IsLinux() && File.Exists("/usr/bin/setsid"))
        {
            args.Insert(0, exe);
            exe = "/usr/bin/setsid";
        }

        var start = new ProcessStartInfo(exe) { UseShellExecute = false, CreateNoWindow = true };
        foreach (string a in args.Concat(arguments))
        {
            start.ArgumentList.Add(a);
        }

        return start;
    }

    private static void DetachConsole()
    {
        // The parent stops reading; keep later output (logs) from failing on a closed pipe.
        Console.SetOut(TextWriter.Null);
        Console.SetError(TextWriter.Null);
    }
}

/// <summary>How a host's start and end read: "Mounted … / Unmounted …" or "Serving … / Stopped serving …".</summary>
internal sealed record HostWording(string Started, string Ended, string Stop)
{
    public static readonly HostWording Mount = new("Mounted", "Unmounted", "unmount");

    public static readonly HostWording Serve = new("Serving", "Stopped serving", "stop serving");
}
