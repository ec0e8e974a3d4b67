using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;

namespace AddCowMount.Core.Format;

/// <summary>CRC-32C (Castagnoli) as MS-VHDX uses it: initial value all ones, result inverted (qemu's <c>crc32c(0xffffffff, ...)</c>).</summary>
public static class VhdxChecksum
{
    /// <summary>The CRC-32C of <paramref name="data"/>, with the 4 bytes at <paramref name="checksumOffset"/> counted as zero (-1: none skipped).</summary>
    public static uint Compute(ReadOnlySpan<byte> data, int checksumOffset = -1)
    {
        uint crc = uint.MaxValue;
        if (checksumOffset < 0)
        {
            return ~Update(crc, data);
        }

        crc = Update(crc, data[..checksumOffset]);
        crc = Update(crc, stackalloc byte[4] { 0, 0, 0, 0 });
        return ~Update(crc, data[(checksumOffset + 4)..]);
    }

    private static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }
}

/// <summary>
/// One VHDX header (MS-VHDX 2.2.2): 4 KiB at 64 KiB and at 128 KiB, little-endian, CRC-32C over the 4 KiB with
/// the checksum field zero. The valid header with the higher <see cref="SequenceNumber"/> is the current one.
/// </summary>
public sealed record VhdxHeader
{
    /// <summary>Bytes covered by the checksum (the rest of the 64 KiB slot is reserved).</summary>
    public const int Size = 4096;

    /// <summary>"head" read as a little-endian u32.</summary>
    public const uint SignatureValue = 0x64616568;

    public const ushort CurrentVersion = 1;

    internal static class FieldLocations
    {
        public const int Signature = 0;
        public const int Checksum = Signature + 4;
        public const int SequenceNumber = Checksum + 4;
        public const int FileWriteGuid = SequenceNumber + 8;
        public const int DataWriteGuid = FileWriteGuid + 16;
        public const int LogGuid = DataWriteGuid + 16;
        public const int LogVersion = LogGuid + 16;
        public const int Version = LogVersion + 2;
        public const int LogLength = Version + 2;
        public const int LogOffset = LogLength + 4;
        public const int Reserved = LogOffset + 8;
    }

    public ulong SequenceNumber { get; init; }

    public Guid FileWriteGuid { get; init; }

    public Guid DataWriteGuid { get; init; }

    /// <summary>Non-zero: a log to replay before the file can be used.</summary>
    public Guid LogGuid { get; init; }

    public ushort LogVersion { get; init; }

    public ushort Version { get; init; } = CurrentVersion;

    public uint LogLength { get; init; }

    public ulong LogOffset { get; init; }

