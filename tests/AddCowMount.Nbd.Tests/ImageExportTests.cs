using System.Buffers.Binary;
using AddCowMount.Core.Alignment;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Volume;
using AddCowMount.Nbd.Export;
using AddCowMount.Nbd.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace AddCowMount.Nbd.Tests;

/// <summary>The export over a real add-cow chain (overlay -> add-cow middle -> raw base), through the volume's raw view.</summary>
[TestClass]
public sealed class ImageExportTests
{
    private const int Size = 1 << 20;

    [TestMethod]
    public async Task BlockStatus_TellsTheLayersApart()
    {
        using var dir = new TempDirectory();
        using Chain chain = Chain.Create(dir, baseLength: Size / 2);
        chain.Overlay.WriteSectors(8, new byte[4096]);
        (NbdTestClient client, _, long size) = await NbdTestClient.OpenAsync(chain.Export, structured: true, "base:allocation", "qemu:allocation-depth");
        await using (client)
        {
            Assert.AreEqual(Size, size);
            await client.SendRequestAsync(7, 1, 0, Size);
            var replies = new[] { await client.ReadChunkAsync(), await client.ReadChunkAsync() }
                .ToDictionary(c => BinaryPrimitives.ReadUInt32BigEndian(c.Payload), Descriptors);

            // Overlay: sectors 8..15. Middle add-cow: sectors 64..127. Raw base: the first half. Past it: nothing.
            CollectionAssert.AreEqual(new[]
            {
                (4096u, 3u), (4096u, 1u), (24576u, 3u), (32768u, 2u), (Size / 2u - 65536u, 3u), (Size / 2u, 0u),
            }, replies[2], "qemu:allocation-depth");
            CollectionAssert.AreEqual(new[] { (Size / 2u, 0u), (Size / 2u, 3u) }, replies[1], "base:allocation: data, then hole+zero past the base");
        }
    }

    [TestMethod]
    public async Task WriteZeroes_ZeroesBackingData_AndLeavesUnbackedRangesUnallocated()
    {
        using var dir = new TempDirectory();
        using Chain chain = Chain.Create(dir, baseLength: Size / 2);
        (NbdTestClient client, _, _) = await NbdTestClient.OpenAsync(chain.Export, structured: false);
        await using (client)
        {
            // Half over the base's data, half past the base's end.
            await client.SendRequestAsync(6, 1, Size / 4, Size / 2);
            Assert.AreEqual(0u, (await client.ReadSimpleAsync()).Error);
            await client.SendRequestAsync(0, 2, 0, Size);
            byte[] disk = (await client.ReadSimpleAsync(Size)).Data;
            Assert.IsTrue(disk.AsSpan(Size / 4, Size / 2).IndexOfAnyExcept((byte)0) < 0, "zeroed");
            Assert.AreEqual(0xB5, disk[(Size / 4) - 1], "base data before the range is kept");
        }

        Assert.IsTrue(chain.Overlay.IsAllocated((Size / 4 / 512) + 1), "zeroes over backing data are written");
        Assert.IsFalse(chain.Overlay.IsAllocated((Size * 3 / 4 / 512) - 1), "where no layer holds data, nothing needed writing");

        (NbdTestClient noHole, _, _) = await NbdTestClient.OpenAsync(chain.Export, structured: false);
        await using (noHole)
        {
            await noHole.SendRequestAsync(6, 1, Size * 3 / 4, 4096, flags: 2);
            Assert.AreEqual(0u, (await noHole.ReadSimpleAsync()).Error);
        }

        Assert.IsTrue(chain.Overlay.IsAllocated(Size * 3 / 4 / 512), "NO_HOLE allocates");
    }

    [TestMethod]
    public async Task EachConnection_IsAnOpenHandle()
    {
        using var dir = new TempDirectory();
        using Chain chain = Chain.Create(dir, baseLength: Size);
        (NbdTestClient a, _, _) = await NbdTestClient.OpenAsync(chain.Export, structured: false);
        (NbdTestClient b, _, _) = await NbdTestClient.OpenAsync(chain.Export, structured: false);
        Assert.AreEqual(2, chain.Volume.OpenHandleCount);
        await a.DisposeAsync();
        await b.DisposeAsync();
        Assert.AreEqual(0, chain.Volume.OpenHandleCount);
    }

