using System.Buffers.Binary;
using System.IO.Pipes;
using AddCowMount.Core.Alignment;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Storage;
using AddCowMount.Core.Volume;
using AddCowMount.Mount.Fuse.Native;
using Microsoft.Extensions.Logging.Abstractions;

namespace AddCowMount.Mount.Fuse.Tests;

/// <summary>
/// READs answered from a mapping of the base file (FuseSessionLoop.TryReplyMapped, FuseVolumeAdapter.TryMapRead): the
/// reply on the wire, the requests left to libfuse, and, through a real mount, that what a client reads is the disk's
/// content whichever path answered it.
/// </summary>
[TestClass]
public sealed unsafe class MappedReadTests
{
    private const uint OpRead = 15;
    private const ulong Unique = 0x1122334455667788;
    private const int BaseLength = 256 * 1024;

    [TestMethod]
    public void ARead_TheMappingAnswers_IsRepliedWithTheHeaderAndTheMappedBytes()
    {
        byte[] data = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        using var pipe = new AnonymousPipeServerStream(PipeDirection.Out);
        using var reader = new AnonymousPipeClientStream(PipeDirection.In, pipe.ClientSafePipeHandle);
        (ulong Handle, long Offset, int Size)? asked = null;
        bool answered;
        fixed (byte* bytes = data)
        {
            byte* mapped = bytes;
            byte[] request = Request(OpRead, handle: 7, offset: 4096, size: (uint)data.Length);
            fixed (byte* start = request)
            {
                answered = FuseSessionLoop.TryReplyMapped(Fd(pipe), start, request.Length, (ulong h, long o, int s, out byte* d) =>
                {
                    asked = (h, o, s);
                    d = mapped;
                    return true;
                });
            }
        }

        Assert.IsTrue(answered);
        Assert.AreEqual(((ulong)7, 4096L, data.Length), asked);
        byte[] reply = ReadExactly(reader, 16 + data.Length);
        Assert.AreEqual((uint)(16 + data.Length), BinaryPrimitives.ReadUInt32LittleEndian(reply), "len");
        Assert.AreEqual(0, BinaryPrimitives.ReadInt32LittleEndian(reply.AsSpan(4)), "error");
        Assert.AreEqual(Unique, BinaryPrimitives.ReadUInt64LittleEndian(reply.AsSpan(8)), "unique");
        CollectionAssert.AreEqual(data, reply[16..]);
    }

    [TestMethod]
    public void OtherRequests_ShortOnes_AndReadsTheMappingDeclinesOrFailsOn_GoToLibfuse_WithNothingWritten()
    {
        using var pipe = new AnonymousPipeServerStream(PipeDirection.Out);
        int calls = 0;
        FuseSessionLoop.MappedRead refuse = (ulong h, long o, int s, out byte* d) =>
        {
            calls++;
            d = null;
            return false;
        };
        FuseSessionLoop.MappedRead fail = (ulong h, long o, int s, out byte* d) => throw new IOException("disk gone");

        Assert.IsFalse(Try(pipe, Request(16, 7, 0, 4096), refuse), "WRITE");
        Assert.IsFalse(Try(pipe, Request(OpRead, 7, 0, 4096)[..64], refuse), "shorter than a READ");
        Assert.IsFalse(Try(pipe, Request(OpRead, 7, 0, 0), refuse), "empty read");
        Assert.AreEqual(0, calls);
        Assert.IsFalse(Try(pipe, Request(OpRead, 7, 0, 4096), refuse));
        Assert.AreEqual(1, calls);
        Assert.IsFalse(Try(pipe, Request(OpRead, 7, 0, 4096), fail));

        using var reader = new AnonymousPipeClientStream(PipeDirection.In, pipe.ClientSafePipeHandle);
        pipe.Dispose();
        Assert.AreEqual(-1, reader.ReadByte(), "no reply was written");
    }

    [TestMethod]
    public void AReplyTheKernelCannotTake_IsAnsweredWithEio_SoTheClientsReadFails()
    {
        using var pipe = new AnonymousPipeServerStream(PipeDirection.Out);
        using var reader = new AnonymousPipeClientStream(PipeDirection.In, pipe.ClientSafePipeHandle);

        // An address the kernel cannot copy from (EFAULT), as a mapping of a file cut short under it would be.
        bool answered = Try(pipe, Request(OpRead, 7, 0, 4096), (ulong h, long o, int s, out byte* d) =>
        {
            d = (byte*)8;
            return true;
        });

        Assert.IsTrue(answered);
        byte[] reply = ReadExactly(reader, 16);
        Assert.AreEqual(16u, BinaryPrimitives.ReadUInt32LittleEndian(reply));
        Assert.AreEqual(-5, BinaryPrimitives.ReadInt32LittleEndian(reply.AsSpan(4)), "-EIO");
        Assert.AreEqual(Unique, BinaryPrimitives.ReadUInt64LittleEndian(reply.AsSpan(8)));
    }

