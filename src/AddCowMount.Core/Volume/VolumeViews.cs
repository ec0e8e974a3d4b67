using AddCowMount.Core.Alignment;
using AddCowMount.Core.Format;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Core.Volume;

/// <summary>A view the volume does not show for this disk, and why (for <c>addcow mount</c>'s output and <c>list</c>).</summary>
public sealed record HiddenView(string Name, string Reason);

/// <summary>
/// The view layout of a volume: which files a disk is shown as. NAME.img always; NAME.vhd up to VHD's 2040 GiB;
/// NAME.vhdx up to VHDX's 64 TiB; NAME.vmdk when the descriptor can describe the disk. A view that cannot be
/// shown is listed with the reason instead.
/// </summary>
internal static partial class VolumeViews
{
    public static (IReadOnlyList<DiskView> Shown, IReadOnlyList<HiddenView> Hidden) Build(IDisk disk, VolumeModelOptions options, ILogger logger)
    {
        var baseName = options.BaseName;
        var diskLength = disk.Length;
        var shown = new List<DiskView> { new RawDiskView(baseName + ".img", disk) };
        var hidden = new List<HiddenView>();

        void Hide(string name, string reason)
        {
            hidden.Add(new HiddenView(name, reason));
            LogViewHidden(logger, name, reason);
        }

        var wholeSectors = diskLength % VolumeModel.SectorSize == 0;
        var notWholeSectors = $"the disk ({diskLength} bytes) is not a whole number of 512-byte sectors";
        if (diskLength > VhdFooter.MaxDiskSize)
        {
            Hide(baseName + ".vhd", $"the disk ({diskLength} bytes) is larger than VHD's limit of 2040 GiB; attach {baseName}.vhdx instead");
        }
        else if (!wholeSectors)
        {
            Hide(baseName + ".vhd", notWholeSectors);
        }
        else
        {
            shown.Add(new VhdDiskView(baseName + ".vhd", disk, VhdFooter.Create(diskLength, options.UniqueId, AsUtc(options.CreationTimeUtc))));
        }

        if (VhdxLayout.Unsupported(diskLength) is { } vhdxReason)
        {
            Hide(baseName + ".vhdx", vhdxReason);
        }
        else
        {
            var layout = VhdxLayout.Create(diskLength, options.UniqueId);
            var headers = new VhdxHeaderStore(layout, options.VhdxHeaderSidecarPath, logger);
            shown.Add(new VhdxDiskView(baseName + ".vhdx", disk, layout, headers));
        }

        if (!wholeSectors)
        {
            Hide(baseName + ".vmdk", notWholeSectors);
        }
        else
        {
            try
            {
                // Always an RW extent: qemu skips every extent that is not RW (block/vmdk.c) and cannot open an
                // RDONLY descriptor at all; on a read-only mount the file system itself refuses the writes.
                var descriptor = VmdkDescriptor.Create(baseName + ".img", diskLength, readOnly: false, options.UniqueId);
                shown.Add(new VmdkDescriptorView(baseName + ".vmdk", descriptor));
            }
            catch (ArgumentException ex)
            {
                Hide(baseName + ".vmdk", ex.Message);
            }
        }

        return (shown, hidden);
    }

    internal static DateTime AsUtc(DateTime time) => time.Kind switch
    {
        DateTimeKind.Local => time.ToUniversalTime(),
        DateTimeKind.Unspecified => DateTime.SpecifyKind(time, DateTimeKind.Utc),
        _ => time,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "{View} is not shown: {Reason}")]
    private static partial void LogViewHidden(ILogger logger, string view, string reason);
}
