using System.Buffers.Binary;
using AddCowMount.Core.Format;

namespace AddCowMount.Core.Tests.Format;

[TestClass]
public sealed class VhdxHeaderTests
{
    private static readonly (VhdxHeader Header1, VhdxHeader Header2) s_current = VhdxLayout.Create(100 << 20, Guid.Empty).InitialHeaders();

    /// <summary>What qemu writes on open for writing: a new FileWriteGuid, the sequence number above both.</summary>
    private static VhdxHeader QemuRewrite() => s_current.Header2 with { SequenceNumber = 3, FileWriteGuid = Guid.NewGuid() };

    private static bool Accepts(ReadOnlySpan<byte> candidate, out string? reason) =>
        VhdxHeader.IsAcceptableRewrite(candidate, s_current.Header1, s_current.Header2, out reason);

    [TestMethod]
    public void FieldLocations_AsInMsVhdx()
    {
        Assert.AreEqual(8, VhdxHeader.FieldLocations.SequenceNumber);
        Assert.AreEqual(48, VhdxHeader.FieldLocations.LogGuid);
        Assert.AreEqual(66, VhdxHeader.FieldLocations.Version);
        Assert.AreEqual(80, VhdxHeader.FieldLocations.Reserved);
    }

    [TestMethod]
    public void RoundTrips()
    {
        var header = QemuRewrite() with { DataWriteGuid = Guid.NewGuid() };

        Assert.IsTrue(VhdxHeader.TryParse(header.ToArray(), out var parsed, out _));
        Assert.AreEqual(header, parsed);
    }

    [TestMethod]
    public void WellFormedRewrite_IsAccepted()
    {
        Assert.IsTrue(Accepts(QemuRewrite().ToArray(), out var reason), reason);
    }

    [TestMethod]
    public void BadChecksum_IsRefused()
    {
        var bytes = QemuRewrite().ToArray();
        bytes[100] ^= 1;

        Assert.IsFalse(Accepts(bytes, out var reason));
        StringAssert.Contains(reason, "checksum");
    }

    [TestMethod]
    public void BadSignature_IsRefused()
    {
        var bytes = QemuRewrite().ToArray();
        bytes[0] = (byte)'x';
        Assert.IsFalse(Accepts(bytes, out var reason));
        StringAssert.Contains(reason, "signature");
    }

    [TestMethod]
    public void Version2_IsRefused()
    {
        Assert.IsFalse(Accepts((QemuRewrite() with { Version = 2 }).ToArray(), out var reason));
        StringAssert.Contains(reason, "version");
    }

    [TestMethod]
    public void LogToReplay_IsRefused()
    {
        Assert.IsFalse(Accepts((QemuRewrite() with { LogGuid = Guid.NewGuid() }).ToArray(), out var reason));
        StringAssert.Contains(reason, "log to replay");
        Assert.IsFalse(Accepts((QemuRewrite() with { LogVersion = 1 }).ToArray(), out _));
    }

    [TestMethod]
    public void MovedLog_IsRefused()
    {
        Assert.IsFalse(Accepts((QemuRewrite() with { LogOffset = 8 << 20 }).ToArray(), out var reason));
        StringAssert.Contains(reason, "layout is fixed");
        Assert.IsFalse(Accepts((QemuRewrite() with { LogLength = 2 << 20 }).ToArray(), out _));
    }

    [TestMethod]
    [DataRow(0UL)]
    [DataRow(1UL)]
    [DataRow(2UL)]
    public void SequenceNotAboveBoth_IsRefused(ulong sequence)
    {
        Assert.IsFalse(Accepts((QemuRewrite() with { SequenceNumber = sequence }).ToArray(), out var reason));
        StringAssert.Contains(reason, "sequence number");
    }

    [TestMethod]
    public void TruncatedCandidate_IsRefused()
    {
        Assert.IsFalse(Accepts(QemuRewrite().ToArray().AsSpan(0, 4000), out var reason));
        StringAssert.Contains(reason, "truncated");
    }

    [TestMethod]
    public void Checksum_CoversTheWhole4KiB()
    {
        var bytes = QemuRewrite().ToArray();
        bytes[4095] = 1;
        Assert.IsFalse(VhdxHeader.TryParse(bytes, out _, out _));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), VhdxChecksum.Compute(bytes, 4));
        Assert.IsTrue(VhdxHeader.TryParse(bytes, out _, out _));
    }
}
