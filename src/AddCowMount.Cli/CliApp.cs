using System.CommandLine;
using System.CommandLine.Parsing;
using AddCowMount.Cli.Commands;
using AddCowMount.Cli.Output;
using AddCowMount.Core.Format;

namespace AddCowMount.Cli;

/// <summary>Builds the command tree and runs it with one place that turns failures into one line and an exit code.</summary>
public static class CliApp
{
    public static RootCommand BuildRoot(CliContext context)
    {
        var root = new RootCommand("addcow: create, inspect, convert, mount and serve add-cow copy-on-write disk images");
        root.Subcommands.Add(CreateCommand.Build(context));
        root.Subcommands.Add(InfoCommand.Build(context));
        root.Subcommands.Add(CheckCommand.Build(context));
        root.Subcommands.Add(MapCommand.Build(context));
        root.Subcommands.Add(CommitCommand.Build(context));
        root.Subcommands.Add(ConvertCommand.Build(context));
        root.Subcommands.Add(RebaseCommand.Build(context));
        root.Subcommands.Add(ResizeCommand.Build(context));
        root.Subcommands.Add(StreamCommand.Build(context));
        root.Subcommands.Add(IoCommand.Build(context));
        root.Subcommands.Add(MountCommand.Build(context));
        root.Subcommands.Add(ServeCommand.Build(context));
        root.Subcommands.Add(UnmountCommand.Build(context));
        root.Subcommands.Add(ListCommand.Build(context));
        root.Subcommands.Add(DemoCommand.Build(context));
        return root;
    }

    public static int Run(string[] args, CliContext context)
    {
        RootCommand root = BuildRoot(context);
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // One line: an unknown word says most (the parser lists it among the unmatched tokens, whatever the
            // language of its messages), otherwise the first problem.
            string problem = parsed.UnmatchedTokens.Count > 0
                ? $"unrecognized command or argument '{parsed.UnmatchedTokens[0]}'"
                : parsed.Errors[0].Message;
            context.Error.WriteLine($"addcow: {problem}");
            context.Error.WriteLine("Try 'addcow --help' for more information.");
            return ExitCodes.Usage;
        }

        try
        {
            return parsed.Invoke(new InvocationConfiguration
            {
                Output = context.Out,
                Error = context.Error,
                EnableDefaultExceptionHandler = false,
            });
        }
        catch (UsageException ex)
        {
            context.Error.WriteLine($"addcow: {ex.Message}");
            return ExitCodes.Usage;
        }
        catch (OperationCanceledException)
        {
            context.Error.WriteLine("addcow: interrupted");
            return ExitCodes.Interrupted;
        }
        catch (AddCowException ex)
        {
            context.Error.WriteLine($"addcow: {ex.Message}");
            return ExitCodes.Error;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or ArgumentException)
        {
            context.Error.WriteLine($"addcow: {ex.Message}");
            return ExitCodes.Error;
        }
    }
}
