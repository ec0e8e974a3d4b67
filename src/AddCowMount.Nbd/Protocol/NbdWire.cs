using System.Buffers.Binary;
using System.Text;

namespace AddCowMount.Nbd.Protocol;

/// <summary>Malformed or hostile input the protocol answers by closing the connection (with a log line naming it).</summary>
public sealed class NbdProtocolException(string message) : Exception(message);

/// <summary>A request header as it arrives: 28 bytes, big-endian.</summary>
internal readonly record struct NbdRequest(CommandFlags Flags, NbdCommand Command, ulong Cookie, ulong Offset, uint Length)
{
    private static class FieldLocations
    {
        public const int Magic = 0;
        public const int Flags = 4;
        public const int Type = 6;
        public const int Cookie = 8;
        public const int Offset = 16;
        public const int Length = 24;
    }

    public static NbdRequest Parse(ReadOnlySpan<byte> header)
    {
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(header[FieldLocations.Magic..]);
        if (magic != NbdMagic.Request)
        {
            throw new NbdProtocolException($"request magic 0x{magic:x8} where 0x{NbdMagic.Request:x8} belongs");
        }

        return new NbdRequest(
            (CommandFlags)BinaryPrimitives.ReadUInt16BigEndian(header[FieldLocations.Flags..]),
            (NbdCommand)BinaryPrimitives.ReadUInt16BigEndian(header[FieldLocations.Type..]),
            BinaryPrimitives.ReadUInt64BigEndian(header[FieldLocations.Cookie..]),
            BinaryPrimitives.ReadUInt64BigEndian(header[FieldLocations.Offset..]),
            BinaryPrimitives.ReadUInt32BigEndian(header[FieldLocations.Length..]));
    }

    public void WriteTo(Span<byte> header)
    {
        BinaryPrimitives.WriteUInt32BigEndian(header[FieldLocations.Magic..], NbdMagic.Request);
        BinaryPrimitives.WriteUInt16BigEndian(header[FieldLocations.Flags..], (ushort)Flags);
        BinaryPrimitives.WriteUInt16BigEndian(header[FieldLocations.Type..], (ushort)Command);
        BinaryPrimitives.WriteUInt64BigEndian(header[FieldLocations.Cookie..], Cookie);
        BinaryPrimitives.WriteUInt64BigEndian(header[FieldLocations.Offset..], Offset);
        BinaryPrimitives.WriteUInt32BigEndian(header[FieldLocations.Length..], Length);
    }
}

/// <summary>Reply layouts, written in place in front of their payload.</summary>
internal static class NbdReplies
{
    /// <summary>Simple reply: magic u32, error u32, cookie u64.</summary>
    public static void WriteSimple(Span<byte> into, NbdError error, ulong cookie)
    {
        BinaryPrimitives.WriteUInt32BigEndian(into, NbdMagic.SimpleReply);
        BinaryPrimitives.WriteUInt32BigEndian(into[4..], (uint)error);
        BinaryPrimitives.WriteUInt64BigEndian(into[8..], cookie);
    }

    /// <summary>Structured reply chunk header: magic u32, flags u16, type u16, cookie u64, payload length u32.</summary>
    public static void WriteStructured(Span<byte> into, bool done, ChunkType type, ulong cookie, int length)
    {
        BinaryPrimitives.WriteUInt32BigEndian(into, NbdMagic.StructuredReply);
        BinaryPrimitives.WriteUInt16BigEndian(into[4..], done ? (ushort)1 : (ushort)0);
        BinaryPrimitives.WriteUInt16BigEndian(into[6..], (ushort)type);
        BinaryPrimitives.WriteUInt64BigEndian(into[8..], cookie);
        BinaryPrimitives.WriteUInt32BigEndian(into[16..], (uint)length);
    }

    /// <summary>Option reply header: magic u64, option u32, reply type u32, payload length u32.</summary>
    public static void WriteOption(Span<byte> into, NbdOption option, NbdReply reply, int length)
    {
        BinaryPrimitives.WriteUInt64BigEndian(into, NbdMagic.OptionReply);
        BinaryPrimitives.WriteUInt32BigEndian(into[8..], (uint)option);
        BinaryPrimitives.WriteUInt32BigEndian(into[12..], (uint)reply);
        BinaryPrimitives.WriteUInt32BigEndian(into[16..], (uint)length);
    }

    public const int OptionHeaderSize = 20;
}

/// <summary>A cursor over an option's payload that refuses to read past it.</summary>
internal ref struct PayloadReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _position;

    public readonly int Remaining => _data.Length - _position;

    public bool TryReadUInt32(out uint value)
    {
        value = 0;
        if (Remaining < 4)
        {
            return false;
        }

        value = BinaryPrimitives.ReadUInt32BigEndian(_data[_position..]);
        _position += 4;
        return true;
    }

    public bool TryReadUInt16(out ushort value)
    {
        value = 0;
        if (Remaining < 2)
        {
            return false;
        }

        value = BinaryPrimitives.ReadUInt16BigEndian(_data[_position..]);
        _position += 2;
        return true;
    }

    /// <summary>A u32-length-prefixed UTF-8 string of at most <see cref="NbdLimits.MaxString"/> bytes, without NUL.</summary>
    public bool TryReadString(out string value)
    {
        value = string.Empty;
        return TryReadUInt32(out uint length) && TryReadString(length, out value);
    }

    public bool TryReadString(uint length, out string value)
    {
        value = string.Empty;
        if (length > NbdLimits.MaxString || length > Remaining)
        {
            return false;
        }

        ReadOnlySpan<byte> bytes = _data.Slice(_position, (int)length);
        if (bytes.Contains((byte)0) || !System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return false;
        }

        value = Encoding.UTF8.GetString(bytes);
        _position += (int)length;
        return true;
    }
}
