using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace AddCowMount.Core.Format;

/// <summary>
/// A VMDK "monolithicFlat" descriptor: a small text file whose single FLAT extent is a raw file next to it.
/// Carries the ddb geometry, the adapter type and all four ddb UUIDs, so that VirtualBox finds nothing to
/// add and need not rewrite the descriptor.
/// </summary>
public sealed class VmdkDescriptor
{
    /// <summary>The nil UUID VirtualBox writes for "no parent".</summary>
    private const string NilUuid = "00000000-0000-0000-0000-000000000000";

    private VmdkDescriptor(string text)
    {
        Text = text;
        Bytes = Encoding.ASCII.GetBytes(text);
    }

    /// <summary>The descriptor text ('\n' line ends).</summary>
    public string Text { get; }

    /// <summary>The descriptor as the file's bytes (ASCII).</summary>
    public byte[] Bytes { get; }

    /// <summary>Builds the descriptor of a disk of <paramref name="diskSize"/> bytes stored raw in <paramref name="extentFileName"/>.</summary>
    /// <param name="extentFileName">The raw file's name, relative to the descriptor (e.g. "disk.img").</param>
    /// <param name="diskSize">Disk size in bytes; a multiple of 512.</param>
    /// <param name="readOnly">
    /// Writes the extent as RDONLY instead of RW (for read-only mounts: VirtualBox then opens the raw file
    /// read-only). qemu (block/vmdk.c) skips every extent that is not RW, so qemu cannot use such a descriptor;
    /// qemu users attach the .img instead.
    /// </param>
    /// <param name="uniqueId">Becomes ddb.uuid.image and seeds the CID.</param>
    /// <param name="adapterType">ddb.adapterType: "ide", "buslogic", "lsilogic" or "legacyESX".</param>
    public static VmdkDescriptor Create(string extentFileName, long diskSize, bool readOnly, Guid uniqueId, string adapterType = "ide")
    {
        ArgumentException.ThrowIfNullOrEmpty(extentFileName);
        ArgumentException.ThrowIfNullOrEmpty(adapterType);
        ArgumentOutOfRangeException.ThrowIfNegative(diskSize);
        if (diskSize % 512 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(diskSize), diskSize, "A VMDK extent is a whole number of 512-byte sectors.");
        }

        if (extentFileName.AsSpan().IndexOfAny("\"\r\n/\\") >= 0 || !Ascii.IsValid(extentFileName))
        {
            throw new ArgumentException($"Extent file name '{extentFileName}' must be a plain ASCII file name without quotes.", nameof(extentFileName));
        }

        if (adapterType is not ("ide" or "buslogic" or "lsilogic" or "legacyESX"))
        {
            throw new ArgumentException($"Unknown VMDK adapter type '{adapterType}'.", nameof(adapterType));
        }

        var sectors = diskSize / 512;
        var (cylinders, heads, sectorsPerTrack) = ComputeGeometry(sectors);
        var inv = CultureInfo.InvariantCulture;

        var sb = new StringBuilder();
        sb.Append("# Disk DescriptorFile\n");
        sb.Append("version=1\n");
        sb.Append(inv, $"CID={ContentId(uniqueId):x8}\n");
        sb.Append("parentCID=ffffffff\n");
        sb.Append("createType=\"monolithicFlat\"\n");
        sb.Append('\n');
        sb.Append("# Extent description\n");
        sb.Append(inv, $"{(readOnly ? "RDONLY" : "RW")} {sectors} FLAT \"{extentFileName}\" 0\n");
        sb.Append('\n');
        sb.Append("# The Disk Data Base\n");
        sb.Append("#DDB\n");
        sb.Append('\n');
        sb.Append("ddb.virtualHWVersion = \"4\"\n");
        sb.Append(inv, $"ddb.adapterType = \"{adapterType}\"\n");
        sb.Append(inv, $"ddb.geometry.cylinders = \"{cylinders}\"\n");
        sb.Append(inv, $"ddb.geometry.heads = \"{heads}\"\n");
        sb.Append(inv, $"ddb.geometry.sectors = \"{sectorsPerTrack}\"\n");
        sb.Append(inv, $"ddb.uuid.image = \"{uniqueId:D}\"\n");
        sb.Append(inv, $"ddb.uuid.parent = \"{NilUuid}\"\n");
        sb.Append(inv, $"ddb.uuid.modification = \"{NilUuid}\"\n");
        sb.Append(inv, $"ddb.uuid.parentmodification = \"{NilUuid}\"\n");
        return new VmdkDescriptor(sb.ToString());
    }

    /// <summary>
    /// The ddb geometry qemu and VirtualBox write for IDE: 16 heads, 63 sectors per track,
    /// cylinders = sectors / (16 * 63) capped at 16383 and at least 1.
    /// </summary>
    public static (long Cylinders, int Heads, int SectorsPerTrack) ComputeGeometry(long totalSectors)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(totalSectors);
        const int heads = 16;
        const int sectorsPerTrack = 63;
        var cylinders = Math.Clamp(totalSectors / (heads * sectorsPerTrack), 1, 16383);
        return (cylinders, heads, sectorsPerTrack);
    }

    /// <summary>A stable content id from the unique id; never 0xffffffff, which means "no parent".</summary>
    private static uint ContentId(Guid uniqueId)
    {
        Span<byte> id = stackalloc byte[16];
        uniqueId.TryWriteBytes(id, bigEndian: true, out _);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(id, hash);
        var cid = BinaryPrimitives.ReadUInt32BigEndian(hash);
        return cid == uint.MaxValue ? 0xFFFFFFFE : cid;
    }
}
