using System.Buffers.Binary;
using System.Text;
using AddCowMount.Nbd.Protocol;
using AddCowMount.Nbd.Tests.Support;

namespace AddCowMount.Nbd.Tests;

[TestClass]
public sealed class NegotiationTests
{
    private const uint ErrUnsup = 0x80000001, ErrInvalid = 0x80000003, ErrTlsReqd = 0x80000005, ErrUnknown = 0x80000006;

    [TestMethod]
    public async Task Go_OnTheDefaultName_ReportsSizeFlagsAndBlockSizes()
    {
        var export = new MemoryExport(1 << 20, name: "vm1");
        await using NbdTestClient client = await NbdTestClient.HandshakeAsync(export);
        List<OptionReply> replies = await client.OptionAsync(7, NbdTestClient.InfoPayload("", 1, 3));

        Assert.AreEqual(1u, replies[^1].Type, "ACK last");
        OptionReply info = replies.Single(r => r.Type == 3 && BinaryPrimitives.ReadUInt16BigEndian(r.Payload) == 0);
        Assert.AreEqual(1UL << 20, BinaryPrimitives.ReadUInt64BigEndian(info.Payload.AsSpan(2)));
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(info.Payload.AsSpan(10));
        Assert.AreEqual(0x1 | 0x4 | 0x8 | 0x20 | 0x40 | 0x100, flags, "HAS_FLAGS, SEND_FLUSH, SEND_FUA, SEND_TRIM, SEND_WRITE_ZEROES, CAN_MULTI_CONN; not READ_ONLY");
        OptionReply name = replies.Single(r => r.Type == 3 && BinaryPrimitives.ReadUInt16BigEndian(r.Payload) == 1);
        Assert.AreEqual("vm1", Encoding.UTF8.GetString(name.Payload.AsSpan(2)));
        OptionReply block = replies.Single(r => r.Type == 3 && BinaryPrimitives.ReadUInt16BigEndian(r.Payload) == 3);
        Assert.AreEqual(1u, BinaryPrimitives.ReadUInt32BigEndian(block.Payload.AsSpan(2)));
        Assert.AreEqual(4096u, BinaryPrimitives.ReadUInt32BigEndian(block.Payload.AsSpan(6)));
        Assert.AreEqual(32u << 20, BinaryPrimitives.ReadUInt32BigEndian(block.Payload.AsSpan(10)));
    }

    [TestMethod]
    public async Task Go_ReadOnlyExport_SetsReadOnlyAndOffersNoTrimOrZeroes()
    {
        var export = new MemoryExport(4096, readOnly: true);
        await using NbdTestClient client = await NbdTestClient.HandshakeAsync(export);
        (ushort flags, _) = await client.GoAsync("disk");
        Assert.AreEqual(0x1 | 0x2 | 0x4 | 0x8 | 0x100, flags);
    }

    [TestMethod]
    public async Task UnknownOption_GetsErrUnsup_AndNegotiationGoesOn()
    {
        var export = new MemoryExport(4096);
        await using NbdTestClient client = await NbdTestClient.HandshakeAsync(export);
        Assert.AreEqual(ErrUnsup, (await client.OptionAsync(99, [1, 2, 3])).Single().Type);
        Assert.AreEqual(ErrUnsup, (await client.OptionAsync(11, [])).Single().Type, "extended headers are not offered");
        (_, long size) = await client.GoAsync("disk");
        Assert.AreEqual(4096, size);
    }

    [TestMethod]
    public async Task Go_UnknownName_GetsErrUnknown()
    {
        var export = new MemoryExport(4096);
        await using NbdTestClient client = await NbdTestClient.HandshakeAsync(export);
        Assert.AreEqual(ErrUnknown, (await client.OptionAsync(7, NbdTestClient.InfoPayload("other"))).Single().Type);
    }

    [TestMethod]
    [DataRow(new byte[] { 0, 0, 0, 5, (byte)'d' }, DisplayName = "name longer than the option")]
    [DataRow(new byte[] { 0, 0, 0, 0, 0, 2, 0, 1 }, DisplayName = "fewer info requests than counted")]
    [DataRow(new byte[] { 0, 0, 0, 1, 0, 0, 0 }, DisplayName = "NUL in the name")]
    public async Task Info_Malformed_GetsErrInvalid(byte[] payload)
    {
        var export = new MemoryExport(4096);
        await using NbdTestClient client = await NbdTestClient.HandshakeAsync(export);
        Assert.AreEqual(ErrInvalid, (await client.OptionAsync(6, payload)).Single().Type);
        (_, long size) = await client.GoAsync("disk");
        Assert.AreEqual(4096, size);
    }