    [TestMethod]
    public void ThroughAMount_BaseDataIsReadFromTheMapping_AndAWriteIsSeenByTheNextRead()
    {
        FuseTestEnvironment.Require();
        using var temp = new TempDirectory();
        byte[] baseBytes = new byte[4 << 20];
        new Random(21).NextBytes(baseBytes);
        File.WriteAllBytes(temp.Combine("base.raw"), baseBytes);
        string overlay = temp.Combine("disk.add-cow");
        AddCowImage.Create(overlay, new ImageCreateOptions { BackingFile = "base.raw" });
        string folder = Directory.CreateDirectory(temp.Combine("mnt")).FullName;
        using (var volume = new VolumeModel(new SectorAligningDisk(AddCowImage.Open(overlay, new ImageOpenOptions { Writable = true })),
                   new VolumeModelOptions { BaseName = "disk", UniqueId = Guid.NewGuid() }, NullLogger<VolumeModel>.Instance))
        using (var mount = new FuseMount())
        {
            mount.Start(volume, folder, new FuseMountOptions());
            using SafeFileHandleScope file = new(Path.Combine(folder, "disk.img"));
            const int MiB = 1 << 20;

            CollectionAssert.AreEqual(baseBytes[MiB..(2 * MiB)], file.Read(MiB, MiB));
            long mapped = mount.Adapter!.MappedReads;
            Assert.IsGreaterThan(0L, mapped, "a 1 MiB read of the base is answered from its mapping");

            byte[] patch = new byte[4096];
            new Random(22).NextBytes(patch);
            RandomAccess.Write(file.Handle, patch, MiB + 65536);
            byte[] expected = baseBytes[MiB..(2 * MiB)];
            patch.CopyTo(expected, 65536);
            CollectionAssert.AreEqual(expected, file.Read(MiB, MiB), "the written sectors come from the overlay");
            CollectionAssert.AreEqual(patch, file.Read(MiB + 65536, 4096));

            CollectionAssert.AreEqual(baseBytes[(2 * MiB)..(3 * MiB)], file.Read(2 * MiB, MiB));
            Assert.IsGreaterThan(mapped, mount.Adapter!.MappedReads, "base data after the write is mapped again");
            file.Dispose();
            mount.Stop();
        }

        CollectionAssert.AreEqual(baseBytes, File.ReadAllBytes(temp.Combine("base.raw")), "the base is never written");
    }

    [TestMethod]
    public void MappedFileRanges_PointAtTheFilesBytes_AndRefuseWhatTheyCannotMap()
    {
        using var temp = new TempDirectory();
        string basePath = temp.Combine("base.raw");
        byte[] baseBytes = new byte[BaseLength];
        new Random(14).NextBytes(baseBytes);
        File.WriteAllBytes(basePath, baseBytes);
        File.WriteAllBytes(temp.Combine("empty.raw"), []);
        using IStorageFile file = FileStorage.Instance.Open(basePath, writable: false, StorageLock.Shared);
        using IStorageFile empty = FileStorage.Instance.Open(temp.Combine("empty.raw"), writable: false, StorageLock.Shared);
        var mappings = new MappedFileRanges();

        Assert.IsTrue(mappings.TryGetPointer(new FileRange(file.UnchangingHandle!, 4096, 8192), out byte* data));
        CollectionAssert.AreEqual(baseBytes[4096..12288], new ReadOnlySpan<byte>(data, 8192).ToArray());
        Assert.IsTrue(mappings.TryGetPointer(new FileRange(file.UnchangingHandle!, 0, 16), out _));
        Assert.AreEqual(1, mappings.Count, "one mapping per file");
        Assert.IsFalse(mappings.TryGetPointer(new FileRange(file.UnchangingHandle!, BaseLength - 4096, 8192), out _), "past the file's end");
        Assert.IsFalse(mappings.TryGetPointer(new FileRange(empty.UnchangingHandle!, 0, 1), out _), "an empty file has no mapping");

        mappings.Dispose();
        Assert.IsFalse(mappings.TryGetPointer(new FileRange(empty.UnchangingHandle!, 0, 1), out _), "disposed");
        Assert.AreEqual(0, mappings.Count);
    }

    private static bool Try(AnonymousPipeServerStream pipe, byte[] request, FuseSessionLoop.MappedRead mappedRead)
    {
        fixed (byte* start = request)
        {
            return FuseSessionLoop.TryReplyMapped(Fd(pipe), start, request.Length, mappedRead);
        }
    }

    private static int Fd(AnonymousPipeServerStream pipe) => (int)pipe.SafePipeHandle.DangerousGetHandle();

    /// <summary>fuse_in_header + fuse_read_in, as the kernel sends a READ (other opcodes get the same layout here).</summary>
    private static byte[] Request(uint opcode, ulong handle, long offset, uint size)
    {
        byte[] request = new byte[FuseSessionLoop.ReadRequestLength];
        BinaryPrimitives.WriteUInt32LittleEndian(request, (uint)request.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(request.AsSpan(4), opcode);
        BinaryPrimitives.WriteUInt64LittleEndian(request.AsSpan(8), Unique);
        BinaryPrimitives.WriteUInt64LittleEndian(request.AsSpan(16), 2); // nodeid
        BinaryPrimitives.WriteUInt64LittleEndian(request.AsSpan(40), handle);
        BinaryPrimitives.WriteInt64LittleEndian(request.AsSpan(48), offset);
        BinaryPrimitives.WriteUInt32LittleEndian(request.AsSpan(56), size);
        return request;
    }

    private static byte[] ReadExactly(Stream stream, int length)
    {
        byte[] bytes = new byte[length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    private sealed class SafeFileHandleScope(string path) : IDisposable
    {
        public Microsoft.Win32.SafeHandles.SafeFileHandle Handle { get; } = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);

        public byte[] Read(long offset, int length)
        {
            byte[] bytes = new byte[length];
            Assert.AreEqual(length, RandomAccess.Read(Handle, bytes, offset));
            return bytes;
        }

        public void Dispose() => Handle.Dispose();
    }
}
