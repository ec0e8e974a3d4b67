using System.CommandLine;
using System.Text.Json;
using AddCowMount.Cli.Output;
using AddCowMount.Core.Diagnostics;
using AddCowMount.Core.Engine;

namespace AddCowMount.Cli.Commands;

/// <summary><c>addcow map [--output json] IMG</c>: which layer holds each extent, like qemu-img map.</summary>
internal static class MapCommand
{
    public static Command Build(CliContext context)
    {
        var output = CommonOptions.OutputFormat();
        var forceShare = CommonOptions.ForceShare();
        var unsafePaths = CommonOptions.AllowUnsafePaths();
        var img = new Argument<string>("IMG") { Description = "The add-cow file" };
        var command = new Command("map", "Show the allocated extents of the composed disk and the files holding them") { output, forceShare, unsafePaths, img };
        command.SetAction(result =>
        {
            bool json = CommonOptions.IsJson(result, output);
            using AddCowImage image = ImageOpening.OpenForInspection(result.GetValue(img)!, result.GetValue(forceShare), result.GetValue(unsafePaths), context);
            List<MapEntry> entries = ImageMap.Build(image);
            if (json)
            {
                var rows = entries.Select(e => new MapEntryJson(e.Start, e.Length, e.Depth < 0 ? ChainDepth(image) : e.Depth, e.Data, !e.Data, e.Data,
                    e.Data ? e.Offset : null, e.File)).ToList();
                context.Out.WriteLine(JsonSerializer.Serialize(rows, CliJsonContext.Default.ListMapEntryJson));
                return ExitCodes.Ok;
            }

            context.Out.WriteLine($"{"Offset",-20}{"Length",-20}{"Mapped to",-20}File");
            foreach (MapEntry e in entries.Where(e => e.Data))
            {
                context.Out.WriteLine($"{"0x" + e.Start.ToString("x"),-20}{"0x" + e.Length.ToString("x"),-20}{"0x" + e.Offset.ToString("x"),-20}{e.File}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static int ChainDepth(ISectorDevice top)
    {
        int depth = 0;
        for (ISectorDevice? d = top; d is not null; d = d.Backing)
        {
            depth++;
        }

        return depth;
    }
}
