using System.Buffers.Binary;
using System.Text;
using AddCowMount.Nbd.Export;
using AddCowMount.Nbd.Protocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace AddCowMount.Nbd.Tests.Support;

internal sealed record OptionReply(uint Option, uint Type, byte[] Payload)
{
    public bool IsError => (Type & 0x80000000) != 0;
}

internal sealed record Chunk(ushort Flags, ushort Type, ulong Cookie, byte[] Payload)
{
    public bool Done => (Flags & 1) != 0;

    public uint ErrorCode => BinaryPrimitives.ReadUInt32BigEndian(Payload);
}

/// <summary>A deliberately literal NBD client written from the spec, over an in-memory connection to the server under test.</summary>
internal sealed class NbdTestClient : IAsyncDisposable
{
    private readonly ChannelStream _stream;

    private NbdTestClient(ChannelStream stream, Task<NbdConnectionEnd> server)
    {
        _stream = stream;
        Server = server;
    }

    /// <summary>The server's outcome for this connection.</summary>
    public Task<NbdConnectionEnd> Server { get; }

    public static NbdTestClient Connect(INbdExport export, NbdConnectionOptions? options = null, CancellationToken shutdown = default)
    {
        (ChannelStream client, ChannelStream server) = ChannelStream.CreatePair();
        Task<NbdConnectionEnd> serving = Task.Run(() => NbdConnection.ServeAsync(server, export, options ?? new NbdConnectionOptions(),
            NullLogger.Instance, "test", shutdown));
        return new NbdTestClient(client, serving);
    }

    /// <summary>Greeting checked, client flags sent (fixed newstyle, no zeroes).</summary>
    public static async Task<NbdTestClient> HandshakeAsync(INbdExport export, NbdConnectionOptions? options = null, uint clientFlags = 3)
    {
        NbdTestClient client = Connect(export, options);
        byte[] greeting = await client.ReadAsync(18);
        Assert.AreEqual(0x4e42444d41474943UL, BinaryPrimitives.ReadUInt64BigEndian(greeting), "NBDMAGIC");
        Assert.AreEqual(0x49484156454F5054UL, BinaryPrimitives.ReadUInt64BigEndian(greeting.AsSpan(8)), "IHAVEOPT");
        Assert.AreEqual(3, BinaryPrimitives.ReadUInt16BigEndian(greeting.AsSpan(16)), "fixed newstyle + no zeroes");
        await client.SendAsync(BigEndian(clientFlags));
        return client;
    }

    /// <summary>Structured replies (optional), the given meta contexts, then GO on the name; returns the export's flags.</summary>
    public static async Task<(NbdTestClient Client, ushort Flags, long Size)> OpenAsync(INbdExport export, bool structured, params string[] contexts)
    {
        NbdTestClient client = await HandshakeAsync(export);
        if (structured)
        {
            Assert.AreEqual(1u, (await client.OptionAsync(8, [])).Single().Type);
        }

        if (contexts.Length > 0)
        {
            List<OptionReply> set = await client.OptionAsync(10, MetaContextPayload(export.Name, contexts));
            Assert.AreEqual(1u, set[^1].Type, "ACK");
        }

        (ushort flags, long size) = await client.GoAsync(export.Name);
        return (client, flags, size);
    }

    public async Task<(ushort Flags, long Size)> GoAsync(string name)
    {
        List<OptionReply> replies = await OptionAsync(7, InfoPayload(name));
        Assert.AreEqual(1u, replies[^1].Type, $"GO acknowledged (got {replies[^1].Type:x8}: {Encoding.UTF8.GetString(replies[^1].Payload)})");
        OptionReply export = replies.First(r => r.Type == 3 && BinaryPrimitives.ReadUInt16BigEndian(r.Payload) == 0);
        return (BinaryPrimitives.ReadUInt16BigEndian(export.Payload.AsSpan(10)), (long)BinaryPrimitives.ReadUInt64BigEndian(export.Payload.AsSpan(2)));
    }

    public static byte[] InfoPayload(string name, params ushort[] infos)
    {
        byte[] text = Encoding.UTF8.GetBytes(name);
        var payload = new List<byte>();
        payload.AddRange(BigEndian((uint)text.Length));
        payload.AddRange(text);
        payload.AddRange(BigEndian16((ushort)infos.Length));
        foreach (ushort info in infos)
        {
            payload.AddRange(BigEndian16(info));
        }

        return [.. payload];
    }

