using System.CommandLine;
using AddCowMount.Cli.Output;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Operations;

namespace AddCowMount.Cli.Commands;

/// <summary><c>addcow commit IMG</c>: allocated sectors into the backing file, then the bitmap cleared.</summary>
internal static class CommitCommand
{
    public static Command Build(CliContext context)
    {
        var unsafePaths = CommonOptions.AllowUnsafePaths();
        var img = new Argument<string>("IMG") { Description = "The add-cow file" };
        var command = new Command("commit", "Copy the image's written sectors into its backing file and empty the overlay") { unsafePaths, img };
        command.SetAction(result =>
        {
            using AddCowImage image = ImageOpening.OpenForWriting(result.GetValue(img)!, result.GetValue(unsafePaths), context, writableBacking: true);
            long bytes = context.WithProgress("commit", p => ImageOperations.Commit(image, p));
            context.Out.WriteLine($"Image committed: {SizeParser.Human(bytes)} copied into {image.Backing!.Path}.");
            return ExitCodes.Ok;
        });
        return command;
    }
}
