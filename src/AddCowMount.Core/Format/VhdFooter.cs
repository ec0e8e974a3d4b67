using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace AddCowMount.Core.Format;

/// <summary>Cylinders / heads / sectors-per-track as stored in a VHD footer.</summary>
public readonly record struct VhdGeometry(ushort Cylinders, byte Heads, byte SectorsPerTrack)
{
    /// <summary>Sectors the geometry addresses (<c>C * H * S</c>).</summary>
    public long TotalSectors => (long)Cylinders * Heads * SectorsPerTrack;
}

/// <summary>
/// The 512-byte footer of a VHD (Virtual Hard Disk Image Format Specification, "Hard Disk Footer Format"),
/// all fields big-endian. Immutable; <see cref="WriteTo"/> produces deterministic bytes with the padding cleared.
/// </summary>
public sealed record VhdFooter
{
    /// <summary>Size of the footer in bytes.</summary>
    public const int Size = 512;

    /// <summary>VHD's own limit (and qemu's): 2040 GiB.</summary>
    public const long MaxDiskSize = 2040L * 1024 * 1024 * 1024;

    /// <summary>"conectix" read as a big-endian u64.</summary>
    public const ulong CookieValue = 0x636F6E6563746978;

    public const uint FeaturesReserved = 2;
    public const uint FormatVersion = 0x0001_0000;
    public const ulong FixedDiskDataOffset = ulong.MaxValue;
    public const uint DiskTypeFixed = 2;

    /// <summary>
    /// "win ": Hyper-V's creator. qemu takes the virtual size from <c>current_size</c> only for a few creators
    /// ("win ", "qem2", ...); for any other it uses the CHS geometry and reports a shorter disk.
    /// </summary>
    public const uint CreatorApplicationWin = 0x77696E20;

    /// <summary>"qem2", qemu's own creator that also makes qemu honour <c>current_size</c>.</summary>
    public const uint CreatorApplicationQem2 = 0x71656D32;

    /// <summary>Hyper-V's creator version 10.0.</summary>
    public const uint CreatorVersionDefault = 0x000A_0000;

    /// <summary>"Wi2k".</summary>
    public const uint CreatorHostOsWindows = 0x5769326B;

    private static readonly DateTime s_epoch = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>Byte offsets of the fields, each the previous offset plus its length.</summary>
    internal static class FieldLocations
    {
        public const int Cookie = 0;
        public const int Features = Cookie + 8;
        public const int FileFormatVersion = Features + 4;
        public const int DataOffset = FileFormatVersion + 4;
        public const int TimeStamp = DataOffset + 8;
        public const int CreatorApplication = TimeStamp + 4;
        public const int CreatorVersion = CreatorApplication + 4;
        public const int CreatorHostOs = CreatorVersion + 4;
        public const int OriginalSize = CreatorHostOs + 4;
        public const int CurrentSize = OriginalSize + 8;
        public const int DiskGeometry = CurrentSize + 8;
        public const int DiskType = DiskGeometry + 4;
        public const int Checksum = DiskType + 4;
        public const int UniqueId = Checksum + 4;
        public const int SavedState = UniqueId + 16;
        public const int Reserved = SavedState + 1;
    }

    public uint Features { get; init; } = FeaturesReserved;

    public uint FileFormatVersion { get; init; } = FormatVersion;

    public ulong DataOffset { get; init; } = FixedDiskDataOffset;

    /// <summary>Seconds since 2000-01-01 00:00:00 UTC.</summary>
    public uint TimeStamp { get; init; }

    public uint CreatorApplication { get; init; } = CreatorApplicationWin;

    public uint CreatorVersion { get; init; } = CreatorVersionDefault;

    public uint CreatorHostOs { get; init; } = CreatorHostOsWindows;

    public ulong OriginalSize { get; init; }

    public ulong CurrentSize { get; init; }

    public VhdGeometry Geometry { get; init; }

    public uint DiskType { get; init; } = DiskTypeFixed;

    /// <summary>The checksum as stored (parsed) or computed (created).</summary>
    public uint Checksum { get; init; }

    public Guid UniqueId { get; init; }

    public byte SavedState { get; init; }

    /// <summary>The footer time stamp as a UTC date.</summary>
    public DateTime TimeStampUtc => s_epoch.AddSeconds(TimeStamp);

    /// <summary>
    /// A footer for a fixed VHD whose data part is <paramref name="diskSize"/> bytes: creator "win ", host "Wi2k",
    /// geometry by the specification's algorithm, checksum filled in.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The size is negative, above <see cref="MaxDiskSize"/> or not a multiple of 512.</exception>
    public static VhdFooter Create(long diskSize, Guid uniqueId, DateTime timestampUtc)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(diskSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(diskSize, MaxDiskSize);
        if (diskSize % 512 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(diskSize), diskSize, "A VHD's size must be a multiple of 512 bytes.");
        }