    public static byte[] MetaContextPayload(string name, params string[] queries)
    {
        byte[] text = Encoding.UTF8.GetBytes(name);
        var payload = new List<byte>();
        payload.AddRange(BigEndian((uint)text.Length));
        payload.AddRange(text);
        payload.AddRange(BigEndian((uint)queries.Length));
        foreach (string query in queries)
        {
            byte[] q = Encoding.UTF8.GetBytes(query);
            payload.AddRange(BigEndian((uint)q.Length));
            payload.AddRange(q);
        }

        return [.. payload];
    }

    public async Task SendOptionAsync(uint option, byte[] payload, ulong magic = 0x49484156454F5054)
    {
        byte[] message = new byte[16 + payload.Length];
        BinaryPrimitives.WriteUInt64BigEndian(message, magic);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(8), option);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(12), (uint)payload.Length);
        payload.CopyTo(message.AsSpan(16));
        await SendAsync(message);
    }

    /// <summary>Sends an option and reads replies up to and including the final one (ACK or an error).</summary>
    public async Task<List<OptionReply>> OptionAsync(uint option, byte[] payload)
    {
        await SendOptionAsync(option, payload);
        var replies = new List<OptionReply>();
        while (true)
        {
            OptionReply reply = await ReadOptionReplyAsync();
            Assert.AreEqual(option, reply.Option, "reply names the option");
            replies.Add(reply);
            if (reply.Type == 1 || reply.IsError)
            {
                return replies;
            }
        }
    }

    public async Task<OptionReply> ReadOptionReplyAsync()
    {
        byte[] header = await ReadAsync(20);
        Assert.AreEqual(0x3e889045565a9UL, BinaryPrimitives.ReadUInt64BigEndian(header), "option reply magic");
        uint length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16));
        return new OptionReply(BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8)), BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12)), await ReadAsync((int)length));
    }

    public Task SendRequestAsync(ushort command, ulong cookie, ulong offset, uint length, ushort flags = 0, byte[]? payload = null, uint magic = 0x25609513)
    {
        byte[] message = new byte[28 + (payload?.Length ?? 0)];
        BinaryPrimitives.WriteUInt32BigEndian(message, magic);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(4), flags);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(6), command);
        BinaryPrimitives.WriteUInt64BigEndian(message.AsSpan(8), cookie);
        BinaryPrimitives.WriteUInt64BigEndian(message.AsSpan(16), offset);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(24), length);
        payload?.CopyTo(message.AsSpan(28));
        return SendAsync(message);
    }

    /// <summary>A simple reply; <paramref name="dataLength"/> bytes follow it on success of a read.</summary>
    public async Task<(uint Error, ulong Cookie, byte[] Data)> ReadSimpleAsync(int dataLength = 0)
    {
        byte[] header = await ReadAsync(16);
        Assert.AreEqual(0x67446698u, BinaryPrimitives.ReadUInt32BigEndian(header), "simple reply magic");
        uint error = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
        return (error, BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(8)), error == 0 ? await ReadAsync(dataLength) : []);
    }

    public async Task<Chunk> ReadChunkAsync()
    {
        byte[] header = await ReadAsync(20);
        Assert.AreEqual(0x668e33efu, BinaryPrimitives.ReadUInt32BigEndian(header), "structured reply magic");
        uint length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16));
        return new Chunk(BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(4)), BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(6)),
            BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(8)), await ReadAsync((int)length));
    }

    public async Task SendAsync(byte[] data) => await _stream.WriteAsync(data);

    public async Task<byte[]> ReadAsync(int length)
    {
        byte[] data = new byte[length];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _stream.ReadExactlyAsync(data, timeout.Token);
        return data;
    }

    /// <summary>True when the server closed its end (EOF) within the timeout.</summary>
    public async Task<bool> ClosedByServerAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        byte[] one = new byte[1];
        return await _stream.ReadAsync(one, timeout.Token) == 0;
    }

    public static byte[] BigEndian(uint value)
    {
        byte[] b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        return b;
    }

    public static byte[] BigEndian16(ushort value)
    {
        byte[] b = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(b, value);
        return b;
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        await Server.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