    [TestMethod]
    public async Task List_NamesTheExport()
    {
        var export = new MemoryExport(4096, name: "vm1");
        await using NbdTestClient client = await NbdTestClient.HandshakeAsync(export);
        List<OptionReply> replies = await client.OptionAsync(3, []);
        Assert.HasCount(2, replies);
        Assert.AreEqual(2u, replies[0].Type, "NBD_REP_SERVER");
        Assert.AreEqual(3u, BinaryPrimitives.ReadUInt32BigEndian(replies[0].Payload));
        Assert.AreEqual("vm1", Encoding.UTF8.GetString(replies[0].Payload.AsSpan(4, 3)));
        Assert.AreEqual(ErrInvalid, (await client.OptionAsync(3, [1])).Single().Type, "LIST carries no data");
    }

    [TestMethod]
    public async Task ExportName_SendsSizeAndFlags_WithoutZeroesWhenAsked()
    {
        var export = new MemoryExport(8192);
        await using NbdTestClient client = await NbdTestClient.HandshakeAsync(export, clientFlags: 3);
        await client.SendOptionAsync(1, Encoding.UTF8.GetBytes("disk"));
        byte[] reply = await client.ReadAsync(10);
        Assert.AreEqual(8192UL, BinaryPrimitives.ReadUInt64BigEndian(reply));

        // Straight into transmission: a read works.
        await client.SendRequestAsync(0, 7, 0, 512);
        (uint error, ulong cookie, byte[] data) = await client.ReadSimpleAsync(512);
        Assert.AreEqual((0u, 7UL), (error, cookie));
        Assert.HasCount(512, data);
    }

    [TestMethod]
    public async Task ExportName_WithZeroes_Pads124Bytes()
    {
        var export = new MemoryExport(8192);
        await using NbdTestClient client = await NbdTestClient.HandshakeAsync(export, clientFlags: 1);
        await client.SendOptionAsync(1, []);
        byte[] reply = await client.ReadAsync(134);
        Assert.IsTrue(reply.AsSpan(10).IndexOfAnyExcept((byte)0) < 0);
        await client.SendRequestAsync(3, 1, 0, 0);
        Assert.AreEqual(0u, (await client.ReadSimpleAsync()).Error);
    }

    [TestMethod]
    public async Task ExportName_UnknownName_Disconnects()
    {
        var export = new MemoryExport(4096);
        await using NbdTestClient client = await NbdTestClient.HandshakeAsync(export);
        await client.SendOptionAsync(1, Encoding.UTF8.GetBytes("nope"));
        Assert.IsTrue(await client.ClosedByServerAsync());
        Assert.AreEqual(NbdConnectionEnd.ProtocolError, await client.Server);
    }

    [TestMethod]
    public async Task MetaContexts_NeedStructuredReplies_ThenGetTheirIds()
    {
        var export = new MemoryExport(4096);
        await using NbdTestClient client = await NbdTestClient.HandshakeAsync(export);
        byte[] query = NbdTestClient.MetaContextPayload("disk", "base:allocation", "qemu:allocation-depth", "other:thing");
        Assert.AreEqual(ErrInvalid, (await client.OptionAsync(10, query)).Single().Type, "SET before STRUCTURED_REPLY");

        List<OptionReply> listed = await client.OptionAsync(9, NbdTestClient.MetaContextPayload("disk"));
        CollectionAssert.AreEqual(new[] { "base:allocation", "qemu:allocation-depth" },
            listed.Where(r => r.Type == 4).Select(r => Encoding.UTF8.GetString(r.Payload.AsSpan(4))).ToArray(), "LIST with no query: all");
        List<OptionReply> qemu = await client.OptionAsync(9, NbdTestClient.MetaContextPayload("disk", "qemu:"));
        Assert.AreEqual("qemu:allocation-depth", Encoding.UTF8.GetString(qemu.Single(r => r.Type == 4).Payload.AsSpan(4)));

        Assert.AreEqual(1u, (await client.OptionAsync(8, [])).Single().Type);
        Assert.AreEqual(ErrInvalid, (await client.OptionAsync(8, [])).Single().Type, "structured replies twice");
        List<OptionReply> set = await client.OptionAsync(10, query);
        var ids = set.Where(r => r.Type == 4).ToDictionary(r => Encoding.UTF8.GetString(r.Payload.AsSpan(4)), r => BinaryPrimitives.ReadUInt32BigEndian(r.Payload));
        Assert.HasCount(2, ids, "the unknown context is left out");
        Assert.AreNotEqual(ids["base:allocation"], ids["qemu:allocation-depth"]);
        Assert.AreEqual(ErrUnknown, (await client.OptionAsync(10, NbdTestClient.MetaContextPayload("nope", "base:allocation"))).Single().Type);
        Assert.AreEqual(ErrInvalid, (await client.OptionAsync(10, [0, 0, 0, 4, (byte)'d'])).Single().Type);
    }

