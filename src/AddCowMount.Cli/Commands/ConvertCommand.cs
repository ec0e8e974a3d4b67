using System.CommandLine;
using AddCowMount.Cli.Output;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Format;
using AddCowMount.Core.Operations;

namespace AddCowMount.Cli.Commands;

/// <summary><c>addcow convert -O raw|vpc|vhdx SRC DST</c>: the composed disk as a sparse raw file, a fixed VHD or a fixed VHDX.</summary>
internal static class ConvertCommand
{
    public static Command Build(CliContext context)
    {
        var format = new Option<string>("-O") { Description = "Output format: raw, vpc (fixed VHD) or vhdx (fixed VHDX)", Required = true, HelpName = "raw|vpc|vhdx" };
        var forceShare = CommonOptions.ForceShare();
        var unsafePaths = CommonOptions.AllowUnsafePaths();
        var src = new Argument<string>("SRC") { Description = "The add-cow file" };
        var dst = new Argument<string>("DST") { Description = "Output file (must not exist)" };
        var command = new Command("convert", "Write the composed disk to a raw, fixed-VHD or fixed-VHDX file") { format, forceShare, unsafePaths, src, dst };
        command.SetAction(result =>
        {
            string fmt = result.GetValue(format)!;
            if (fmt is not ("raw" or "vpc" or "vhdx"))
            {
                throw new UsageException($"-O must be 'raw', 'vpc' or 'vhdx', not '{fmt}'");
            }

            string destination = result.GetValue(dst)!;
            if (File.Exists(destination))
            {
                throw new AddCowException(AddCowError.AlreadyExists, destination, $"{destination}: file exists");
            }

            using AddCowImage image = ImageOpening.OpenForInspection(result.GetValue(src)!, result.GetValue(forceShare), result.GetValue(unsafePaths), context);
            byte[] trailer = fmt == "vpc" ? VpcTrailer(image) : [];
            VhdxLayout? vhdx = fmt == "vhdx" ? VhdxLayoutOf(image) : null;
            try
            {
                context.WithProgress("convert", p =>
                {
                    if (vhdx is null)
                    {
                        ImageOperations.CopyToRaw(image, destination, trailer, p);
                    }
                    else
                    {
                        var (header1, header2) = vhdx.InitialHeaders();
                        byte[] structure = vhdx.StructureBytes(header1.ToArray(), header2.ToArray());
                        ImageOperations.CopyToContainer(image, destination, structure, [], vhdx.FileLength, p);
                    }

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

    /// <summary>The fixed-VHDX layout the mounted .vhdx view shows (same Virtual Disk ID), before the sidecar's header rewrites.</summary>
    private static VhdxLayout VhdxLayoutOf(AddCowImage image)
    {
        if (VhdxLayout.Unsupported(image.Length) is { } reason)
        {
            throw new AddCowException(AddCowError.InvalidArgument, image.Path, $"{image.Path}: {reason}; use -O raw");
        }

        return VhdxLayout.Create(image.Length, VhdFooter.StableId(image.Path));
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
