namespace AddCowMount.Tray.Core.Mounts;

/// <summary>One mount as reported by <c>addcow list --output json</c>.</summary>
/// <param name="MountPoint">Drive (<c>X:</c>) or folder the disk is mounted at.</param>
/// <param name="Image">Full path of the add-cow file.</param>
/// <param name="Pid">Process that hosts the mount.</param>
/// <param name="ReadOnly">True when writes are refused.</param>
/// <param name="Files">The flat disk files the volume exposes (<c>.img</c>, <c>.vhd</c>, <c>.vhdx</c>, <c>.vmdk</c>).</param>
/// <param name="OpenHandles">Files currently open on the volume; unmount refuses while this is non-zero.</param>
public sealed record MountInfo(
    string MountPoint,
    string Image,
    int Pid,
    bool ReadOnly,
    IReadOnlyList<string> Files,
    int OpenHandles)
{
    /// <summary>The exposed VHD (Hyper-V Generation 1, VirtualBox); null when the volume has none (disks past 2040 GiB).</summary>
    public string? VhdPath =>
        Files.FirstOrDefault(f => f.EndsWith(".vhd", StringComparison.OrdinalIgnoreCase));

    /// <summary>The exposed VHDX, the only file a Hyper-V Generation 2 VM boots from; null when the volume has none.</summary>
    public string? VhdxPath =>
        Files.FirstOrDefault(f => f.EndsWith(".vhdx", StringComparison.OrdinalIgnoreCase));
}

/// <summary>What the user asked to mount.</summary>
public sealed record MountRequest(string Image, string MountPoint, bool ReadOnly);

/// <summary>What the user asked to create: <c>addcow create -b Backing -i ImageFile Overlay</c>.</summary>
public sealed record CreateOverlayRequest(string Backing, string ImageFile, string Overlay);
