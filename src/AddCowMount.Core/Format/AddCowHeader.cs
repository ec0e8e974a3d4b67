using System.Buffers.Binary;
using System.Text;

namespace AddCowMount.Core.Format;

/// <summary>
/// The 2068-byte packed big-endian header of the seed's <c>AddCowHeader</c> (block/add-cow.c L12-18).
/// Immutable; <see cref="Parse"/> validates every field, <see cref="WriteTo"/> writes deterministic bytes.
/// </summary>
public sealed record AddCowHeader(string BackingFile, string ImageFile, ulong Size)
{
    public const ulong Magic = 0x4144445F434F57FF; // "ADD_COW\xff"
    public const uint CurrentVersion = 1;
    public const int SectorSize = 512;

    public static class FieldLengths
    {
        public const int Magic = 8;
        public const int Version = 4;
        public const int FileName = 1024; // ADD_COW_FILE_LEN
        public const int Size = 8;
    }

    public static class FieldLocations
    {
        public const int Magic = 0;
        public const int Version = Magic + FieldLengths.Magic;              // 8
        public const int BackingFile = Version + FieldLengths.Version;      // 12
        public const int ImageFile = BackingFile + FieldLengths.FileName;   // 1036
        public const int Size = ImageFile + FieldLengths.FileName;          // 2060
    }

    /// <summary>Header length; the bitmap starts right after it.</summary>
    public const int Length = FieldLocations.Size + FieldLengths.Size; // 2068

    /// <summary>Largest virtual size accepted: keeps every derived offset inside a long.</summary>
    public const ulong MaxSize = 1UL << 60;

    /// <summary>Number of whole sectors the disk has (the seed rounds a size down: total_sectors = size / 512).</summary>
    public long SectorCount => (long)(Size / SectorSize);

    /// <summary>Bytes of bitmap: one bit per sector.</summary>
    public long BitmapLength => (SectorCount + 7) / 8;

    /// <summary>The virtual disk length in bytes (whole sectors).</summary>
    public long DiskLength => SectorCount * SectorSize;

    public static bool HasMagic(ReadOnlySpan<byte> bytes) =>
        bytes.Length >= FieldLengths.Magic && BinaryPrimitives.ReadUInt64BigEndian(bytes) == Magic;

    public static AddCowHeader Parse(ReadOnlySpan<byte> bytes, string path)
    {
        if (bytes.Length < Length)
        {
            throw new AddCowException(AddCowError.TruncatedHeader, path,
                $"{path}: truncated add-cow header: {bytes.Length} bytes, expected {Length}");
        }

        ulong magic = BinaryPrimitives.ReadUInt64BigEndian(bytes[FieldLocations.Magic..]);
        if (magic != Magic)
        {
            throw new AddCowException(AddCowError.BadMagic, path,
                $"{path}: not an add-cow image (magic 0x{magic:x16}, expected 0x{Magic:x16}){DescribeOtherFormat(bytes)}");
        }

        uint version = BinaryPrimitives.ReadUInt32BigEndian(bytes[FieldLocations.Version..]);
        if (version != CurrentVersion)
        {
            throw new AddCowException(AddCowError.UnsupportedVersion, path,
                $"{path}: unsupported add-cow version {version} (only version {CurrentVersion} exists)");
        }

        string backing = DecodeName(bytes.Slice(FieldLocations.BackingFile, FieldLengths.FileName), "backing_file", path);
        string image = DecodeName(bytes.Slice(FieldLocations.ImageFile, FieldLengths.FileName), "image_file", path);
        ulong size = BinaryPrimitives.ReadUInt64BigEndian(bytes[FieldLocations.Size..]);
        if (size > MaxSize)
        {
            throw new AddCowException(AddCowError.SizeOverflow, path,
                $"{path}: virtual size {size} is too large (limit {MaxSize} bytes)");
        }

        if (image.Length == 0)
        {
            throw new AddCowException(AddCowError.ImageFileNotNamed, path,
                $"{path}: header names no image file (image_file is empty)");
        }

        return new AddCowHeader(backing, image, size);
    }

    /// <summary>Writes the header; name padding is zeroed so the bytes are deterministic.</summary>
    public void WriteTo(Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, Length);
        Span<byte> header = destination[..Length];
        header.Clear();
        BinaryPrimitives.WriteUInt64BigEndian(header[FieldLocations.Magic..], Magic);
        BinaryPrimitives.WriteUInt32BigEndian(header[FieldLocations.Version..], CurrentVersion);
        EncodeName(BackingFile, header.Slice(FieldLocations.BackingFile, FieldLengths.FileName), "backing file");
        EncodeName(ImageFile, header.Slice(FieldLocations.ImageFile, FieldLengths.FileName), "image file");
        BinaryPrimitives.WriteUInt64BigEndian(header[FieldLocations.Size..], Size);
    }

    /// <summary>Checks that a name fits the 1023 bytes the format allows (the seed silently truncates).</summary>
    public static void ValidateName(string name, string what)
    {
        int count = Encoding.UTF8.GetByteCount(name);
        if (count > FieldLengths.FileName - 1)
        {
            throw new AddCowException(AddCowError.NameTooLong, name,
                $"{what} name is {count} bytes long; the add-cow header holds at most {FieldLengths.FileName - 1}");
        }

        if (name.Contains('\0', StringComparison.Ordinal))
        {
            throw new AddCowException(AddCowError.InvalidArgument, name, $"{what} name contains a NUL character");
        }
    }

    /// <summary>Names are NUL-terminated char[1024]; no NUL is corrupt input. Bytes are decoded as UTF-8.</summary>
    private static string DecodeName(ReadOnlySpan<byte> field, string fieldName, string path)
    {
        int end = field.IndexOf((byte)0);
        if (end < 0)
        {
            throw new AddCowException(AddCowError.NameNotTerminated, path,
                $"{path}: header field {fieldName} has no terminating NUL within {FieldLengths.FileName} bytes");
        }

        return Encoding.UTF8.GetString(field[..end]);
    }

    private static void EncodeName(string name, Span<byte> field, string what)
    {
        ValidateName(name, what);
        Encoding.UTF8.GetBytes(name, field);
    }

    /// <summary>Says what a wrong file is, as System.Formats.Tar does for a gzip archive.</summary>
    internal static string DescribeOtherFormat(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(bytes) == 0x514649FB) // "QFI\xfb"
        {
            return "; it looks like a qcow2 image";
        }

        if (bytes.StartsWith("conectix"u8))
        {
            return "; it looks like a VHD image";
        }

        if (bytes.StartsWith("vhdxfile"u8))
        {
            return "; it looks like a VHDX image";
        }

        if (bytes.StartsWith("KDMV"u8) || bytes.StartsWith("# Disk DescriptorFile"u8))
        {
            return "; it looks like a VMDK image";
        }

        return string.Empty;
    }
}
