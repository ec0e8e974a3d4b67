using System.Buffers.Binary;
using System.Text;
using AddCowMount.Nbd.Export;

namespace AddCowMount.Nbd.Protocol;

/// <summary>What the handshake settled: the stream to go on with (TLS after STARTTLS) and the transmission's features.</summary>
internal sealed record NegotiationResult(Stream Stream, bool StructuredReplies, IReadOnlyList<MetaContext> Contexts);

/// <summary>
/// The fixed newstyle handshake, server side: greeting, client flags, then options until EXPORT_NAME or a
/// successful GO (or ABORT). Every option is answered as the spec says; what cannot be answered (wrong magic,
/// oversize option, unknown client flags, EXPORT_NAME of an unknown export or before TLS) closes the
/// connection through <see cref="NbdProtocolException"/>.
/// </summary>
internal sealed class NbdNegotiation(Stream stream, INbdExport export, NbdConnectionOptions options)
{
    private const HandshakeFlags ServerFlags = HandshakeFlags.FixedNewstyle | HandshakeFlags.NoZeroes;

    private Stream _stream = stream;
    private bool _tls;
    private bool _noZeroes;
    private bool _structured;
    private List<MetaContext> _contexts = [];

    private bool TlsRequired => options.StartTls is not null;

    /// <summary>Null when the client aborted.</summary>
    public async Task<NegotiationResult?> RunAsync(CancellationToken cancel)
    {
        byte[] greeting = new byte[18];
        BinaryPrimitives.WriteUInt64BigEndian(greeting, NbdMagic.InitPassword);
        BinaryPrimitives.WriteUInt64BigEndian(greeting.AsSpan(8), NbdMagic.OptionMagic);
        BinaryPrimitives.WriteUInt16BigEndian(greeting.AsSpan(16), (ushort)ServerFlags);
        await _stream.WriteAsync(greeting, cancel).ConfigureAwait(false);
        await _stream.FlushAsync(cancel).ConfigureAwait(false);

        byte[] word = new byte[4];
        await _stream.ReadExactlyAsync(word, cancel).ConfigureAwait(false);
        uint clientFlags = BinaryPrimitives.ReadUInt32BigEndian(word);
        if ((clientFlags & ~(uint)ServerFlags) != 0)
        {
            throw new NbdProtocolException($"client flags 0x{clientFlags:x8} name bits this server does not know");
        }

        _noZeroes = (clientFlags & (uint)HandshakeFlags.NoZeroes) != 0;
        byte[] header = new byte[NbdLimits.OptionHeaderSize];
        while (true)
        {
            await _stream.ReadExactlyAsync(header, cancel).ConfigureAwait(false);
            ulong magic = BinaryPrimitives.ReadUInt64BigEndian(header);
            if (magic != NbdMagic.OptionMagic)
            {
                throw new NbdProtocolException($"option magic 0x{magic:x16} where IHAVEOPT belongs (a request before the handshake ended?)");
            }

            var option = (NbdOption)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8));
            uint length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12));
            if (length > NbdLimits.MaxOptionLength)
            {
                throw new NbdProtocolException($"option {(uint)option} of {length} bytes is over the {NbdLimits.MaxOptionLength}-byte limit");
            }

            byte[] data = new byte[length];
            await _stream.ReadExactlyAsync(data, cancel).ConfigureAwait(false);
            switch (await HandleAsync(option, data, cancel).ConfigureAwait(false))
            {
                case Outcome.Transmission:
                    return new NegotiationResult(_stream, _structured, _contexts);
                case Outcome.Abort:
                    return null;
            }
        }
    }

    private enum Outcome
    {
        Continue,
        Transmission,
        Abort,
    }

    private async Task<Outcome> HandleAsync(NbdOption option, byte[] data, CancellationToken cancel)
    {
        if (TlsRequired && !_tls && option is not (NbdOption.StartTls or NbdOption.Abort))
        {
            if (option == NbdOption.ExportName)
            {
                throw new NbdProtocolException("NBD_OPT_EXPORT_NAME before TLS was negotiated; this server requires TLS");
            }

            await ErrorAsync(option, NbdReply.ErrTlsRequired, "TLS is required: negotiate NBD_OPT_STARTTLS first", cancel).ConfigureAwait(false);
            return Outcome.Continue;
        }

        switch (option)
        {
            case NbdOption.ExportName:
                return await ExportNameAsync(data, cancel).ConfigureAwait(false);
            case NbdOption.Abort:
                await TryAckAbortAsync(cancel).ConfigureAwait(false);
                return Outcome.Abort;
            case NbdOption.List:
                await ListAsync(data, cancel).ConfigureAwait(false);
                return Outcome.Continue;
            case NbdOption.StartTls:
                await StartTlsAsync(data, cancel).ConfigureAwait(false);
                return Outcome.Continue;
            case NbdOption.Info:
            case NbdOption.Go:
                return await InfoAsync(option, data, cancel).ConfigureAwait(false);
            case NbdOption.StructuredReply:
                await StructuredReplyAsync(data, cancel).ConfigureAwait(false);
                return Outcome.Continue;
            case NbdOption.ListMetaContext:
            case NbdOption.SetMetaContext:
                await MetaContextAsync(option, data, cancel).ConfigureAwait(false);
                return Outcome.Continue;
            default:
                await ErrorAsync(option, NbdReply.ErrUnsupported, $"option {(uint)option} is not supported", cancel).ConfigureAwait(false);
                return Outcome.Continue;
        }
    }

    private bool IsOurs(string name) => name.Length == 0 || name == export.Name;

    private async Task<Outcome> ExportNameAsync(byte[] data, CancellationToken cancel)
    {
        var reader = new PayloadReader(data);
        if (!reader.TryReadString((uint)data.Length, out string name) || !IsOurs(name))
        {
            throw new NbdProtocolException($"NBD_OPT_EXPORT_NAME asks for an export this server does not have ({data.Length} bytes of name)");
        }

        byte[] reply = new byte[_noZeroes ? 10 : 134];
        BinaryPrimitives.WriteUInt64BigEndian(reply, (ulong)export.Size);
        BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(8), (ushort)TransmissionFlagsFor());
        await SendAsync(reply, cancel).ConfigureAwait(false);
        return Outcome.Transmission;
    }

    private async Task TryAckAbortAsync(CancellationToken cancel)
    {
        try
        {
            await ReplyAsync(NbdOption.Abort, NbdReply.Ack, [], cancel).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The client may close before reading the acknowledgement; that is allowed.
        }
    }

    private async Task ListAsync(byte[] data, CancellationToken cancel)
    {
        if (data.Length != 0)
        {
            await ErrorAsync(NbdOption.List, NbdReply.ErrInvalid, "NBD_OPT_LIST carries no data", cancel).ConfigureAwait(false);
            return;
        }

        byte[] name = Encoding.UTF8.GetBytes(export.Name);
        byte[] description = Encoding.UTF8.GetBytes(export.Description);
        byte[] payload = new byte[4 + name.Length + description.Length];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)name.Length);
        name.CopyTo(payload.AsSpan(4));
        description.CopyTo(payload.AsSpan(4 + name.Length));
        await ReplyAsync(NbdOption.List, NbdReply.Server, payload, cancel).ConfigureAwait(false);
        await ReplyAsync(NbdOption.List, NbdReply.Ack, [], cancel).ConfigureAwait(false);
    }

    private async Task StartTlsAsync(byte[] data, CancellationToken cancel)
    {
        if (options.StartTls is null)
        {
            await ErrorAsync(NbdOption.StartTls, NbdReply.ErrPolicy, "TLS is not configured on this server", cancel).ConfigureAwait(false);
            return;
        }

        if (_tls || data.Length != 0)
        {
            await ErrorAsync(NbdOption.StartTls, NbdReply.ErrInvalid, _tls ? "TLS is already active" : "NBD_OPT_STARTTLS carries no data", cancel).ConfigureAwait(false);
            return;
        }

        await ReplyAsync(NbdOption.StartTls, NbdReply.Ack, [], cancel).ConfigureAwait(false);
        _stream = await options.StartTls(_stream, cancel).ConfigureAwait(false);
        _tls = true;

        // The spec: everything negotiated before TLS is forgotten.
        _structured = false;
        _contexts = [];
    }

    private async Task<Outcome> InfoAsync(NbdOption option, byte[] data, CancellationToken cancel)
    {
        var reader = new PayloadReader(data);
        var requested = new List<NbdInfo>();
        ushort count = 0;
        bool valid = reader.TryReadString(out string name) && reader.TryReadUInt16(out count) && reader.Remaining == count * 2;
        for (int i = 0; valid && i < count; i++)
        {
            valid = reader.TryReadUInt16(out ushort info);
            requested.Add((NbdInfo)info);
        }

        if (!valid)
        {
            await ErrorAsync(option, NbdReply.ErrInvalid, "malformed NBD_OPT_INFO/GO request", cancel).ConfigureAwait(false);
            return Outcome.Continue;
        }

        if (!IsOurs(name))
        {
            await ErrorAsync(option, NbdReply.ErrUnknown, $"no export named '{name}'; this server has '{export.Name}'", cancel).ConfigureAwait(false);
            return Outcome.Continue;
        }

        byte[] exportInfo = new byte[12];
        BinaryPrimitives.WriteUInt16BigEndian(exportInfo, (ushort)NbdInfo.Export);
        BinaryPrimitives.WriteUInt64BigEndian(exportInfo.AsSpan(2), (ulong)export.Size);
        BinaryPrimitives.WriteUInt16BigEndian(exportInfo.AsSpan(10), (ushort)TransmissionFlagsFor());
        await ReplyAsync(option, NbdReply.Info, exportInfo, cancel).ConfigureAwait(false);
        if (requested.Contains(NbdInfo.Name))
        {
            await ReplyAsync(option, NbdReply.Info, InfoString(NbdInfo.Name, export.Name), cancel).ConfigureAwait(false);
        }

        if (requested.Contains(NbdInfo.Description))
        {
            await ReplyAsync(option, NbdReply.Info, InfoString(NbdInfo.Description, export.Description), cancel).ConfigureAwait(false);
        }

        // Like qemu-nbd, always: any byte alignment works (partial sectors are read-modify-written), 4 KiB is best, 32 MiB the most.
        byte[] blockSize = new byte[14];
        BinaryPrimitives.WriteUInt16BigEndian(blockSize, (ushort)NbdInfo.BlockSize);
        BinaryPrimitives.WriteUInt32BigEndian(blockSize.AsSpan(2), 1);
        BinaryPrimitives.WriteUInt32BigEndian(blockSize.AsSpan(6), NbdLimits.PreferredBlockSize);
        BinaryPrimitives.WriteUInt32BigEndian(blockSize.AsSpan(10), NbdLimits.MaxPayload);
        await ReplyAsync(option, NbdReply.Info, blockSize, cancel).ConfigureAwait(false);
        await ReplyAsync(option, NbdReply.Ack, [], cancel).ConfigureAwait(false);
        return option == NbdOption.Go ? Outcome.Transmission : Outcome.Continue;
    }

    private static byte[] InfoString(NbdInfo type, string value)
    {
        byte[] text = Encoding.UTF8.GetBytes(value);
        byte[] payload = new byte[2 + text.Length];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)type);
        text.CopyTo(payload.AsSpan(2));
        return payload;
    }

    private async Task StructuredReplyAsync(byte[] data, CancellationToken cancel)
    {
        if (data.Length != 0 || _structured)
        {
            await ErrorAsync(NbdOption.StructuredReply, NbdReply.ErrInvalid,
                _structured ? "structured replies are already negotiated" : "NBD_OPT_STRUCTURED_REPLY carries no data", cancel).ConfigureAwait(false);
            return;
        }

        _structured = true;
        await ReplyAsync(NbdOption.StructuredReply, NbdReply.Ack, [], cancel).ConfigureAwait(false);
    }

    private async Task MetaContextAsync(NbdOption option, byte[] data, CancellationToken cancel)
    {
        bool list = option == NbdOption.ListMetaContext;
        var reader = new PayloadReader(data);
        var queries = new List<string>();
        uint count = 0;
        bool valid = reader.TryReadString(out string name) && reader.TryReadUInt32(out count) && count <= (uint)reader.Remaining / 4;
        for (uint i = 0; valid && i < count; i++)
        {
            valid = reader.TryReadString(out string query);
            queries.Add(query);
        }

        if (!valid || reader.Remaining != 0)
        {
            await ErrorAsync(option, NbdReply.ErrInvalid, "malformed meta context request", cancel).ConfigureAwait(false);
            return;
        }

        if (!list && !_structured)
        {
            await ErrorAsync(option, NbdReply.ErrInvalid, "NBD_OPT_SET_META_CONTEXT needs structured replies first", cancel).ConfigureAwait(false);
            return;
        }

        if (!IsOurs(name))
        {
            await ErrorAsync(option, NbdReply.ErrUnknown, $"no export named '{name}'", cancel).ConfigureAwait(false);
            return;
        }

        List<MetaContext> matched = list && queries.Count == 0
            ? [MetaContext.BaseAllocation, MetaContext.AllocationDepth]
            : queries.SelectMany(q => MetaContexts.Match(q, list)).Distinct().ToList();
        foreach (MetaContext context in matched)
        {
            byte[] text = Encoding.UTF8.GetBytes(MetaContexts.NameOf(context));
            byte[] payload = new byte[4 + text.Length];
            BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)context);
            text.CopyTo(payload.AsSpan(4));
            await ReplyAsync(option, NbdReply.MetaContext, payload, cancel).ConfigureAwait(false);
        }

        if (!list)
        {
            _contexts = matched;
        }

        await ReplyAsync(option, NbdReply.Ack, [], cancel).ConfigureAwait(false);
    }

    private TransmissionFlags TransmissionFlagsFor()
    {
        TransmissionFlags flags = TransmissionFlags.HasFlags | TransmissionFlags.SendFlush | TransmissionFlags.SendFua;
        if (export.IsReadOnly)
        {
            flags |= TransmissionFlags.ReadOnly;
        }
        else
        {
            flags |= TransmissionFlags.SendTrim | TransmissionFlags.SendWriteZeroes;
        }

        if (_structured)
        {
            flags |= TransmissionFlags.SendDf;
        }

        if (export.CanMultiConn)
        {
            flags |= TransmissionFlags.CanMultiConn;
        }

        return flags;
    }

    private Task ErrorAsync(NbdOption option, NbdReply error, string message, CancellationToken cancel) =>
        ReplyAsync(option, error, Encoding.UTF8.GetBytes(message), cancel);

    private async Task ReplyAsync(NbdOption option, NbdReply reply, byte[] payload, CancellationToken cancel)
    {
        byte[] message = new byte[NbdReplies.OptionHeaderSize + payload.Length];
        NbdReplies.WriteOption(message, option, reply, payload.Length);
        payload.CopyTo(message.AsSpan(NbdReplies.OptionHeaderSize));
        await SendAsync(message, cancel).ConfigureAwait(false);
    }

    private async Task SendAsync(byte[] message, CancellationToken cancel)
    {
        await _stream.WriteAsync(message, cancel).ConfigureAwait(false);
        await _stream.FlushAsync(cancel).ConfigureAwait(false);
    }
}
