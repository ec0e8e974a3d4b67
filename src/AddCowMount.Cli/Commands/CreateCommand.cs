using System.CommandLine;
using AddCowMount.Cli.Output;
using AddCowMount.Core.Engine;

namespace AddCowMount.Cli.Commands;

/// <summary><c>addcow create [-b BACKING] [-i IMAGEFILE] IMG [SIZE]</c></summary>
internal static class CreateCommand
{
    public static Command Build(CliContext context)
    {
        var backing = new Option<string?>("-b", "--backing") { Description = "Backing file (raw or add-cow), relative to IMG's folder" };
        var imageFile = new Option<string?>("-i", "--image-file") { Description = "Raw image file holding written sectors (default: IMG with extension .raw)" };
        var force = new Option<bool>("--force") { Description = "Overwrite an existing add-cow file / reuse a non-empty image file" };
        var unsafePaths = CommonOptions.AllowUnsafePaths();
        var img = new Argument<string>("IMG") { Description = "The add-cow file to create" };
        var size = new Argument<string?>("SIZE") { Description = "Virtual size (64M, 8G...; default: the backing file's size)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("create", "Create an add-cow overlay (and its sparse image file)") { backing, imageFile, force, unsafePaths, img, size };
        command.SetAction(result =>
        {
            string path = result.GetValue(img)!;
            string? sizeText = result.GetValue(size);
            long? bytes = sizeText is null ? null : SizeParser.Parse(sizeText, "size");
            string? backingName = result.GetValue(backing);
            if (bytes is null && string.IsNullOrEmpty(backingName))
            {
                throw new UsageException("create needs a SIZE when there is no backing file (-b)");
            }

            AddCowImage.Create(path, new ImageCreateOptions
            {
                BackingFile = backingName,
                ImageFile = result.GetValue(imageFile),
                Size = bytes,
                Force = result.GetValue(force),
                AllowUnsafePaths = result.GetValue(unsafePaths),
            });
            var header = AddCowImage.ReadHeader(path);
            context.Out.WriteLine($"Formatting '{path}', fmt=add-cow size={header.DiskLength} image_file={header.ImageFile}" +
                (header.BackingFile.Length > 0 ? $" backing_file={header.BackingFile}" : string.Empty));
            return ExitCodes.Ok;
        });
        return command;
    }
}
