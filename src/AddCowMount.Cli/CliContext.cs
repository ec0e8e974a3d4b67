using System.CommandLine;
using AddCowMount.Cli.Output;
using AddCowMount.Core.Operations;
using AddCowMount.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;

namespace AddCowMount.Cli;

/// <summary>What every verb needs from the outside world: output streams, whether a person watches, logging.</summary>
public sealed class CliContext
{
    public CliContext(TextWriter output, TextWriter error, bool interactive, ILoggerFactory? loggerFactory = null)
    {
        Out = output;
        Error = error;
        Interactive = interactive;
        LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
    }

    public TextWriter Out { get; }

    public TextWriter Error { get; }

    /// <summary>Progress is shown only on a terminal, never when output is redirected.</summary>
    public bool Interactive { get; }

    public ILoggerFactory LoggerFactory { get; }

    /// <summary>Runs a long operation with a progress bar on a terminal, silently otherwise.</summary>
    public T WithProgress<T>(string description, Func<IProgress<OperationProgress>?, T> work)
    {
        if (!Interactive)
        {
            return work(null);
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask(description, maxValue: 1);
                var progress = new SynchronousProgress(p =>
                {
                    task.MaxValue = Math.Max(1, p.Total);
                    task.Value = p.Done;
                });
                result = work(progress);
                task.Value = task.MaxValue;
            });
        return result;
    }

    private sealed class SynchronousProgress(Action<OperationProgress> report) : IProgress<OperationProgress>
    {
        public void Report(OperationProgress value) => report(value);
    }
}

/// <summary>Options several verbs share.</summary>
internal static class CommonOptions
{
    public static Option<string> OutputFormat() => new("--output")
    {
        Description = "Output format: human or json",
        DefaultValueFactory = _ => "human",
        HelpName = "human|json",
    };

    public static Option<bool> ForceShare() => new("--force-share", "-U")
    {
        Description = "Open without taking a lock (the image may be in use; shows its state as last flushed)",
    };

    /// <summary>qemu-nbd's --cache: writeback (the page cache, the default) or none (large writes bypass it).</summary>
    public static Option<string> Cache() => new("--cache")
    {
        Description = "Host cache for the image file: writeback (page cache, the default) or none (writes of 128 KiB and more bypass it; Linux)",
        DefaultValueFactory = _ => "writeback",
        HelpName = "writeback|none",
    };

    /// <summary>The storage a --cache value stands for; anything else is a usage error naming the choices.</summary>
    public static FileStorage StorageFor(ParseResult result, Option<string> option) => (result.GetValue(option) ?? "writeback") switch
    {
        "writeback" => FileStorage.Instance,
        "none" => FileStorage.DirectLargeIo,
        var other => throw new UsageException($"--cache must be writeback or none, not '{other}'"),
    };

    public static Option<bool> AllowUnsafePaths() => new("--allow-unsafe-paths")
    {
        Description = "Allow UNC, device and protocol: names in image headers",
    };

    public static bool IsJson(ParseResult result, Option<string> option)
    {
        string format = result.GetValue(option) ?? "human";
        return format switch
        {
            "json" => true,
            "human" => false,
            _ => throw new UsageException($"--output must be 'human' or 'json', not '{format}'"),
        };
    }
}
