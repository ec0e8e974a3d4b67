using System.Buffers.Binary;
using AddCowMount.Nbd.Protocol;
using AddCowMount.Nbd.Tests.Support;

namespace AddCowMount.Nbd.Tests;

[TestClass]
public sealed class TransmissionTests
{
    private const ushort Read = 0, Write = 1, Disc = 2, Flush = 3, Trim = 4, WriteZeroes = 6, BlockStatus = 7;
    private const uint EPerm = 1, EInval = 22, ENoSpc = 28, EOverflow = 75;

    [TestMethod]
    public async Task SimpleReplies_WriteThenRead_RoundTrips()
    {
        var export = new MemoryExport(1 << 20);
        (NbdTestClient client, _, _) = await NbdTestClient.OpenAsync(export, structured: false);
        await using (client)
        {
            byte[] data = Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray();
            await client.SendRequestAsync(Write, 1, 4097, 1000, payload: data);
            Assert.AreEqual((0u, 1UL), Strip(await client.ReadSimpleAsync()));
            await client.SendRequestAsync(Read, 2, 4097, 1000);
            (uint error, ulong cookie, byte[] back) = await client.ReadSimpleAsync(1000);
            Assert.AreEqual((0u, 2UL), (error, cookie));
            CollectionAssert.AreEqual(data, back);
            CollectionAssert.AreEqual(data, export.Disk.AsSpan(4097, 1000).ToArray());
        }
    }

    [TestMethod]
    public async Task BadRequests_GetTheSpecsErrors_AndTheConnectionGoesOn()
    {
        var export = new MemoryExport(64 * 1024);
        (NbdTestClient client, _, _) = await NbdTestClient.OpenAsync(export, structured: false);
        await using (client)
        {
            byte[] payload = new byte[4096];
            Array.Fill(payload, (byte)0xEE);
            await client.SendRequestAsync(Write, 1, 62 * 1024, 4096, payload: payload);
            Assert.AreEqual(ENoSpc, (await client.ReadSimpleAsync()).Error, "write past the end");
            await client.SendRequestAsync(Read, 2, 64 * 1024, 1);
            Assert.AreEqual(EInval, (await client.ReadSimpleAsync()).Error, "read past the end");
            await client.SendRequestAsync(Read, 3, ulong.MaxValue - 10, 512);
            Assert.AreEqual(EInval, (await client.ReadSimpleAsync()).Error, "offset + length overflows");
            await client.SendRequestAsync(Read, 4, 0, 33u << 20);
            Assert.AreEqual(EOverflow, (await client.ReadSimpleAsync()).Error, "read over 32 MiB");
            await client.SendRequestAsync(99, 5, 0, 0);
            Assert.AreEqual(EInval, (await client.ReadSimpleAsync()).Error, "unknown command");
            await client.SendRequestAsync(Write, 6, 0, 16, flags: 0x8, payload: new byte[16]);
            Assert.AreEqual(EInval, (await client.ReadSimpleAsync()).Error, "flag not for writes (REQ_ONE)");
            await client.SendRequestAsync(Flush, 7, 1, 0);
            Assert.AreEqual(EInval, (await client.ReadSimpleAsync()).Error, "flush with an offset");
            await client.SendRequestAsync(BlockStatus, 8, 0, 512);
            Assert.AreEqual(EInval, (await client.ReadSimpleAsync()).Error, "block status without structured replies");
            await client.SendRequestAsync(WriteZeroes, 9, 0, 512, flags: 0x10);
            Assert.AreEqual(EInval, (await client.ReadSimpleAsync()).Error, "FAST_ZERO was not offered");
            await client.SendRequestAsync(Trim, 10, 60 * 1024, 8192);
            Assert.AreEqual(EInval, (await client.ReadSimpleAsync()).Error, "trim past the end");

            // The refused write's payload was consumed: the stream is still in step.
            await client.SendRequestAsync(Read, 11, 60 * 1024, 4096);
            (uint error, ulong cookie, byte[] data) = await client.ReadSimpleAsync(4096);
            Assert.AreEqual((0u, 11UL), (error, cookie));
            Assert.IsTrue(data.AsSpan().IndexOfAnyExcept((byte)0) < 0, "nothing was written by the refused requests");
        }

        Assert.IsEmpty(export.Violations);
        Assert.AreEqual(0, export.Writes);
    }

