namespace AddCowMount.Mount.Windows.Hosting;

/// <summary>
/// How a volume is mounted through Dokan. The option bits are Dokany's DOKAN_OPTION_* values
/// (DokanNet's <c>DokanOptions</c> enum has the same numbers; the adapter casts).
/// </summary>
public sealed record DokanMountSettings
{
    public const uint OptionFixedDrive = 0;
    public const uint OptionWriteProtection = 1u << 3;
    public const uint OptionNetworkDrive = 1u << 4;
    public const uint OptionRemovableDrive = 1u << 5;
    public const uint OptionMountManager = 1u << 6;
    public const uint OptionCurrentSession = 1u << 7;

    /// <summary>Sector size reported to Windows: the add-cow bitmap granularity.</summary>
    public const int SectorSize = 512;

    /// <summary>Cluster size reported to Windows, as NTFS's default.</summary>
    public const int AllocationUnitSize = 4096;

    /// <summary>"X:\" or an absolute folder path (see <see cref="DokanMountPoint.Normalize"/>).</summary>
    public required string MountPoint { get; init; }

    /// <summary>Mount write-protected (Dokan refuses writes before they reach the volume).</summary>
    public bool ReadOnly { get; init; }

    /// <summary>
    /// Show the drive only in the mounting user's logon session. Off by default: Hyper-V's VMMS and the
    /// VirtualBox service run in session 0 and must see the drive (Dokany: "impersonation will not work
    /// if someone attempts to mount for a user from another one (like system service)").
    /// </summary>
    public bool CurrentSessionOnly { get; init; }

    /// <summary>
    /// How long Dokan waits for one callback before it gives up on the request. Dokan's default is 20 s; a
    /// VM flushing a large write-back cache through the add-cow bitmap can take longer, so the default here
    /// is two minutes, and long flushes push it further with TryResetTimeout.
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Dokan option bits: always a fixed drive (not network, not removable: Hyper-V refuses disks on
    /// either) registered with the Mount Manager so services see it; write-protected when read-only.
    /// </summary>
    public uint DokanOptionBits
    {
        get
        {
            var bits = OptionFixedDrive | OptionMountManager;
            if (ReadOnly)
            {
                bits |= OptionWriteProtection;
            }

            if (CurrentSessionOnly)
            {
                bits |= OptionCurrentSession;
            }

            return bits;
        }
    }

    /// <summary>Interval at which a long flush asks Dokan for more time: half the timeout.</summary>
    public TimeSpan KeepAliveInterval => Timeout / 2;
}
