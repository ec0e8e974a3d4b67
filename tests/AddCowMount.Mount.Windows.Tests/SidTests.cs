using AddCowMount.Mount.Windows.Security;

namespace AddCowMount.Mount.Windows.Tests;

[TestClass]
public sealed class SidTests
{
    [TestMethod]
    public void Parse_LocalSystem_GivesWindowsBinaryForm()
    {
        // S-1-5-18 as Windows stores it: revision 1, one sub-authority, authority 5 (big-endian), 18 little-endian.
        CollectionAssert.AreEqual(new byte[] { 1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0 }, Sid.Parse("S-1-5-18"));
    }

    [TestMethod]
    public void Parse_Administrators_GivesWindowsBinaryForm()
    {
        CollectionAssert.AreEqual(new byte[] { 1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 0x02, 0, 0 }, Sid.Parse("S-1-5-32-544"));
    }

    [TestMethod]
    [DataRow("S-1-5-21-3623811015-3361044348-30300820-1013")]
    [DataRow("S-1-5-18")]
    [DataRow("S-1-0-0")]
    [DataRow("S-1-5-83-1-1234567-2345678-3456789-4294967295")]
    public void ToString_OfParse_RoundTrips(string sid)
    {
        var bytes = Sid.Parse(sid);
        Assert.AreEqual(bytes.Length, Sid.GetLength(bytes));
        Assert.AreEqual(sid, Sid.ToString(bytes));
    }

    [TestMethod]
    [DataRow("")]
    [DataRow("S-2-5-18")]
    [DataRow("X-1-5-18")]
    [DataRow("S-1")]
    [DataRow("S-1-5-abc")]
    [DataRow("S-1-5-4294967296")]
    [DataRow("S-1-281474976710656-1")]
    [DataRow("S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16")]
    public void Parse_NotASid_Throws(string text)
    {
        Assert.ThrowsExactly<FormatException>(() => Sid.Parse(text));
    }

    [TestMethod]
    public void GetLength_TruncatedSid_IsMinusOne()
    {
        var bytes = Sid.Parse("S-1-5-32-544");
        Assert.AreEqual(-1, Sid.GetLength(bytes.AsSpan(0, bytes.Length - 1)));
    }
}
