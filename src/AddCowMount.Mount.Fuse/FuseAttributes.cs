using AddCowMount.Core.Volume;

namespace AddCowMount.Mount.Fuse;

/// <summary>What getattr reports for one node, before it is written into a native struct stat.</summary>
internal readonly record struct FuseAttributes(
    uint Mode,
    long Size,
    long Blocks,
    int BlockSize,
    ulong LinkCount,
    uint Uid,
    uint Gid,
    DateTime LastAccessTimeUtc,
    DateTime LastWriteTimeUtc,
    DateTime ChangeTimeUtc)
{
    internal const uint S_IFDIR = 0x4000; // 0040000
    internal const uint S_IFREG = 0x8000; // 0100000
    internal const uint S_IFMT = 0xF000;

    internal const uint FileMode = 0x1A4; // 0644
    internal const uint ReadOnlyFileMode = 0x124; // 0444
    internal const uint DirectoryMode = 0x1ED; // 0755

    public bool IsDirectory => (Mode & S_IFMT) == S_IFDIR;

    /// <summary>
    /// Regular files 0644, or 0444 when the mount, the volume or the node is read-only; directories 0755;
    /// everything owned by the mounting user. Sizes in 512-byte blocks as stat(2) counts them.
    /// </summary>
    public static FuseAttributes FromNode(VolumeNode node, bool readOnlyMount, uint uid, uint gid, int blockSize)
    {
        ArgumentNullException.ThrowIfNull(node);
        uint mode = node.IsDirectory
            ? S_IFDIR | DirectoryMode
            : S_IFREG | (readOnlyMount || node.IsReadOnly ? ReadOnlyFileMode : FileMode);
        long size = node.IsDirectory ? 0 : node.Length;
        long blocks = (size + 511) / 512;
        return new FuseAttributes(
            mode,
            size,
            blocks,
            blockSize > 0 ? blockSize : 4096,
            node.IsDirectory ? 2UL : 1UL,
            uid,
            gid,
            node.LastAccessTimeUtc,
            node.LastWriteTimeUtc,
            node.LastWriteTimeUtc);
    }
}