        var footer = new VhdFooter
        {
            TimeStamp = ToTimeStamp(timestampUtc),
            OriginalSize = (ulong)diskSize,
            CurrentSize = (ulong)diskSize,
            Geometry = ComputeGeometry(diskSize / 512),
            UniqueId = uniqueId,
        };
        Span<byte> bytes = stackalloc byte[Size];
        footer.WriteTo(bytes);
        return footer with { Checksum = ComputeChecksum(bytes) };
    }

    /// <summary>Seconds since 2000-01-01 UTC, clamped to the u32 range.</summary>
    public static uint ToTimeStamp(DateTime timestampUtc)
    {
        var utc = timestampUtc.Kind == DateTimeKind.Local ? timestampUtc.ToUniversalTime() : timestampUtc;
        var seconds = (long)Math.Floor((utc - s_epoch).TotalSeconds);
        return (uint)Math.Clamp(seconds, 0, uint.MaxValue);
    }

    /// <summary>
    /// CHS geometry by the VHD specification's algorithm (Appendix "CHS Calculation"): capped at
    /// 65535 x 16 x 255; 17, then 31, then 63 sectors per track for smaller disks.
    /// </summary>
    public static VhdGeometry ComputeGeometry(long totalSectors)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(totalSectors);
        totalSectors = Math.Min(totalSectors, 65535L * 16 * 255);

        long sectorsPerTrack;
        long heads;
        long cylinderTimesHeads;
        if (totalSectors >= 65535L * 16 * 63)
        {
            sectorsPerTrack = 255;
            heads = 16;
            cylinderTimesHeads = totalSectors / sectorsPerTrack;
        }
        else
        {
            sectorsPerTrack = 17;
            cylinderTimesHeads = totalSectors / sectorsPerTrack;
            heads = (cylinderTimesHeads + 1023) / 1024;
            if (heads < 4)
            {
                heads = 4;
            }

            if (cylinderTimesHeads >= heads * 1024 || heads > 16)
            {
                sectorsPerTrack = 31;
                heads = 16;
                cylinderTimesHeads = totalSectors / sectorsPerTrack;
            }

            if (cylinderTimesHeads >= heads * 1024)
            {
                sectorsPerTrack = 63;
                heads = 16;
                cylinderTimesHeads = totalSectors / sectorsPerTrack;
            }
        }

        return new VhdGeometry((ushort)(cylinderTimesHeads / heads), (byte)heads, (byte)sectorsPerTrack);
    }

    /// <summary>One's complement of the sum of all 512 bytes, the checksum field counted as zero.</summary>
    public static uint ComputeChecksum(ReadOnlySpan<byte> footer)
    {
        if (footer.Length < Size)
        {
            throw new ArgumentException($"A VHD footer is {Size} bytes; got {footer.Length}.", nameof(footer));
        }

        uint sum = 0;
        for (var i = 0; i < Size; i++)
        {
            if (i is >= FieldLocations.Checksum and < FieldLocations.Checksum + 4)
            {
                continue;
            }

            sum += footer[i];
        }

        return ~sum;
    }

    /// <summary>A Guid from the SHA-256 of <paramref name="text"/> (UTF-8), e.g. the add-cow file's full path: stable across runs.</summary>
    public static Guid StableId(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), hash);
        // Mark it as an RFC 4122 version-4-shaped, variant-1 id so tools that check the form accept it.
        hash[6] = (byte)((hash[6] & 0x0F) | 0x40);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }

    /// <summary>Writes the 512 footer bytes (reserved bytes zero) with the stored <see cref="Checksum"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException($"A VHD footer needs {Size} bytes; got {destination.Length}.", nameof(destination));
        }

        var d = destination[..Size];
        d.Clear();
        BinaryPrimitives.WriteUInt64BigEndian(d[FieldLocations.Cookie..], CookieValue);
        BinaryPrimitives.WriteUInt32BigEndian(d[FieldLocations.Features..], Features);
        BinaryPrimitives.WriteUInt32BigEndian(d[FieldLocations.FileFormatVersion..], FileFormatVersion);
        BinaryPrimitives.WriteUInt64BigEndian(d[FieldLocations.DataOffset..], DataOffset);
        BinaryPrimitives.WriteUInt32BigEndian(d[FieldLocations.TimeStamp..], TimeStamp);
        BinaryPrimitives.WriteUInt32BigEndian(d[FieldLocations.CreatorApplication..], CreatorApplication);
        BinaryPrimitives.WriteUInt32BigEndian(d[FieldLocations.CreatorVersion..], CreatorVersion);
        BinaryPrimitives.WriteUInt32BigEndian(d[FieldLocations.CreatorHostOs..], CreatorHostOs);
        BinaryPrimitives.WriteUInt64BigEndian(d[FieldLocations.OriginalSize..], OriginalSize);
        BinaryPrimitives.WriteUInt64BigEndian(d[FieldLocations.CurrentSize..], CurrentSize);
        BinaryPrimitives.WriteUInt16BigEndian(d[FieldLocations.DiskGeometry..], Geometry.Cylinders);
        d[FieldLocations.DiskGeometry + 2] = Geometry.Heads;
        d[FieldLocations.DiskGeometry + 3] = Geometry.SectorsPerTrack;
        BinaryPrimitives.WriteUInt32BigEndian(d[FieldLocations.DiskType..], DiskType);
        BinaryPrimitives.WriteUInt32BigEndian(d[FieldLocations.Checksum..], Checksum);
        UniqueId.TryWriteBytes(d.Slice(FieldLocations.UniqueId, 16), bigEndian: true, out _);
        d[FieldLocations.SavedState] = SavedState;
    }

    /// <summary>The 512 footer bytes.</summary>
    public byte[] ToArray()
    {
        var bytes = new byte[Size];
        WriteTo(bytes);
        return bytes;
    }

    /// <summary>Reads a footer; false when the span is short, the cookie is not "conectix" or the checksum does not match.</summary>
    public static bool TryParse(ReadOnlySpan<byte> source, [NotNullWhen(true)] out VhdFooter? footer)
    {
        footer = null;
        if (source.Length < Size)
        {
            return false;
        }

        var s = source[..Size];
        if (BinaryPrimitives.ReadUInt64BigEndian(s[FieldLocations.Cookie..]) != CookieValue)
        {
            return false;
        }

        var stored = BinaryPrimitives.ReadUInt32BigEndian(s[FieldLocations.Checksum..]);
        if (stored != ComputeChecksum(s))
        {
            return false;
        }

        footer = new VhdFooter
        {
            Features = BinaryPrimitives.ReadUInt32BigEndian(s[FieldLocations.Features..]),
            FileFormatVersion = BinaryPrimitives.ReadUInt32BigEndian(s[FieldLocations.FileFormatVersion..]),
            DataOffset = BinaryPrimitives.ReadUInt64BigEndian(s[FieldLocations.DataOffset..]),
            TimeStamp = BinaryPrimitives.ReadUInt32BigEndian(s[FieldLocations.TimeStamp..]),
            CreatorApplication = BinaryPrimitives.ReadUInt32BigEndian(s[FieldLocations.CreatorApplication..]),
            CreatorVersion = BinaryPrimitives.ReadUInt32BigEndian(s[FieldLocations.CreatorVersion..]),
            CreatorHostOs = BinaryPrimitives.ReadUInt32BigEndian(s[FieldLocations.CreatorHostOs..]),
            OriginalSize = BinaryPrimitives.ReadUInt64BigEndian(s[FieldLocations.OriginalSize..]),
            CurrentSize = BinaryPrimitives.ReadUInt64BigEndian(s[FieldLocations.CurrentSize..]),
            Geometry = new VhdGeometry(
                BinaryPrimitives.ReadUInt16BigEndian(s[FieldLocations.DiskGeometry..]),
                s[FieldLocations.DiskGeometry + 2],
                s[FieldLocations.DiskGeometry + 3]),
            DiskType = BinaryPrimitives.ReadUInt32BigEndian(s[FieldLocations.DiskType..]),
            Checksum = stored,
            UniqueId = new Guid(s.Slice(FieldLocations.UniqueId, 16), bigEndian: true),
            SavedState = s[FieldLocations.SavedState],
        };
        return true;
    }

    /// <summary>Reads a footer.</summary>
    /// <exception cref="InvalidDataException">Short input, wrong cookie, or checksum mismatch (the message says which).</exception>
    public static VhdFooter Parse(ReadOnlySpan<byte> source)
    {
        if (TryParse(source, out var footer))
        {
            return footer;
        }

        if (source.Length < Size)
        {
            throw new InvalidDataException($"VHD footer truncated: {source.Length} bytes, expected {Size}.");
        }

        var cookie = BinaryPrimitives.ReadUInt64BigEndian(source);
        if (cookie != CookieValue)
        {
            throw new InvalidDataException($"Not a VHD footer: cookie 0x{cookie:X16}, expected \"conectix\".");
        }

        var stored = BinaryPrimitives.ReadUInt32BigEndian(source[FieldLocations.Checksum..]);
        throw new InvalidDataException(
            $"VHD footer checksum mismatch: stored 0x{stored:X8}, computed 0x{ComputeChecksum(source):X8}.");
    }
}
