namespace AddCowMount.Core.Tests;

[TestClass]
public sealed class SmokeTests
{
    [TestMethod]
    public void GoldenFixtures_AreCopiedToOutput()
    {
        Assert.IsTrue(File.Exists(Path.Combine(AppContext.BaseDirectory, "TestData", "golden", "basic-1m", "disk.add-cow")));
    }
}
