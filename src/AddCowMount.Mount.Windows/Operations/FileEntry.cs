using AddCowMount.Core.Volume;

namespace AddCowMount.Mount.Windows.Operations;

/// <summary>What GetFileInformation and FindFiles report for one node; both come from <see cref="From"/>.</summary>
public readonly record struct FileEntry(
    string Name,
    FileAttributes Attributes,
    long Length,
    DateTime CreationTimeUtc,
    DateTime LastAccessTimeUtc,
    DateTime LastWriteTimeUtc)
{
    /// <summary>
    /// Directories are Directory; files are Normal, or ReadOnly when the mount or the node is read-only.
    /// Never Sparse or Compressed: Hyper-V refuses to attach virtual disks that carry either.
    /// </summary>
    public static FileEntry From(VolumeNode node, bool volumeIsReadOnly)
    {
        ArgumentNullException.ThrowIfNull(node);
        FileAttributes attributes;
        if (node.IsDirectory)
        {
            attributes = FileAttributes.Directory;
        }
        else
        {
            attributes = volumeIsReadOnly || node.IsReadOnly ? FileAttributes.ReadOnly : FileAttributes.Normal;
        }

        return new FileEntry(
            node.Name,
            attributes,
            node.IsDirectory ? 0 : node.Length,
            node.CreationTimeUtc,
            node.LastAccessTimeUtc,
            node.LastWriteTimeUtc);
    }
}

/// <summary>What GetVolumeInformation reports.</summary>
public readonly record struct VolumeDescription(
    string Label,
    string FileSystemName,
    uint Features,
    uint MaximumComponentLength,
    uint SerialNumber);