    [TestMethod]
    public async Task FlushOnOneConnection_MakesAnotherConnectionsWritesDurable_SoMultiConnIsTrue()
    {
        using var dir = new TempDirectory();
        using Chain chain = Chain.Create(dir, baseLength: Size);
        (NbdTestClient writer, ushort flags, _) = await NbdTestClient.OpenAsync(chain.Export, structured: false);
        (NbdTestClient flusher, _, _) = await NbdTestClient.OpenAsync(chain.Export, structured: false);
        await using (writer)
        await using (flusher)
        {
            Assert.AreNotEqual(0, flags & 0x100, "CAN_MULTI_CONN");
            byte[] data = new byte[8192];
            Array.Fill(data, (byte)0x3C);
            await writer.SendRequestAsync(1, 1, 512 * 1024, 8192, payload: data);
            Assert.AreEqual(0u, (await writer.ReadSimpleAsync()).Error);
            using (AddCowImage before = OnDisk(dir))
            {
                Assert.IsFalse(before.IsAllocated(1024), "acknowledged, not yet durable");
            }

            await flusher.SendRequestAsync(3, 2, 0, 0);
            Assert.AreEqual(0u, (await flusher.ReadSimpleAsync()).Error);
            using AddCowImage durable = OnDisk(dir);
            Assert.IsTrue(durable.IsAllocated(1024) && durable.IsAllocated(1039), "the other connection's flush made the write durable");
            byte[] back = new byte[8192];
            durable.ReadSectors(1024, back);
            CollectionAssert.AreEqual(data, back);
        }
    }

    /// <summary>What a crash right now would leave: the files as last flushed, opened beside the live image.</summary>
    private static AddCowImage OnDisk(TempDirectory dir) => AddCowImage.Open(dir.Combine("top.add-cow"), new ImageOpenOptions { ForceShare = true });

    private static (uint Length, uint Status)[] Descriptors(Chunk chunk) =>
        Enumerable.Range(0, (chunk.Payload.Length - 4) / 8)
            .Select(i => (BinaryPrimitives.ReadUInt32BigEndian(chunk.Payload.AsSpan(4 + (i * 8))), BinaryPrimitives.ReadUInt32BigEndian(chunk.Payload.AsSpan(8 + (i * 8)))))
            .ToArray();

    private sealed class Chain : IDisposable
    {
        private Chain(AddCowImage overlay, VolumeModel volume, VolumeExport export)
        {
            Overlay = overlay;
            Volume = volume;
            Export = export;
        }

        public AddCowImage Overlay { get; }

        public VolumeModel Volume { get; }

        public VolumeExport Export { get; }

        /// <summary>base.raw (filled with 0xB5, <paramref name="baseLength"/> bytes) &lt;- mid.add-cow (sectors 64..127 written) &lt;- top.add-cow.</summary>
        public static Chain Create(TempDirectory dir, int baseLength)
        {
            byte[] data = new byte[baseLength];
            Array.Fill(data, (byte)0xB5);
            File.WriteAllBytes(dir.Combine("base.raw"), data);
            AddCowImage.Create(dir.Combine("mid.add-cow"), new ImageCreateOptions { BackingFile = "base.raw", Size = Size });
            using (AddCowImage mid = AddCowImage.Open(dir.Combine("mid.add-cow"), new ImageOpenOptions { Writable = true }))
            {
                mid.WriteSectors(64, new byte[64 * 512]);
                mid.Flush();
            }

            AddCowImage.Create(dir.Combine("top.add-cow"), new ImageCreateOptions { BackingFile = "mid.add-cow" });
            AddCowImage top = AddCowImage.Open(dir.Combine("top.add-cow"), new ImageOpenOptions { Writable = true });
            var volume = new VolumeModel(new SectorAligningDisk(top, ownsDevice: false), new VolumeModelOptions { BaseName = "top", UniqueId = Guid.NewGuid() },
                NullLogger<VolumeModel>.Instance);
            return new Chain(top, volume, new VolumeExport(volume, top, "top.img", "top"));
        }

        public void Dispose()
        {
            Volume.Dispose();
            Overlay.Dispose();
        }
    }
}
