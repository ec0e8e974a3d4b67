using System.Buffers.Binary;
using System.Text;

namespace AddCowMount.Core.Format;

/// <summary>
/// The structure of a fixed VHDX (MS-VHDX) in front of a disk of <see cref="DiskSize"/> bytes, with no copy of
/// the data: everything before <see cref="PayloadOffset"/> is synthesized by <see cref="ReadStructure"/>, the
/// payload is the disk itself, contiguous, and the last block is padded with zeros up to <see cref="FileLength"/>.
/// </summary>
/// <remarks>
/// Layout (every region a 1 MiB multiple, as MS-VHDX requires; the same places qemu-img uses):
/// <code>
/// 0        file type identifier "vhdxfile" + creator     64 KiB
/// 64 KiB   header 1 (4 KiB used)                           64 KiB
/// 128 KiB  header 2                                        64 KiB
/// 192 KiB  region table 1, 256 KiB region table 2 (same)   64 KiB each
/// 1 MiB    log (empty: LogGuid is zero)                    1 MiB
/// 2 MiB    metadata region: table, then the 5 items at 64 KiB   1 MiB
/// 3 MiB    BAT: a payload entry per block (offset | FULLY_PRESENT), a zero sector-bitmap entry after every
///          chunk-ratio of them                                   entries x 8 rounded up to 1 MiB
/// then     the payload: block i at PayloadOffset + i x BlockSize
/// </code>
/// The BAT is computed per entry from that formula, so a 64 TiB disk costs no memory at open.
/// </remarks>
public sealed class VhdxLayout
{
    public const long MiB = 1024 * 1024;

    /// <summary>VHDX's limit on the virtual disk size: 64 TiB.</summary>
    public const long MaxDiskSize = 64L * 1024 * 1024 * MiB;

    public const int LogicalSectorSize = 512;

    public const int PhysicalSectorSize = 4096;

    public const long FileIdentifierOffset = 0;
    public const long Header1Offset = 64 * 1024;
    public const long Header2Offset = 128 * 1024;
    public const long RegionTable1Offset = 192 * 1024;
    public const long RegionTable2Offset = 256 * 1024;
    public const int StructureSlotSize = 64 * 1024;
    public const long LogOffset = MiB;
    public const uint LogLength = (uint)MiB;
    public const long MetadataOffset = 2 * MiB;
    public const uint MetadataLength = (uint)MiB;
    public const long BatOffset = 3 * MiB;

    /// <summary>"vhdxfile" read as a little-endian u64.</summary>
    public const ulong FileSignature = 0x656C696678646876;

    /// <summary>"regi" read as a little-endian u32.</summary>
    public const uint RegionTableSignature = 0x69676572;

    /// <summary>"metadata" read as a little-endian u64.</summary>
    public const ulong MetadataSignature = 0x617461646174656D;

    /// <summary>BAT entry state of a payload block whose data is all in the file.</summary>
    public const ulong PayloadBlockFullyPresent = 6;

    /// <summary>Metadata items start here inside the metadata region (MS-VHDX: at least 64 KiB).</summary>
    public const int MetadataItemsOffset = 64 * 1024;

    public const string Creator = "AddCowMount";

