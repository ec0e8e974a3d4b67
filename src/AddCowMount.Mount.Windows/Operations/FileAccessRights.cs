namespace AddCowMount.Mount.Windows.Operations;

/// <summary>Windows access-mask bits (winnt.h) as Dokan passes them to CreateFile; DokanNet's <c>FileAccess</c> uses the same numbers.</summary>
public static class FileAccessRights
{
    public const uint ReadData = 0x0001;
    public const uint WriteData = 0x0002;
    public const uint AppendData = 0x0004;
    public const uint Execute = 0x0020;
    public const uint GenericAll = 0x1000_0000;
    public const uint GenericExecute = 0x2000_0000;
    public const uint GenericWrite = 0x4000_0000;
    public const uint GenericRead = 0x8000_0000;

    private const uint DataRead = ReadData | Execute | GenericRead | GenericExecute | GenericAll;
    private const uint DataWrite = WriteData | AppendData | GenericWrite | GenericAll;

    /// <summary>
    /// The data access a Windows open asks for, or null when it asks only for metadata (attributes, security,
    /// delete): Explorer and the VM services open files that way constantly, and no volume handle is needed then.
    /// </summary>
    public static VolumeAccessRequest ToVolumeAccess(uint desiredAccess)
    {
        var read = (desiredAccess & DataRead) != 0;
        var write = (desiredAccess & DataWrite) != 0;
        return (read, write) switch
        {
            (_, true) => new(true, Core.Volume.VolumeAccess.ReadWrite),
            (true, false) => new(true, Core.Volume.VolumeAccess.Read),
            _ => new(false, Core.Volume.VolumeAccess.Read),
        };
    }
}

/// <summary>Whether an open needs a data handle, and with which access.</summary>
public readonly record struct VolumeAccessRequest(bool NeedsData, Core.Volume.VolumeAccess Access);
