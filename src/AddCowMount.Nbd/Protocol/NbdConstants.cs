namespace AddCowMount.Nbd.Protocol;

/// <summary>Magic numbers of the NBD protocol (doc/proto.md of NetworkBlockDevice/nbd), all sent big-endian.</summary>
internal static class NbdMagic
{
    /// <summary>"NBDMAGIC": the first 8 bytes the server sends.</summary>
    public const ulong InitPassword = 0x4e42444d41474943;

    /// <summary>"IHAVEOPT": newstyle negotiation, and the start of every option the client sends.</summary>
    public const ulong OptionMagic = 0x49484156454F5054;

    public const ulong OptionReply = 0x3e889045565a9;

    public const uint Request = 0x25609513;

    public const uint SimpleReply = 0x67446698;

    public const uint StructuredReply = 0x668e33ef;
}

/// <summary>Handshake flags (server, u16) and client flags (u32).</summary>
[Flags]
internal enum HandshakeFlags : ushort
{
    None = 0,
    FixedNewstyle = 1 << 0,
    NoZeroes = 1 << 1,
}

/// <summary>Options of the negotiation phase.</summary>
internal enum NbdOption : uint
{
    ExportName = 1,
    Abort = 2,
    List = 3,
    PeekExport = 4,
    StartTls = 5,
    Info = 6,
    Go = 7,
    StructuredReply = 8,
    ListMetaContext = 9,
    SetMetaContext = 10,
    ExtendedHeaders = 11,
}

/// <summary>Option reply types; errors have bit 31 set.</summary>
internal enum NbdReply : uint
{
    Ack = 1,
    Server = 2,
    Info = 3,
    MetaContext = 4,
    ErrUnsupported = (1u << 31) + 1,
    ErrPolicy = (1u << 31) + 2,
    ErrInvalid = (1u << 31) + 3,
    ErrPlatform = (1u << 31) + 4,
    ErrTlsRequired = (1u << 31) + 5,
    ErrUnknown = (1u << 31) + 6,
    ErrShutdown = (1u << 31) + 7,
    ErrBlockSizeRequired = (1u << 31) + 8,
    ErrTooBig = (1u << 31) + 9,
}

/// <summary>Information types of NBD_OPT_INFO / NBD_OPT_GO.</summary>
internal enum NbdInfo : ushort
{
    Export = 0,
    Name = 1,
    Description = 2,
    BlockSize = 3,
}

/// <summary>Transmission flags sent with the export (u16).</summary>
[Flags]
internal enum TransmissionFlags : ushort
{
    None = 0,
    HasFlags = 1 << 0,
    ReadOnly = 1 << 1,
    SendFlush = 1 << 2,
    SendFua = 1 << 3,
    Rotational = 1 << 4,
    SendTrim = 1 << 5,
    SendWriteZeroes = 1 << 6,
    SendDf = 1 << 7,
    CanMultiConn = 1 << 8,
}

/// <summary>Commands of the transmission phase.</summary>
internal enum NbdCommand : ushort
{
    Read = 0,
    Write = 1,
    Disconnect = 2,
    Flush = 3,
    Trim = 4,
    Cache = 5,
    WriteZeroes = 6,
    BlockStatus = 7,
}

/// <summary>Command flags (u16).</summary>
[Flags]
internal enum CommandFlags : ushort
{
    None = 0,
    Fua = 1 << 0,
    NoHole = 1 << 1,
    DontFragment = 1 << 2,
    RequestOne = 1 << 3,
    FastZero = 1 << 4,
}

/// <summary>Structured reply chunk types.</summary>
internal enum ChunkType : ushort
{
    None = 0,
    OffsetData = 1,
    OffsetHole = 2,
    BlockStatus = 5,
    Error = (1 << 15) + 1,
}

/// <summary>Sizes and limits.</summary>
internal static class NbdLimits
{
    public const int RequestHeaderSize = 28;
    public const int SimpleReplySize = 16;
    public const int StructuredReplyHeaderSize = 20;
    public const int OptionHeaderSize = 16;

    /// <summary>Largest READ/WRITE payload, as common servers (qemu-nbd, nbdkit) cap it.</summary>
    public const int MaxPayload = 32 << 20;

    /// <summary>Largest option the negotiation accepts (names and queries are at most 4096 bytes each).</summary>
    public const int MaxOptionLength = 64 << 10;

    /// <summary>Strings (export names, context names) may not exceed this.</summary>
    public const int MaxString = 4096;

    public const int PreferredBlockSize = 4096;

    /// <summary>Most descriptors one BLOCK_STATUS chunk carries; the client asks again for the rest.</summary>
    public const int MaxDescriptors = 16 * 1024;
}
