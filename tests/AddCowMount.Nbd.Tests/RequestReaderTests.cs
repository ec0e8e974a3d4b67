using AddCowMount.Nbd.Protocol;

namespace AddCowMount.Nbd.Tests;

/// <summary>The transmission's receive buffer: whatever sizes the stream hands out, the reader gets exactly the bytes sent, in order.</summary>
[TestClass]
public sealed class RequestReaderTests
{
    [TestMethod]
    [DataRow(1)]
    [DataRow(7)]
    [DataRow(4096)]
    [DataRow(1 << 20)]
    public async Task Reads_ReturnExactlyTheStream_WhateverTheStreamHandsOutPerRead(int perRead)
    {
        var random = new Random(perRead);
        byte[] sent = new byte[600_000];
        random.NextBytes(sent);
        var reader = new RequestReader(new TrickleStream(sent, perRead), capacity: 64 * 1024);

        // Headers, small payloads, and payloads larger than the buffer (read straight into the caller's memory).
        int[] pieces = [28, 4096, 28, 512, 28, 200_000, 28, 65_536, 28, 1];
        using var received = new MemoryStream();
        foreach (int piece in pieces)
        {
            byte[] into = new byte[piece];
            Assert.AreEqual(piece, await reader.ReadAsync(into, CancellationToken.None));
            received.Write(into);
        }

        int rest = sent.Length - (int)received.Length;
        byte[] tail = new byte[rest + 100];
        Assert.AreEqual(rest, await reader.ReadAsync(tail, CancellationToken.None), "the stream's end is reported as a short read");
        received.Write(tail, 0, rest);
        CollectionAssert.AreEqual(sent, received.ToArray());
        Assert.AreEqual(0, await reader.ReadAsync(new byte[28], CancellationToken.None), "a clean end reads 0 bytes");
    }

    /// <summary>Hands out at most <c>perRead</c> bytes per read, as a socket does under load.</summary>
    private sealed class TrickleStream(byte[] data, int perRead) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = Math.Min(Math.Min(count, perRead), data.Length - _position);
            data.AsSpan(_position, n).CopyTo(buffer.AsSpan(offset));
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