    public static readonly Guid BatRegionGuid = new("2DC27766-F623-4200-9D64-115E9BFD4A08");
    public static readonly Guid MetadataRegionGuid = new("8B7CA206-4790-4B9A-B8FE-575F050F886E");
    public static readonly Guid FileParametersGuid = new("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
    public static readonly Guid VirtualDiskSizeGuid = new("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
    public static readonly Guid VirtualDiskIdGuid = new("BECA12AB-B2E6-4523-93EF-C309E000C746");
    public static readonly Guid LogicalSectorSizeGuid = new("8141BF1D-A96F-4709-BA47-F233A8FAAB5F");
    public static readonly Guid PhysicalSectorSizeGuid = new("CDA348C7-445D-4471-9CC9-E9885251C556");

    /// <summary>Metadata entry flags (MS-VHDX 2.6.1.2).</summary>
    public const uint MetadataIsVirtualDisk = 0x2;
    public const uint MetadataIsRequired = 0x4;

    /// <summary>File Parameters flag: blocks stay allocated (a fixed disk).</summary>
    public const uint LeaveBlockAllocated = 0x1;

    private const int RegionEntrySize = 32;
    private const int MetadataEntrySize = 32;

    /// <summary>The non-zero head of each 64 KiB structure (the rest of each is zeros).</summary>
    private readonly byte[] _fileIdentifier;
    private readonly byte[] _regionTable;
    private readonly byte[] _metadata;

    private VhdxLayout(long diskSize, Guid virtualDiskId)
    {
        DiskSize = diskSize;
        VirtualDiskId = virtualDiskId;
        BlockSize = BlockSizeFor(diskSize);
        ChunkRatio = (int)((1L << 23) * LogicalSectorSize / BlockSize);
        PayloadBlocks = (diskSize + BlockSize - 1) / BlockSize;
        BatEntries = PayloadBlocks + (PayloadBlocks - 1) / ChunkRatio;
        BatLength = RoundUp(BatEntries * 8, MiB);
        PayloadOffset = BatOffset + BatLength;
        FileLength = PayloadOffset + PayloadBlocks * BlockSize;
        _fileIdentifier = BuildFileIdentifier();
        _regionTable = BuildRegionTable();
        _metadata = BuildMetadata();
    }

    /// <summary>Bytes of the virtual disk (the payload).</summary>
    public long DiskSize { get; }

    /// <summary>The Virtual Disk ID metadata item (page 83 identity a VM sees).</summary>
    public Guid VirtualDiskId { get; }

    public int BlockSize { get; }

    /// <summary>Payload blocks per sector-bitmap block: 2^23 x logical sector size / block size.</summary>
    public int ChunkRatio { get; }

    public long PayloadBlocks { get; }

    /// <summary>Payload entries plus the interleaved sector-bitmap entries (MS-VHDX 2.5, non-differencing).</summary>
    public long BatEntries { get; }

    public long BatLength { get; }

    /// <summary>Where the disk's byte 0 lives in the file (a 1 MiB multiple).</summary>
    public long PayloadOffset { get; }

    /// <summary>The whole file: the payload padded with zeros to a whole last block.</summary>
    public long FileLength { get; }

    /// <summary>End of the disk's bytes in the file; from here to <see cref="FileLength"/> is padding.</summary>
    public long PayloadEnd => PayloadOffset + DiskSize;

    /// <summary>Why a disk of <paramref name="diskSize"/> bytes cannot be a VHDX, or null when it can.</summary>
    public static string? Unsupported(long diskSize) => diskSize switch
    {
        <= 0 => $"the disk is empty ({diskSize} bytes)",
        > MaxDiskSize => $"the disk ({diskSize} bytes) is larger than VHDX's limit of 64 TiB",
        _ when diskSize % LogicalSectorSize != 0 => $"the disk ({diskSize} bytes) is not a whole number of 512-byte sectors",
        _ => null,
    };

    /// <exception cref="ArgumentOutOfRangeException">See <see cref="Unsupported"/>.</exception>
    public static VhdxLayout Create(long diskSize, Guid virtualDiskId)
    {
        if (Unsupported(diskSize) is { } reason)
        {
            throw new ArgumentOutOfRangeException(nameof(diskSize), diskSize, reason);
        }

        return new VhdxLayout(diskSize, virtualDiskId);
    }

    /// <summary>qemu-img's choice, so a larger disk has a BAT of bounded size: 8 MiB up to 1 GiB, 16 MiB up to 100 GiB, 32 MiB up to 32 TiB, then 64 MiB.</summary>
    public static int BlockSizeFor(long diskSize) => diskSize switch
    {
        > 32L * 1024 * 1024 * MiB => (int)(64 * MiB),
        > 100L * 1024 * MiB => (int)(32 * MiB),
        > 1024 * MiB => (int)(16 * MiB),
        _ => (int)(8 * MiB),
    };

    /// <summary>The two headers a new file starts with: sequence numbers 1 and 2, ids derived from the virtual disk id (stable per image).</summary>
    public (VhdxHeader Header1, VhdxHeader Header2) InitialHeaders()
    {
        var header = new VhdxHeader
        {
            SequenceNumber = 1,
            FileWriteGuid = VhdFooter.StableId($"{VirtualDiskId:D}/file-write"),
            DataWriteGuid = VhdFooter.StableId($"{VirtualDiskId:D}/data-write"),
            LogLength = LogLength,
            LogOffset = LogOffset,
        };
        return (header, header with { SequenceNumber = 2 });
    }

    /// <summary>The BAT entry <paramref name="index"/>: a payload block's file offset | FULLY_PRESENT, or 0 (sector bitmap, past the end).</summary>
    public ulong BatEntry(long index)
    {
        if (index < 0 || index >= BatEntries)
        {
            return 0;
        }

        var position = index % (ChunkRatio + 1);
        if (position == ChunkRatio)
        {
            return 0;
        }

        var block = index / (ChunkRatio + 1) * ChunkRatio + position;
        return block < PayloadBlocks ? (ulong)(PayloadOffset + block * BlockSize) | PayloadBlockFullyPresent : 0;
    }

    /// <summary>
    /// Fills <paramref name="destination"/> with the file's bytes at <paramref name="offset"/>, for a range below
    /// <see cref="PayloadOffset"/>. <paramref name="header1"/> and <paramref name="header2"/> are the 4 KiB headers to show.
    /// </summary>
    public void ReadStructure(long offset, Span<byte> destination, ReadOnlySpan<byte> header1, ReadOnlySpan<byte> header2)
    {
        if (offset < 0 || destination.Length > PayloadOffset - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, "The range is not inside the VHDX structure.");
        }

        destination.Clear();
        CopyPart(_fileIdentifier, FileIdentifierOffset, offset, destination);
        CopyPart(header1[..VhdxHeader.Size], Header1Offset, offset, destination);
        CopyPart(header2[..VhdxHeader.Size], Header2Offset, offset, destination);
        CopyPart(_regionTable, RegionTable1Offset, offset, destination);
        CopyPart(_regionTable, RegionTable2Offset, offset, destination);
        CopyPart(_metadata, MetadataOffset, offset, destination);

        var end = offset + destination.Length;
        var batEnd = BatOffset + BatEntries * 8;
        if (end <= BatOffset || offset >= batEnd)
        {
            return;
        }

        // BAT entries one by one (a partial entry at either end included).
        var first = Math.Max(offset, BatOffset);
        var last = Math.Min(end, batEnd);
        Span<byte> entry = stackalloc byte[8];
        for (var pos = first - (first - BatOffset) % 8; pos < last; pos += 8)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(entry, BatEntry((pos - BatOffset) / 8));
            CopyPart(entry, pos, offset, destination);
        }
    }