    /// <summary>Writes the 4 KiB header (reserved bytes zero) with its checksum.</summary>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException($"A VHDX header needs {Size} bytes; got {destination.Length}.", nameof(destination));
        }

        var d = destination[..Size];
        d.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(d[FieldLocations.Signature..], SignatureValue);
        BinaryPrimitives.WriteUInt64LittleEndian(d[FieldLocations.SequenceNumber..], SequenceNumber);
        FileWriteGuid.TryWriteBytes(d.Slice(FieldLocations.FileWriteGuid, 16));
        DataWriteGuid.TryWriteBytes(d.Slice(FieldLocations.DataWriteGuid, 16));
        LogGuid.TryWriteBytes(d.Slice(FieldLocations.LogGuid, 16));
        BinaryPrimitives.WriteUInt16LittleEndian(d[FieldLocations.LogVersion..], LogVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(d[FieldLocations.Version..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(d[FieldLocations.LogLength..], LogLength);
        BinaryPrimitives.WriteUInt64LittleEndian(d[FieldLocations.LogOffset..], LogOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(d[FieldLocations.Checksum..], VhdxChecksum.Compute(d, FieldLocations.Checksum));
    }

    public byte[] ToArray()
    {
        var bytes = new byte[Size];
        WriteTo(bytes);
        return bytes;
    }

    /// <summary>
    /// Reads a header as qemu and MS-VHDX accept one: signature "head", matching CRC-32C, version 1.
    /// False (with the reason) otherwise; reserved bytes are not interpreted.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> source, [NotNullWhen(true)] out VhdxHeader? header, [NotNullWhen(false)] out string? problem)
    {
        header = null;
        if (source.Length < Size)
        {
            problem = $"header truncated: {source.Length} bytes, expected {Size}";
            return false;
        }

        var s = source[..Size];
        var signature = BinaryPrimitives.ReadUInt32LittleEndian(s);
        if (signature != SignatureValue)
        {
            problem = $"header signature 0x{signature:X8} is not \"head\"";
            return false;
        }

        var stored = BinaryPrimitives.ReadUInt32LittleEndian(s[FieldLocations.Checksum..]);
        var computed = VhdxChecksum.Compute(s, FieldLocations.Checksum);
        if (stored != computed)
        {
            problem = $"header checksum 0x{stored:X8} does not match its CRC-32C 0x{computed:X8}";
            return false;
        }

        var version = BinaryPrimitives.ReadUInt16LittleEndian(s[FieldLocations.Version..]);
        if (version != CurrentVersion)
        {
            problem = $"header version {version} is not {CurrentVersion}";
            return false;
        }

        header = new VhdxHeader
        {
            SequenceNumber = BinaryPrimitives.ReadUInt64LittleEndian(s[FieldLocations.SequenceNumber..]),
            FileWriteGuid = new Guid(s.Slice(FieldLocations.FileWriteGuid, 16)),
            DataWriteGuid = new Guid(s.Slice(FieldLocations.DataWriteGuid, 16)),
            LogGuid = new Guid(s.Slice(FieldLocations.LogGuid, 16)),
            LogVersion = BinaryPrimitives.ReadUInt16LittleEndian(s[FieldLocations.LogVersion..]),
            Version = version,
            LogLength = BinaryPrimitives.ReadUInt32LittleEndian(s[FieldLocations.LogLength..]),
            LogOffset = BinaryPrimitives.ReadUInt64LittleEndian(s[FieldLocations.LogOffset..]),
        };
        problem = null;
        return true;
    }

    /// <summary>
    /// Whether <paramref name="candidate"/> (4 KiB) may replace a header of a synthesized fixed VHDX whose two
    /// headers are <paramref name="current1"/> and <paramref name="current2"/>: the same bytes always may;
    /// otherwise it must parse (signature, CRC, version 1), have no log to replay (LogGuid zero, log version 0),
    /// keep the log region of <see cref="VhdxLayout"/> and carry a sequence number above both current ones
    /// (what qemu and Hyper-V write when they open a file for writing and on their first write).
    /// </summary>
    public static bool IsAcceptableRewrite(ReadOnlySpan<byte> candidate, VhdxHeader current1, VhdxHeader current2,
        [NotNullWhen(false)] out string? reason)
    {
        ArgumentNullException.ThrowIfNull(current1);
        ArgumentNullException.ThrowIfNull(current2);
        if (!TryParse(candidate, out var header, out reason))
        {
            return false;
        }

        if (!header.FitsFixedLayout(out reason))
        {
            return false;
        }

        var highest = Math.Max(current1.SequenceNumber, current2.SequenceNumber);
        if (header.SequenceNumber <= highest)
        {
            reason = $"header sequence number {header.SequenceNumber} is not above the current {highest}";
            return false;
        }

        return true;
    }

    /// <summary>No log to replay (LogGuid zero, log version 0) and the log region of <see cref="VhdxLayout"/>: a header a synthesized fixed VHDX can show.</summary>
    public bool FitsFixedLayout([NotNullWhen(false)] out string? reason)
    {
        reason = null;
        if (LogGuid != Guid.Empty)
        {
            reason = $"the header names a log to replay ({LogGuid}); this fixed VHDX has no journal";
        }
        else if (LogVersion != 0)
        {
            reason = $"header log version {LogVersion} is not 0";
        }
        else if (LogOffset != (ulong)VhdxLayout.LogOffset || LogLength != VhdxLayout.LogLength)
        {
            reason = $"the header moves the log region to {LogOffset} ({LogLength} bytes); the layout is fixed";
        }

        return reason is null;
    }
}
