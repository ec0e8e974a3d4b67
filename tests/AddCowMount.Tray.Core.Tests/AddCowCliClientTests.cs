using System.ComponentModel;
using AddCowMount.Tray.Core.Mounts;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;

namespace AddCowMount.Tray.Core.Tests;

[TestClass]
public sealed class AddCowCliClientTests
{
    private const string Exe = "/opt/addcow/addcow";

    private readonly Mock<IProcessRunner> _runner = new(MockBehavior.Strict);

    private AddCowCliClient Client() => new(Exe, _runner.Object, NullLogger<AddCowCliClient>.Instance);

    private void Returns(string[] arguments, ProcessResult result) =>
        _runner.Setup(r => r.RunAsync(Exe, It.Is<IReadOnlyList<string>>(a => a.SequenceEqual(arguments)), It.IsAny<CancellationToken>()))
            .ReturnsAsync(result);

    [TestMethod]
    public async Task Mount_ReadOnly_RunsDocumentedCommandLine()
    {
        Returns(["mount", "--background", "--read-only", @"C:\vm\a b.add-cow", "X:"], new ProcessResult(0, "", ""));

        await Client().MountAsync(new MountRequest(@"C:\vm\a b.add-cow", "X:", ReadOnly: true));

        _runner.VerifyAll();
        _runner.VerifyNoOtherCalls();
    }

    [TestMethod]
    public async Task Mount_Writable_HasNoReadOnlyFlag()
    {
        Returns(["mount", "--background", "img.add-cow", "X:"], new ProcessResult(0, "", ""));

        await Client().MountAsync(new MountRequest("img.add-cow", "X:", ReadOnly: false));

        _runner.VerifyAll();
    }

    [TestMethod]
    public async Task Mount_CliFails_ThrowsItsErrorLine()
    {
        Returns(["mount", "--background", "img.add-cow", "X:"], new ProcessResult(1, "", "addcow: drive X: is already in use\n"));

        MountClientException ex = await Assert.ThrowsExactlyAsync<MountClientException>(
            () => Client().MountAsync(new MountRequest("img.add-cow", "X:", false)));

        Assert.AreEqual("drive X: is already in use", ex.Message);
        Assert.AreEqual(1, ex.ExitCode);
    }

    [TestMethod]
    public async Task Unmount_FailsWithoutStderr_StillExplains()
    {
        Returns(["unmount", "X:"], new ProcessResult(1, "", ""));

        MountClientException ex = await Assert.ThrowsExactlyAsync<MountClientException>(() => Client().UnmountAsync("X:"));

        Assert.AreEqual("'addcow unmount' failed with exit code 1 and printed no error.", ex.Message);
    }

    [TestMethod]
    public async Task Create_RunsDocumentedCommandLine()
    {
        Returns(["create", "-b", "base.img", "-i", "vm.img", "vm.add-cow"], new ProcessResult(0, "", ""));

        await Client().CreateOverlayAsync(new CreateOverlayRequest("base.img", "vm.img", "vm.add-cow"));

        _runner.VerifyAll();
    }

    /// <summary>
    /// The dialogs hand over full paths; the overlay must store names relative to its own folder, with '/', as the
    /// CLI does for names typed relative, or the overlay cannot move or open on the other OS.
    /// </summary>
    [TestMethod]
    public async Task Create_FullPathsFromDialogs_PassesNamesRelativeToTheOverlay()
    {
        using var temp = new TempDirectory();
        string overlay = temp.Combine(Path.Combine("vm1", "vm1.add-cow"));
        string image = temp.Combine(Path.Combine("vm1", "vm1.raw"));
        string backing = temp.Combine(Path.Combine("base", "golden.raw"));
        Returns(["create", "-b", "../base/golden.raw", "-i", "vm1.raw", overlay], new ProcessResult(0, "", ""));

        await Client().CreateOverlayAsync(new CreateOverlayRequest(backing, image, overlay));

        _runner.VerifyAll();
    }

    [TestMethod]
    public async Task List_DocumentedJson_Parsed()
    {
        const string json = """
            [{"mountPoint":"X:","image":"C:\\vm\\disk.add-cow","pid":123,"readOnly":false,
              "files":["X:\\disk.img","X:\\disk.vhd","X:\\disk.vmdk"],"openHandles":2}]
            """;
        Returns(["list", "--output", "json"], new ProcessResult(0, json, ""));

        IReadOnlyList<MountInfo> mounts = await Client().ListAsync();

        Assert.HasCount(1, mounts);
        MountInfo m = mounts[0];
        Assert.AreEqual("X:", m.MountPoint);
        Assert.AreEqual(@"C:\vm\disk.add-cow", m.Image);
        Assert.AreEqual(123, m.Pid);
        Assert.IsFalse(m.ReadOnly);
        Assert.AreEqual(2, m.OpenHandles);
        Assert.AreEqual(@"X:\disk.vhd", m.VhdPath);
    }

    [TestMethod]
    public async Task List_Empty_IsNoMounts()
    {
        Returns(["list", "--output", "json"], new ProcessResult(0, "[]\n", ""));

        Assert.IsEmpty(await Client().ListAsync());
    }

    [TestMethod]
    [DataRow("mounted: X:")]
    [DataRow("")]
    [DataRow("[{\"image\":\"a.add-cow\"}]")]
    public async Task List_UnreadableOutput_Throws(string stdout)
    {
        Returns(["list", "--output", "json"], new ProcessResult(0, stdout, ""));

        MountClientException ex = await Assert.ThrowsExactlyAsync<MountClientException>(() => Client().ListAsync());

        StringAssert.Contains(ex.Message, "addcow list");
    }

    [TestMethod]
    public async Task Run_ExecutableMissing_ThrowsSayingReinstall()
    {
        _runner.Setup(r => r.RunAsync(Exe, It.IsAny<IReadOnlyList<string>>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new Win32Exception(2, "The system cannot find the file specified"));

        MountClientException ex = await Assert.ThrowsExactlyAsync<MountClientException>(() => Client().UnmountAsync("X:"));

        StringAssert.Contains(ex.Message, Exe);
        StringAssert.Contains(ex.Message, "Reinstall");
        Assert.IsNull(ex.ExitCode);
    }

    [TestMethod]
    public async Task Run_Hangs_TimesOutWithMessage()
    {
        _runner.Setup(r => r.RunAsync(Exe, It.IsAny<IReadOnlyList<string>>(), It.IsAny<CancellationToken>()))
            .Returns<string, IReadOnlyList<string>, CancellationToken>(async (_, _, ct) =>
            {
                await Task.Delay(Timeout.Infinite, ct);
                return new ProcessResult(0, "", "");
            });
        var client = new AddCowCliClient(Exe, _runner.Object, NullLogger<AddCowCliClient>.Instance, TimeSpan.FromMilliseconds(50));

        MountClientException ex = await Assert.ThrowsExactlyAsync<MountClientException>(() => client.UnmountAsync("X:"));

        StringAssert.Contains(ex.Message, "did not finish");
    }
}