    [TestMethod]
    public async Task TlsRequired_OptionsBeforeStartTls_AreRefused_AndExportNameDisconnects()
    {
        var export = new MemoryExport(4096);
        var options = new NbdConnectionOptions { StartTls = (s, _) => Task.FromResult(s) };
        await using (NbdTestClient client = await NbdTestClient.HandshakeAsync(export, options))
        {
            Assert.AreEqual(ErrTlsReqd, (await client.OptionAsync(7, NbdTestClient.InfoPayload("disk"))).Single().Type);
            Assert.AreEqual(ErrTlsReqd, (await client.OptionAsync(3, [])).Single().Type);
            Assert.AreEqual(ErrTlsReqd, (await client.OptionAsync(8, [])).Single().Type);
            Assert.AreEqual(ErrInvalid, (await client.OptionAsync(5, [1])).Single().Type, "STARTTLS carries no data");
            Assert.AreEqual(1u, (await client.OptionAsync(5, [])).Single().Type, "STARTTLS acknowledged");

            // (The identity "upgrade" keeps the test in plain bytes.) After TLS, options work.
            Assert.AreEqual(ErrInvalid, (await client.OptionAsync(5, [])).Single().Type, "STARTTLS twice");
            (_, long size) = await client.GoAsync("disk");
            Assert.AreEqual(4096, size);
        }

        await using NbdTestClient other = await NbdTestClient.HandshakeAsync(export, options);
        await other.SendOptionAsync(1, Encoding.UTF8.GetBytes("disk"));
        Assert.IsTrue(await other.ClosedByServerAsync());
        Assert.AreEqual(NbdConnectionEnd.ProtocolError, await other.Server);
    }

    [TestMethod]
    public async Task StartTls_WithoutTlsConfigured_IsRefusedByPolicy()
    {
        var export = new MemoryExport(4096);
        await using NbdTestClient client = await NbdTestClient.HandshakeAsync(export);
        Assert.AreEqual(0x80000002u, (await client.OptionAsync(5, [])).Single().Type);
    }

    [TestMethod]
    public async Task Abort_IsAcknowledged_AndEndsTheConnection()
    {
        var export = new MemoryExport(4096);
        await using NbdTestClient client = await NbdTestClient.HandshakeAsync(export);
        Assert.AreEqual(1u, (await client.OptionAsync(2, [])).Single().Type);
        Assert.AreEqual(NbdConnectionEnd.Aborted, await client.Server);
        Assert.AreEqual(0, export.OpenSessions);
    }

    [TestMethod]
    [DataRow(0x1122334455667788UL, 0u, DisplayName = "wrong option magic")]
    [DataRow(0x25609513_00000000UL, 0u, DisplayName = "a request before the handshake ended")]
    [DataRow(0x49484156454F5054UL, 1u << 20, DisplayName = "oversize option")]
    public async Task UnframedOption_Disconnects(ulong magic, uint length)
    {
        var export = new MemoryExport(4096);
        await using NbdTestClient client = await NbdTestClient.HandshakeAsync(export);
        byte[] header = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(header, magic);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(8), 7);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(12), length);
        await client.SendAsync(header);
        Assert.IsTrue(await client.ClosedByServerAsync());
        Assert.AreEqual(NbdConnectionEnd.ProtocolError, await client.Server);
    }

    [TestMethod]
    public async Task UnknownClientFlags_Disconnect()
    {
        var export = new MemoryExport(4096);
        await using NbdTestClient client = await NbdTestClient.HandshakeAsync(export, clientFlags: 0x80);
        Assert.IsTrue(await client.ClosedByServerAsync());
        Assert.AreEqual(NbdConnectionEnd.ProtocolError, await client.Server);
    }

    [TestMethod]
    public async Task SlowHandshake_IsCutOff()
    {
        var export = new MemoryExport(4096);
        await using NbdTestClient client = NbdTestClient.Connect(export, new NbdConnectionOptions { HandshakeTimeout = TimeSpan.FromMilliseconds(200) });
        _ = await client.ReadAsync(18);
        Assert.AreEqual(NbdConnectionEnd.HandshakeTimeout, await client.Server.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