    /// <summary>What lives at <paramref name="offset"/> of the file, for log lines ("region table 1", "BAT", "payload", ...).</summary>
    public string RegionAt(long offset) => offset switch
    {
        < Header1Offset => "file type identifier",
        < Header1Offset + VhdxHeader.Size => "header 1",
        < Header2Offset => "reserved space after header 1",
        < Header2Offset + VhdxHeader.Size => "header 2",
        < RegionTable1Offset => "reserved space after header 2",
        < RegionTable2Offset => "region table 1",
        < RegionTable2Offset + StructureSlotSize => "region table 2",
        < LogOffset => "reserved space before the log",
        < MetadataOffset => "log",
        < BatOffset => "metadata region",
        _ when offset < PayloadOffset => "BAT",
        _ when offset < PayloadEnd => "payload",
        _ => "padding after the disk's end",
    };

    /// <summary>Every structure byte below <see cref="PayloadOffset"/>, with the given headers (for <c>convert -O vhdx</c>).</summary>
    public byte[] StructureBytes(ReadOnlySpan<byte> header1, ReadOnlySpan<byte> header2)
    {
        var bytes = new byte[PayloadOffset];
        ReadStructure(0, bytes, header1, header2);
        return bytes;
    }

    private static void CopyPart(ReadOnlySpan<byte> part, long partOffset, long offset, Span<byte> destination)
    {
        var start = Math.Max(partOffset, offset);
        var end = Math.Min(partOffset + part.Length, offset + destination.Length);
        if (start < end)
        {
            part.Slice((int)(start - partOffset), (int)(end - start)).CopyTo(destination[(int)(start - offset)..]);
        }
    }

