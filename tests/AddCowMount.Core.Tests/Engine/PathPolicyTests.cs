using AddCowMount.Core.Engine;
using AddCowMount.Core.Format;

namespace AddCowMount.Core.Tests.Engine;

[TestClass]
public sealed class PathPolicyTests
{
    [TestMethod]
    [DataRow("CON")]
    [DataRow("nul")]
    [DataRow("COM1")]
    [DataRow("com9.add-cow")]
    [DataRow("LPT1.raw")]
    [DataRow("lpt\u00b9")]
    [DataRow("CONOUT$")]
    [DataRow(@"C:\vm\aux.add-cow")]
    [DataRow("vm/PRN.img")]
    [DataRow("CON .raw")]
    public void ReservedDeviceNames_AreRecognised(string name) => Assert.IsTrue(PathPolicy.IsReservedDeviceName(name), name);

    [TestMethod]
    [DataRow("console.add-cow")]
    [DataRow("COM10")]
    [DataRow("LPT")]
    [DataRow("nulls.raw")]
    [DataRow("CON/disk.raw")]
    public void OrdinaryNames_AreNotReserved(string name) => Assert.IsFalse(PathPolicy.IsReservedDeviceName(name), name);

    [TestMethod]
    public void RelativeStoredName_IsRelativeToTheAddCowFolderWithSlashes()
    {
        string root = Path.GetFullPath(Path.Combine(Path.GetTempPath(), "pp"));
        Assert.AreEqual("../base/golden.raw", PathPolicy.RelativeStoredName(Path.Combine(root, "base", "golden.raw"), Path.Combine(root, "vm", "vm.add-cow")));
        Assert.AreEqual("vm.raw", PathPolicy.RelativeStoredName(Path.Combine(root, "vm", "vm.raw"), Path.Combine(root, "vm", "vm.add-cow")));
    }

    [TestMethod]
    public void About_DriveLetterSubject_HasOneColon()
    {
        Assert.AreEqual("X: nothing is mounted", AddCowException.About("X:", "nothing is mounted"));
        Assert.AreEqual("/mnt/a: nothing is mounted", AddCowException.About("/mnt/a", "nothing is mounted"));
    }

    /// <summary>create refuses a reserved device name for the add-cow file on every OS (Windows opens the device).</summary>
    [TestMethod]
    public void Create_ReservedDeviceName_IsRefusedAndWritesNothing()
    {
        using var temp = new TempDirectory();
        string path = temp.Combine("NUL.add-cow");
        var error = Assert.ThrowsExactly<AddCowException>(() => AddCowImage.Create(path, new ImageCreateOptions { Size = 1 << 20 }));
        StringAssert.Contains(error.Message, "reserved device name");
        Assert.IsEmpty(Directory.GetFiles(temp.Path));
    }
}
