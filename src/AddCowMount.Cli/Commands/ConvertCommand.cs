using System.CommandLine;
using AddCowMount.Cli.Output;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Format;
using AddCowMount.Core.Operations;

namespace AddCowMount.Cli.Commands;

/// <summary><c>addcow convert -O raw|vpc SRC DST</c>: the composed disk as a sparse raw file or a fixed VHD.</summary>
internal static class ConvertCommand
{
    public static Command Build(CliContext context)
    {
        var format = new Option<string>("-O") { Description = "Output format: raw or vpc (fixed VHD)", Required = true, HelpName = "raw|vpc" };
        var forceShare = CommonOptions.ForceShare();
        var unsafePaths = CommonOptions.AllowUnsafePaths();
        var src = new Argument<string>("SRC") { Description = "The add-cow file" };
        var dst = new Argument<string>("DST") { Description = "Output file (must not exist)" };
        var command = new Command("convert", "Write the composed disk to a raw or fixed-VHD file") { format, forceShare, unsafePaths, src, dst };
        command.SetAction(result =>
        {
            string fmt = result.GetValue(format)!;
            if (fmt is not ("raw" or "vpc"))
            {
                throw new UsageException($"-O must be 'raw' or 'vpc', not '{fmt}'");
            }

            string destination = result.GetValue(dst)!;
            if (File.Exists(destination))
            {
                throw new AddCowException(AddCowError.AlreadyExists, destination, $"{destination}: file exists");
            }

            using AddCowImage image = ImageOpening.OpenForInspection(result.GetValue(src)!, result.GetValue(forceShare), result.GetValue(unsafePaths), context);
            byte[] trailer = fmt == "vpc" ? VpcTrailer(image) : [];
            try
            {
                context.WithProgress("convert", p =>
                {
                    ImageOperations.CopyToRaw(image, destination, trailer, p);
                    return 0;
                });
            }
            catch
            {
                File.Delete(destination);
                throw;
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>A fixed-VHD footer for the composed disk, with the same stable id the mounted .vhd view shows.</summary>
    private static byte[] VpcTrailer(AddCowImage image)
    {
        if (image.Length > VhdFooter.MaxDiskSize)
        {
            throw new AddCowException(AddCowError.InvalidArgument, image.Path,
                $"{image.Path}: the disk ({image.Length} bytes) is larger than VHD's limit of 2040 GiB; use -O raw");
        }

        byte[] footer = new byte[VhdFooter.Size];
        VhdFooter.Create(image.Length, VhdFooter.StableId(image.Path), File.GetCreationTimeUtc(image.Path)).WriteTo(footer);
        return footer;
    }
}
