using System.Runtime.InteropServices;
using AddCowMount.Mount.Fuse.Native;

namespace AddCowMount.Mount.Fuse.Tests;

/// <summary>Offsets printed by a C program (offsetof) against glibc x86_64 and libfuse 3.14 headers.</summary>
[TestClass]
public sealed class NativeLayoutTests
{
    [TestMethod]
    public void Stat_MatchesGlibcX64()
    {
        Assert.AreEqual(144, Marshal.SizeOf<Stat>());
        Assert.AreEqual(16, (int)Marshal.OffsetOf<Stat>(nameof(Stat.Nlink)));
        Assert.AreEqual(24, (int)Marshal.OffsetOf<Stat>(nameof(Stat.Mode)));
        Assert.AreEqual(28, (int)Marshal.OffsetOf<Stat>(nameof(Stat.Uid)));
        Assert.AreEqual(32, (int)Marshal.OffsetOf<Stat>(nameof(Stat.Gid)));
        Assert.AreEqual(48, (int)Marshal.OffsetOf<Stat>(nameof(Stat.Size)));
        Assert.AreEqual(56, (int)Marshal.OffsetOf<Stat>(nameof(Stat.BlockSize)));
        Assert.AreEqual(64, (int)Marshal.OffsetOf<Stat>(nameof(Stat.Blocks)));
        Assert.AreEqual(72, (int)Marshal.OffsetOf<Stat>(nameof(Stat.Atime)));
        Assert.AreEqual(88, (int)Marshal.OffsetOf<Stat>(nameof(Stat.Mtime)));
        Assert.AreEqual(104, (int)Marshal.OffsetOf<Stat>(nameof(Stat.Ctime)));
        Assert.AreEqual(16, Marshal.SizeOf<Timespec>());
    }

    [TestMethod]
    public void StatVfs_MatchesGlibcX64()
    {
        Assert.AreEqual(112, Marshal.SizeOf<StatVfs>());
        Assert.AreEqual(16, (int)Marshal.OffsetOf<StatVfs>(nameof(StatVfs.Blocks)));
        Assert.AreEqual(64, (int)Marshal.OffsetOf<StatVfs>(nameof(StatVfs.FileSystemId)));
        Assert.AreEqual(72, (int)Marshal.OffsetOf<StatVfs>(nameof(StatVfs.Flags)));
        Assert.AreEqual(80, (int)Marshal.OffsetOf<StatVfs>(nameof(StatVfs.NameMax)));
    }

    [TestMethod]
    public void FuseStructs_MatchLibfuse314()
    {
        Assert.AreEqual(40, Marshal.SizeOf<FuseFileInfo>());
        Assert.AreEqual(16, (int)Marshal.OffsetOf<FuseFileInfo>(nameof(FuseFileInfo.FileHandle)));
        Assert.AreEqual(128, Marshal.SizeOf<FuseConnInfo>());
        Assert.AreEqual(8, (int)Marshal.OffsetOf<FuseConnInfo>(nameof(FuseConnInfo.MaxWrite)));
        Assert.AreEqual(12, (int)Marshal.OffsetOf<FuseConnInfo>(nameof(FuseConnInfo.MaxRead)));
        Assert.AreEqual(28, (int)Marshal.OffsetOf<FuseConnInfo>(nameof(FuseConnInfo.MaxBackground)));
        Assert.AreEqual(32, (int)Marshal.OffsetOf<FuseConnInfo>(nameof(FuseConnInfo.CongestionThreshold)));
        Assert.AreEqual(128, Marshal.SizeOf<FuseConfig>());
        Assert.AreEqual(40, (int)Marshal.OffsetOf<FuseConfig>(nameof(FuseConfig.AttrTimeout)));
        Assert.AreEqual(72, (int)Marshal.OffsetOf<FuseConfig>(nameof(FuseConfig.DirectIo)));
        Assert.AreEqual(76, (int)Marshal.OffsetOf<FuseConfig>(nameof(FuseConfig.KernelCache)));
        Assert.AreEqual(80, (int)Marshal.OffsetOf<FuseConfig>(nameof(FuseConfig.AutoCache)));
        Assert.AreEqual(40, Marshal.SizeOf<FuseContext>());
        Assert.AreEqual(24, (int)Marshal.OffsetOf<FuseContext>(nameof(FuseContext.PrivateData)));
        Assert.AreEqual(336, (int)FuseOperations.Size);
        Assert.AreEqual(27, (int)FuseOperationSlot.Init);
        Assert.AreEqual(32, (int)FuseOperationSlot.Utimens);
    }

    [TestMethod]
    public unsafe void WriteStat_PutsAttributesWhereStatReadsThem()
    {
        var time = new DateTime(2020, 1, 1, 0, 0, 1, DateTimeKind.Utc).AddTicks(5);
        var attributes = new FuseAttributes(0x81A4, 12345, 25, 4096, 1, 1000, 100, time, time, time);
        byte* raw = stackalloc byte[144];
        new Span<byte>(raw, 144).Fill(0xEE);

        FuseOperations.WriteStat((Stat*)raw, attributes);

        Assert.AreEqual(0x81A4u, *(uint*)(raw + 24));
        Assert.AreEqual(12345L, *(long*)(raw + 48));
        Assert.AreEqual(1000u, *(uint*)(raw + 28));
        Assert.AreEqual(1577836801L, *(long*)(raw + 88));
        Assert.AreEqual(500L, *(long*)(raw + 96));
        Assert.AreEqual(0L, *(long*)(raw + 120), "reserved tail is cleared");
    }

    /// <summary>Offsets from a C program compiled against /usr/include/fuse3 (libfuse 3.14, x86_64).</summary>
    [TestMethod]
    public void FuseBufAndBufVec_MatchLibfuseLayout()
    {
        Assert.AreEqual(40, Marshal.SizeOf<FuseBuf>());
        Assert.AreEqual(16, (int)Marshal.OffsetOf<FuseBuf>(nameof(FuseBuf.Mem)));
        Assert.AreEqual(24, (int)Marshal.OffsetOf<FuseBuf>(nameof(FuseBuf.Fd)));
        Assert.AreEqual(32, (int)Marshal.OffsetOf<FuseBuf>(nameof(FuseBuf.Position)));
        Assert.AreEqual(64, Marshal.SizeOf<FuseBufVec>());
        Assert.AreEqual(24, (int)Marshal.OffsetOf<FuseBufVec>(nameof(FuseBufVec.Buf)));
        Assert.AreEqual(36, (int)FuseOperationSlot.WriteBuf);
    }
}
