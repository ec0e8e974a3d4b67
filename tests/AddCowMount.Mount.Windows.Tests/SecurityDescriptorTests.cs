using System.Buffers.Binary;
using AddCowMount.Mount.Windows.Security;

namespace AddCowMount.Mount.Windows.Tests;

[TestClass]
public sealed class SecurityDescriptorTests
{
    private const string User = "S-1-5-21-1111111111-2222222222-3333333333-1001";
    private const string VmAccount = "S-1-5-83-1-1-2-3-4";

    [TestMethod]
    [DataRow(false, (byte)0)]
    [DataRow(true, (byte)3)]
    public void CreateDefault_GrantsFullControlToUserSystemAndAdministrators(bool isDirectory, byte expectedAceFlags)
    {
        var bytes = SecurityDescriptor.CreateDefault(User, isDirectory).ToBytes();

        Assert.AreEqual(1, bytes[0], "revision");
        var control = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(2));
        Assert.AreEqual(0x8000 | 0x1000 | 0x0004, control, "self-relative, DACL protected, DACL present");
        var ownerOffset = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4));
        Assert.AreEqual(20, ownerOffset);
        Assert.AreEqual(User, Sid.ToString(bytes.AsSpan(ownerOffset)));
        Assert.AreEqual(0u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(12)), "no SACL");

        var dacl = bytes.AsSpan((int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(16)));
        Assert.AreEqual(2, dacl[0], "ACL revision");
        Assert.AreEqual(3, BinaryPrimitives.ReadUInt16LittleEndian(dacl[4..]), "ACE count");
        var aces = ReadAces(dacl);
        CollectionAssert.AreEqual(new[] { User, "S-1-5-18", "S-1-5-32-544" }, aces.Select(a => a.Sid).ToArray());
        foreach (var ace in aces)
        {
            Assert.AreEqual(0, ace.Type, "access allowed");
            Assert.AreEqual(expectedAceFlags, ace.Flags);
            Assert.AreEqual(0x001F01FFu, ace.Mask, "FILE_ALL_ACCESS");
        }

        Assert.AreEqual(bytes.Length, (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(16)) + BinaryPrimitives.ReadUInt16LittleEndian(dacl[2..]), "DACL ends the descriptor");
    }

    [TestMethod]
    public void DefaultSddl_NamesTheSameGrants()
    {
        Assert.AreEqual($"O:{User}G:{User}D:P(A;OICI;FA;;;{User})(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)", SecurityDescriptor.DefaultSddl(User, isDirectory: true));
        Assert.AreEqual($"O:{User}G:{User}D:P(A;;FA;;;{User})(A;;FA;;;SY)(A;;FA;;;BA)", SecurityDescriptor.DefaultSddl(User, isDirectory: false));
    }

    [TestMethod]
    public void Parse_OfToBytes_RoundTripsEveryByte()
    {
        var original = SecurityDescriptor.CreateDefault(User, isDirectory: true).ToBytes();
        CollectionAssert.AreEqual(original, SecurityDescriptor.Parse(original).ToBytes());
    }

    [TestMethod]
    public void Merge_DaclOnly_AddsHyperVAceAndKeepsOwner()
    {
        var current = SecurityDescriptor.CreateDefault(User, isDirectory: false);
        var vmDacl = SecurityDescriptor.BuildAcl([(Sid.Parse(User), SecurityDescriptor.FileAllAccess), (Sid.Parse(VmAccount), 0x0012019Fu)], 0);
        // What SetFileSecurity(DACL_SECURITY_INFORMATION) brings: a DACL and no owner.
        var update = SecurityDescriptor.Parse(new SecurityDescriptor(SecurityDescriptor.DaclPresent, null, null, null, vmDacl).ToBytes());

        var merged = SecurityDescriptor.Parse(current.Merge(update, SecurityInformation.Dacl).ToBytes());

        Assert.AreEqual(User, Sid.ToString(merged.Owner));
        Assert.AreEqual(User, Sid.ToString(merged.Group));
        Assert.AreEqual(2, merged.DaclAceCount);
        CollectionAssert.AreEqual(new[] { User, VmAccount }, ReadAces(merged.Dacl).Select(a => a.Sid).ToArray());
        Assert.AreEqual(0, merged.Control & SecurityDescriptor.DaclProtected, "protection follows the update's DACL");
    }

    [TestMethod]
    public void Merge_OwnerOnly_LeavesDaclUntouched()
    {
        var current = SecurityDescriptor.CreateDefault(User, isDirectory: false);
        var update = new SecurityDescriptor(0, Sid.Parse("S-1-5-32-544"), null, null, null);

        var merged = current.Merge(update, SecurityInformation.Owner);

        Assert.AreEqual("S-1-5-32-544", Sid.ToString(merged.Owner));
        CollectionAssert.AreEqual(current.Dacl, merged.Dacl);
        Assert.AreEqual(current.Control, merged.Control);
    }

    [TestMethod]
    public void Select_DaclOnly_DropsOwnerAndGroup()
    {
        var selected = SecurityDescriptor.Parse(SecurityDescriptor.CreateDefault(User, false).Select(SecurityInformation.Dacl).ToBytes());

        Assert.IsNull(selected.Owner);
        Assert.IsNull(selected.Group);
        Assert.AreEqual(3, selected.DaclAceCount);
    }

    [TestMethod]
    public void Select_OwnerOnly_HasNoDacl()
    {
        var selected = SecurityDescriptor.Parse(SecurityDescriptor.CreateDefault(User, false).Select(SecurityInformation.Owner).ToBytes());

        Assert.AreEqual(User, Sid.ToString(selected.Owner));
        Assert.IsNull(selected.Dacl);
        Assert.AreEqual(0, selected.Control & SecurityDescriptor.DaclPresent);
    }

    public static IEnumerable<object[]> Malformed()
    {
        var good = SecurityDescriptor.CreateDefault(User, false).ToBytes();
        yield return ["too short", good[..19]];
        var revision = (byte[])good.Clone();
        revision[0] = 2;
        yield return ["revision", revision];
        var absolute = (byte[])good.Clone();
        absolute[3] &= 0x7F;
        yield return ["not self-relative", absolute];
        var ownerOutside = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(ownerOutside.AsSpan(4), (uint)good.Length + 4);
        yield return ["owner outside", ownerOutside];
        var aclTooBig = (byte[])good.Clone();
        var daclOffset = (int)BinaryPrimitives.ReadUInt32LittleEndian(good.AsSpan(16));
        BinaryPrimitives.WriteUInt16LittleEndian(aclTooBig.AsSpan(daclOffset + 2), 0xFFFF);
        yield return ["ACL size past end", aclTooBig];
        var tooManyAces = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(tooManyAces.AsSpan(daclOffset + 4), 9);
        yield return ["ACE count past ACL", tooManyAces];
    }

    [TestMethod]
    [DynamicData(nameof(Malformed))]
    public void Parse_Malformed_ThrowsArgumentException(string why, byte[] bytes)
    {
        Assert.ThrowsExactly<ArgumentException>(() => SecurityDescriptor.Parse(bytes), why);
    }

    private static List<(byte Type, byte Flags, uint Mask, string Sid)> ReadAces(ReadOnlySpan<byte> acl)
    {
        var result = new List<(byte, byte, uint, string)>();
        var count = BinaryPrimitives.ReadUInt16LittleEndian(acl[4..]);
        var position = 8;
        for (var i = 0; i < count; i++)
        {
            var size = BinaryPrimitives.ReadUInt16LittleEndian(acl[(position + 2)..]);
            result.Add((acl[position], acl[position + 1], BinaryPrimitives.ReadUInt32LittleEndian(acl[(position + 4)..]), Sid.ToString(acl[(position + 8)..])));
            position += size;
        }

        return result;
    }
}
