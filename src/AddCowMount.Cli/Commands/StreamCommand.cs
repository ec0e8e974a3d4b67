using System.CommandLine;
using AddCowMount.Cli.Output;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Operations;

namespace AddCowMount.Cli.Commands;

/// <summary><c>addcow stream IMG</c>: pull every unallocated sector into the image file (resumable).</summary>
internal static class StreamCommand
{
    public static Command Build(CliContext context)
    {
        var unsafePaths = CommonOptions.AllowUnsafePaths();
        var img = new Argument<string>("IMG") { Description = "The add-cow file" };
        var command = new Command("stream", "Copy all backing data into the image file so it becomes a standalone raw disk") { unsafePaths, img };
        command.SetAction(result =>
        {
            using AddCowImage image = ImageOpening.OpenForWriting(result.GetValue(img)!, result.GetValue(unsafePaths), context);
            long bytes = context.WithProgress("stream", p => ImageOperations.Stream(image, p));
            context.Out.WriteLine($"Streamed {SizeParser.Human(bytes)}; {image.ImageFilePath} is now a standalone raw disk ({image.Length} bytes).");
            return ExitCodes.Ok;
        });
        return command;
    }
}