    [TestMethod]
    public async Task ReadOnlyExport_RefusesWritesWithEperm()
    {
        var export = new MemoryExport(8192, readOnly: true);
        (NbdTestClient client, _, _) = await NbdTestClient.OpenAsync(export, structured: true);
        await using (client)
        {
            foreach ((ushort command, byte[]? payload) in new (ushort, byte[]?)[] { (Write, new byte[512]), (Trim, null), (WriteZeroes, null) })
            {
                await client.SendRequestAsync(command, command, 0, 512, payload: payload);
                Chunk chunk = await client.ReadChunkAsync();
                Assert.AreEqual((ushort)0x8001, chunk.Type, "error chunk");
                Assert.IsTrue(chunk.Done);
                Assert.AreEqual(EPerm, chunk.ErrorCode);
            }
        }

        Assert.IsEmpty(export.Violations);
    }

    [TestMethod]
    [DataRow(0x11111111u, 0u, DisplayName = "wrong request magic")]
    [DataRow(0x25609513u, 40u << 20, DisplayName = "write over 32 MiB")]
    public async Task UnframedRequest_Disconnects(uint magic, uint length)
    {
        var export = new MemoryExport(64 << 20);
        (NbdTestClient client, _, _) = await NbdTestClient.OpenAsync(export, structured: false);
        await using (client)
        {
            await client.SendRequestAsync(Write, 1, 0, length, magic: magic);
            Assert.IsTrue(await client.ClosedByServerAsync());
            Assert.AreEqual(NbdConnectionEnd.ProtocolError, await client.Server);
        }

        Assert.AreEqual(0, export.OpenSessions, "the session was closed");
    }

    [TestMethod]
    public async Task StructuredRead_IsOneOffsetDataChunk()
    {
        var export = new MemoryExport(8192);
        export.Disk.AsSpan(1024, 100).Fill(0x5A);
        (NbdTestClient client, ushort flags, _) = await NbdTestClient.OpenAsync(export, structured: true);
        await using (client)
        {
            Assert.AreNotEqual(0, flags & 0x80, "SEND_DF with structured replies");
            await client.SendRequestAsync(Read, 42, 1000, 200);
            Chunk chunk = await client.ReadChunkAsync();
            Assert.AreEqual((ushort)1, chunk.Type);
            Assert.IsTrue(chunk.Done);
            Assert.AreEqual(42UL, chunk.Cookie);
            Assert.AreEqual(1000UL, BinaryPrimitives.ReadUInt64BigEndian(chunk.Payload));
            CollectionAssert.AreEqual(export.Disk.AsSpan(1000, 200).ToArray(), chunk.Payload.AsSpan(8).ToArray());

            await client.SendRequestAsync(Flush, 43, 0, 0);
            Chunk done = await client.ReadChunkAsync();
            Assert.AreEqual(((ushort)0, 43UL, true), (done.Type, done.Cookie, done.Done), "NBD_REPLY_TYPE_NONE with DONE");
        }
    }

    [TestMethod]
    public async Task PipelinedRequests_RunConcurrently_AndRepliesMatchCookies()
    {
        var export = new MemoryExport(1 << 20);
        var gate = new TaskCompletionSource();
        export.Gates[0] = gate;
        (NbdTestClient client, _, _) = await NbdTestClient.OpenAsync(export, structured: false);
        await using (client)
        {
            await client.SendRequestAsync(Read, 100, 0, 4096);      // held at the gate
            for (ulong i = 1; i <= 20; i++)
            {
                await client.SendRequestAsync(Read, 100 + i, i * 4096, 4096);
            }

            var seen = new List<ulong>();
            for (int i = 0; i < 20; i++)
            {
                (uint error, ulong cookie, _) = await client.ReadSimpleAsync(4096);
                Assert.AreEqual(0u, error);
                seen.Add(cookie);
            }

            CollectionAssert.AreEquivalent(Enumerable.Range(101, 20).Select(i => (ulong)i).ToList(), seen, "later requests answered while the first waits");
            gate.SetResult();
            Assert.AreEqual(100UL, (await client.ReadSimpleAsync(4096)).Cookie);
        }
    }

