using AddCowMount.Wine.Tests.Support;

namespace AddCowMount.Wine.Tests;

/// <summary>What the Wine tests count as the program's own stderr.</summary>
[TestClass]
public sealed class RunResultTests
{
    [TestMethod]
    public void ProgramErrorLines_DropWinesFaultReport_AndKeepEveryOtherLine()
    {
        // The stderr of a refused create in one CI run: Wine reported a fault in one of its own threads first.
        var refused = new RunResult("wine addcow.exe create", 1, [],
            "wine: Unhandled page fault on read access to 0000000000000008 at address 000000031CAA2391 (thread 0080), starting debugger...\n" +
            "addcow: b.add-cow: backing file '\\\\.\\PhysicalDrive0' is a device path; refused\r\n");
        CollectionAssert.AreEqual(new[] { @"addcow: b.add-cow: backing file '\\.\PhysicalDrive0' is a device path; refused" }, refused.ProgramErrorLines);

        // Anything else, a second line of ours or a stack trace, is still counted: the one-line tests fail on it.
        var chatty = new RunResult("wine addcow.exe info", 1, [], "addcow: x: refused\nUnhandled exception. System.IO.IOException\n   at Foo()\n");
        Assert.HasCount(3, chatty.ProgramErrorLines);
    }
}
