namespace AddCowMount.Mount.Windows.Tests;

[TestClass]
public sealed class DokanPathTests
{
    [TestMethod]
    [DataRow("\\", "/")]
    [DataRow("", "/")]
    [DataRow("\\disk.vhd", "/disk.vhd")]
    [DataRow("\\dir\\disk.vmdk", "/dir/disk.vmdk")]
    [DataRow("\\dir\\", "/dir")]
    [DataRow("disk.img", "/disk.img")]
    [DataRow("\\Données\\ディスク.vhd", "/Données/ディスク.vhd")]
    public void ToVolumePath_TranslatesSeparatorsAndRoot(string dokan, string expected)
    {
        Assert.AreEqual(expected, DokanPath.ToVolumePath(dokan));
    }
}
