namespace AddCowMount.Core.Volume;

/// <summary>What a <see cref="VolumeModel"/> shows and how.</summary>
public sealed record VolumeModelOptions
{
    /// <summary>Base name of the views: "disk" gives disk.img, disk.vhd, disk.vhdx, disk.vmdk (usually the add-cow file's name without extension).</summary>
    public required string BaseName { get; init; }

    /// <summary>A read-only mount: every write is refused with <see cref="VolumeStatus.WriteProtected"/> and the files are flagged read-only.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>The volume label the OS shows.</summary>
    public string VolumeLabel { get; init; } = "AddCow";

    /// <summary>
    /// A stable 16-byte id of the disk (e.g. <see cref="Format.VhdFooter.StableId"/> of the add-cow file's full path):
    /// the VHD footer's unique id, the VMDK's ddb.uuid.image and the source of the volume serial number.
    /// </summary>
    public required Guid UniqueId { get; init; }

    /// <summary>Creation time of the image (UTC); also the VHD footer's time stamp.</summary>
    public DateTime CreationTimeUtc { get; init; }

    /// <summary>Last write time of the image (UTC) at mount time.</summary>
    public DateTime LastWriteTimeUtc { get; init; }

    /// <summary>Clock for write times; <see cref="TimeProvider.System"/> when null.</summary>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>
    /// Where NAME.vhdx keeps the headers VHDX writers rewrite (<c>VhdxHeaderStore.SidecarPathFor</c> of the add-cow
    /// file, beside it); null keeps them for the life of the volume only.
    /// </summary>
    public string? VhdxHeaderSidecarPath { get; init; }

    /// <summary>When false (the default) the model disposes the disk when it is disposed.</summary>
    public bool LeaveDiskOpen { get; init; }
}
