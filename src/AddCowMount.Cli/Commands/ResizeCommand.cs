using System.CommandLine;
using AddCowMount.Cli.Output;
using AddCowMount.Core.Engine;

namespace AddCowMount.Cli.Commands;

/// <summary><c>addcow resize IMG SIZE</c> (SIZE may be +N or -N relative, as in qemu-img).</summary>
internal static class ResizeCommand
{
    public static Command Build(CliContext context)
    {
        var unsafePaths = CommonOptions.AllowUnsafePaths();
        var img = new Argument<string>("IMG") { Description = "The add-cow file" };
        var size = new Argument<string>("SIZE") { Description = "New size, or +N / -N relative" };
        var command = new Command("resize", "Grow or shrink the virtual disk") { unsafePaths, img, size };
        command.SetAction(result =>
        {
            string text = result.GetValue(size)!;
            using AddCowImage image = ImageOpening.OpenForWriting(result.GetValue(img)!, result.GetValue(unsafePaths), context);
            long target = text[0] switch
            {
                '+' => image.Length + SizeParser.Parse(text[1..], "size"),
                '-' => image.Length - SizeParser.Parse(text[1..], "size"),
                _ => SizeParser.Parse(text, "size"),
            };
            if (target < 0)
            {
                throw new UsageException($"resulting size {target} is negative");
            }

            image.Resize(target);
            context.Out.WriteLine($"Image resized to {image.Length} bytes.");
            return ExitCodes.Ok;
        });
        return command;
    }
}