    private static byte[] BuildFileIdentifier()
    {
        var bytes = new byte[8 + 512];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, FileSignature);
        Encoding.Unicode.GetBytes(Creator, bytes.AsSpan(8));
        return bytes;
    }

    private byte[] BuildRegionTable()
    {
        // The CRC covers the whole 64 KiB table; only its head is non-zero.
        var table = new byte[StructureSlotSize];
        BinaryPrimitives.WriteUInt32LittleEndian(table, RegionTableSignature);
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(8), 2);
        WriteRegionEntry(table.AsSpan(16), BatRegionGuid, BatOffset, (uint)BatLength);
        WriteRegionEntry(table.AsSpan(16 + RegionEntrySize), MetadataRegionGuid, MetadataOffset, MetadataLength);
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(4), VhdxChecksum.Compute(table, 4));
        return table.AsSpan(0, 16 + 2 * RegionEntrySize).ToArray();
    }

    private static void WriteRegionEntry(Span<byte> entry, Guid guid, long fileOffset, uint length)
    {
        guid.TryWriteBytes(entry);
        BinaryPrimitives.WriteUInt64LittleEndian(entry[16..], (ulong)fileOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[24..], length);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[28..], 1); // Required
    }

    private byte[] BuildMetadata()
    {
        var items = new (Guid Id, uint Flags, byte[] Data)[]
        {
            (FileParametersGuid, MetadataIsRequired, FileParameters()),
            (VirtualDiskSizeGuid, MetadataIsRequired | MetadataIsVirtualDisk, LittleEndian((ulong)DiskSize)),
            (VirtualDiskIdGuid, MetadataIsRequired | MetadataIsVirtualDisk, VirtualDiskId.ToByteArray()),
            (LogicalSectorSizeGuid, MetadataIsRequired | MetadataIsVirtualDisk, LittleEndian((uint)LogicalSectorSize)),
            (PhysicalSectorSizeGuid, MetadataIsRequired | MetadataIsVirtualDisk, LittleEndian((uint)PhysicalSectorSize)),
        };

        var bytes = new byte[MetadataItemsOffset + items.Sum(i => i.Data.Length)];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, MetadataSignature);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(10), (ushort)items.Length);
        var dataOffset = MetadataItemsOffset;
        for (var i = 0; i < items.Length; i++)
        {
            var entry = bytes.AsSpan(32 + i * MetadataEntrySize, MetadataEntrySize);
            items[i].Id.TryWriteBytes(entry);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[16..], (uint)dataOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[20..], (uint)items[i].Data.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[24..], items[i].Flags);
            items[i].Data.CopyTo(bytes, dataOffset);
            dataOffset += items[i].Data.Length;
        }

        return bytes;
    }

    private byte[] FileParameters()
    {
        var data = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(data, (uint)BlockSize);
        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(4), LeaveBlockAllocated);
        return data;
    }

    private static byte[] LittleEndian(ulong value)
    {
        var data = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(data, value);
        return data;
    }

    private static byte[] LittleEndian(uint value)
    {
        var data = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(data, value);
        return data;
    }

    private static long RoundUp(long value, long unit) => (value + unit - 1) / unit * unit;
}