    /// <summary>
    /// A burst of small and large writes and a flush in one send (the server takes them off one receive buffer, runs
    /// small writes on the reader and gathers replies): every request is answered exactly once, without error, and
    /// every byte reads back.
    /// </summary>
    [TestMethod]
    public async Task BurstOfPipelinedWrites_EachAnsweredOnce_AndReadBack()
    {
        const int size = 32 << 20;
        var export = new MemoryExport(size);
        (NbdTestClient client, _, _) = await NbdTestClient.OpenAsync(export, structured: false);
        await using (client)
        {
            var random = new Random(7);
            var expected = new byte[size];
            using var burst = new MemoryStream();
            const int writes = 120;
            for (ulong i = 0; i < writes; i++)
            {
                int length = i % 10 == 0 ? 200_000 : 4096;
                long offset = (long)i * 262_144; // apart: concurrent writes never overlap
                byte[] data = new byte[length];
                random.NextBytes(data);
                data.CopyTo(expected, offset);
                burst.Write(Request(Write, i, (ulong)offset, data));
            }

            burst.Write(Request(Flush, writes, 0, []));
            await client.SendAsync(burst.ToArray());

            var seen = new List<ulong>();
            for (int i = 0; i <= writes; i++)
            {
                (uint error, ulong cookie, _) = await client.ReadSimpleAsync();
                Assert.AreEqual(0u, error, $"cookie {cookie}");
                seen.Add(cookie);
            }

            CollectionAssert.AreEquivalent(Enumerable.Range(0, writes + 1).Select(i => (ulong)i).ToList(), seen, "each request answered once");
            for (int half = 0; half < 2; half++)
            {
                await client.SendRequestAsync(Read, 999, (ulong)(half * (size / 2)), size / 2);
                (uint readError, _, byte[] data) = await client.ReadSimpleAsync(size / 2);
                Assert.AreEqual(0u, readError);
                CollectionAssert.AreEqual(expected.AsSpan(half * (size / 2), size / 2).ToArray(), data);
            }
        }
    }

