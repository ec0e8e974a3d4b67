using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using AddCowMount.Cli.Output;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Format;

namespace AddCowMount.Cli.Commands;

/// <summary><c>addcow info [--output json] IMG</c>: header, resolved chain (shown before the chain is opened), allocation.</summary>
internal static class InfoCommand
{
    public static Command Build(CliContext context)
    {
        var output = CommonOptions.OutputFormat();
        var forceShare = CommonOptions.ForceShare();
        var unsafePaths = CommonOptions.AllowUnsafePaths();
        var img = new Argument<string>("IMG") { Description = "The add-cow file" };
        var command = new Command("info", "Show an image's sizes, image file, backing chain and allocation") { output, forceShare, unsafePaths, img };
        command.SetAction(result =>
        {
            bool json = CommonOptions.IsJson(result, output);
            string path = Path.GetFullPath(result.GetValue(img)!);
            bool allowUnsafe = result.GetValue(unsafePaths);
            AddCowHeader header = AddCowImage.ReadHeader(path);
            if (!json)
            {
                // The resolved names first, before anything they name is opened.
                context.Out.WriteLine($"image: {path}");
                context.Out.WriteLine("file format: add-cow");
                context.Out.WriteLine($"virtual size: {SizeParser.Human(header.DiskLength)} ({header.DiskLength} bytes)");
                context.Out.WriteLine($"image file: {header.ImageFile} (actual path: {Describe(header.ImageFile, path, allowUnsafe, "image file")})");
                if (header.BackingFile.Length > 0)
                {
                    context.Out.WriteLine($"backing file: {header.BackingFile} (actual path: {Describe(header.BackingFile, path, allowUnsafe, "backing file")})");
                }
                else
                {
                    context.Out.WriteLine("backing file: none (unallocated sectors read as zeros)");
                }

                context.Out.Flush();
            }

            using AddCowImage image = ImageOpening.OpenForInspection(path, result.GetValue(forceShare), allowUnsafe, context);
            long allocated = image.AllocatedSectors * ISectorDevice.SectorSize;
            double percent = image.Length == 0 ? 100 : Math.Round(100.0 * allocated / image.Length, 2);
            bool full = allocated == image.Length;
            var chain = new List<ChainLayerJson>();
            for (ISectorDevice? layer = image; layer is not null; layer = layer.Backing)
            {
                var addCow = layer as AddCowImage;
                chain.Add(new ChainLayerJson(layer.Path, layer.FormatName, layer.Length, addCow?.ImageFilePath,
                    addCow?.Header.BackingFile is { Length: > 0 } b ? b : null, addCow?.BackingFilePath));
            }

            if (json)
            {
                var info = new InfoJson(path, "add-cow", image.Length, header.Size, header.ImageFile, image.ImageFilePath,
                    header.BackingFile.Length > 0 ? header.BackingFile : null, image.BackingFilePath, allocated, percent, full, chain);
                context.Out.WriteLine(JsonSerializer.Serialize(info, CliJsonContext.Default.InfoJson));
                return ExitCodes.Ok;
            }

            context.Out.WriteLine("backing chain: " + string.Join(" -> ", chain.Select(c => $"{c.FileName} ({c.Format}, {c.VirtualSize} bytes)")));
            context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"allocated: {SizeParser.Human(allocated)} ({allocated} bytes, {percent:0.##}%)"));
            context.Out.WriteLine(full
                ? $"fully allocated: yes - {image.ImageFilePath} is a standalone raw disk; the add-cow file and backing chain are no longer needed"
                : "fully allocated: no");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static string Describe(string name, string addCowPath, bool allowUnsafe, string what)
    {
        try
        {
            return PathPolicy.Resolve(name, addCowPath, allowUnsafe, what);
        }
        catch (AddCowException)
        {
            return $"refused: {PathPolicy.DescribeUnsafe(name) ?? "unsafe path"}";
        }
    }
}