    /// <summary>One request as the wire carries it (header, then the payload of a write).</summary>
    private static byte[] Request(ushort command, ulong cookie, ulong offset, byte[] payload)
    {
        byte[] message = new byte[28 + (command == Write ? payload.Length : 0)];
        BinaryPrimitives.WriteUInt32BigEndian(message, 0x25609513);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(6), command);
        BinaryPrimitives.WriteUInt64BigEndian(message.AsSpan(8), cookie);
        BinaryPrimitives.WriteUInt64BigEndian(message.AsSpan(16), offset);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(24), (uint)payload.Length);
        if (command == Write)
        {
            payload.CopyTo(message.AsSpan(28));
        }

        return message;
    }

    [TestMethod]
    public async Task Disconnect_WaitsForInFlightRequests()
    {
        var export = new MemoryExport(1 << 20);
        var gate = new TaskCompletionSource();
        export.Gates[8192] = gate;
        (NbdTestClient client, _, _) = await NbdTestClient.OpenAsync(export, structured: false);
        await using (client)
        {
            await client.SendRequestAsync(Read, 1, 8192, 512);
            await client.SendRequestAsync(Disc, 2, 0, 0);
            await Task.Delay(100);
            Assert.IsFalse(client.Server.IsCompleted, "still serving the held read");
            gate.SetResult();
            Assert.AreEqual(1UL, (await client.ReadSimpleAsync(512)).Cookie, "the read is answered before the close");
            Assert.AreEqual(NbdConnectionEnd.Closed, await client.Server);
        }

        Assert.AreEqual(0, export.OpenSessions);
    }

    [TestMethod]
    public async Task Fua_FlushesAfterTheWrite_AndTrimIsAdvisory()
    {
        var export = new MemoryExport(8192);
        export.Disk.AsSpan().Fill(7);
        (NbdTestClient client, _, _) = await NbdTestClient.OpenAsync(export, structured: false);
        await using (client)
        {
            await client.SendRequestAsync(Write, 1, 0, 512, payload: new byte[512]);
            _ = await client.ReadSimpleAsync();
            Assert.AreEqual(0, export.Flushes);
            await client.SendRequestAsync(Write, 2, 0, 512, flags: 1, payload: new byte[512]);
            _ = await client.ReadSimpleAsync();
            Assert.AreEqual(1, export.Flushes, "FUA flushed");
            await client.SendRequestAsync(Trim, 3, 4096, 4096);
            Assert.AreEqual(0u, (await client.ReadSimpleAsync()).Error);
            Assert.IsTrue(export.Disk.AsSpan(4096).IndexOfAnyExcept((byte)7) < 0, "trim changed nothing");
            await client.SendRequestAsync(WriteZeroes, 4, 4096, 2048, flags: 1);
            Assert.AreEqual(0u, (await client.ReadSimpleAsync()).Error);
            Assert.IsTrue(export.Disk.AsSpan(4096, 2048).IndexOfAnyExcept((byte)0) < 0, "write zeroes zeroed");
            Assert.AreEqual(7, export.Disk[6144]);
            Assert.AreEqual(2, export.Flushes);
        }
    }

    [TestMethod]
    public async Task BlockStatus_ReportsBothContexts_AndRequestOneGivesOneDescriptor()
    {
        var export = new MemoryExport(64 * 1024);
        (NbdTestClient client, _, _) = await NbdTestClient.OpenAsync(export, structured: true, "base:allocation", "qemu:allocation-depth");
        await using (client)
        {
            await client.SendRequestAsync(Write, 1, 8192, 4096, payload: new byte[4096]);
            _ = await client.ReadChunkAsync();
            await client.SendRequestAsync(BlockStatus, 2, 0, 64 * 1024);
            Chunk first = await client.ReadChunkAsync();
            Chunk second = await client.ReadChunkAsync();
            Assert.IsFalse(first.Done);
            Assert.IsTrue(second.Done);
            var byContext = new[] { first, second }.ToDictionary(c => BinaryPrimitives.ReadUInt32BigEndian(c.Payload), Descriptors);
            CollectionAssert.AreEqual(new[] { (8192u, 3u), (4096u, 0u), (53248u, 3u) }, byContext[1], "base:allocation: hole+zero, data, hole+zero");
            CollectionAssert.AreEqual(new[] { (8192u, 0u), (4096u, 1u), (53248u, 0u) }, byContext[2], "allocation depth");

            await client.SendRequestAsync(BlockStatus, 3, 0, 64 * 1024, flags: 0x8);
            Assert.HasCount(1, Descriptors(await client.ReadChunkAsync()));
            Assert.HasCount(1, Descriptors(await client.ReadChunkAsync()));

            await client.SendRequestAsync(BlockStatus, 4, 60 * 1024, 8192);
            Assert.AreEqual(EInval, (await client.ReadChunkAsync()).ErrorCode, "block status past the end");
        }
    }

    private static (uint Length, uint Status)[] Descriptors(Chunk chunk)
    {
        Assert.AreEqual((ushort)5, chunk.Type, "NBD_REPLY_TYPE_BLOCK_STATUS");
        return Enumerable.Range(0, (chunk.Payload.Length - 4) / 8)
            .Select(i => (BinaryPrimitives.ReadUInt32BigEndian(chunk.Payload.AsSpan(4 + (i * 8))), BinaryPrimitives.ReadUInt32BigEndian(chunk.Payload.AsSpan(8 + (i * 8)))))
            .ToArray();
    }

    private static (uint, ulong) Strip((uint Error, ulong Cookie, byte[] _) reply) => (reply.Error, reply.Cookie);
}
