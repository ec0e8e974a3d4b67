using AddCowMount.Tray.Core.Mounts;

namespace AddCowMount.Tray.Core.Tests;

[TestClass]
[OSCondition(OperatingSystems.Linux | OperatingSystems.OSX)]
public sealed class ProcessRunnerTests
{
    [TestMethod]
    public async Task Run_CapturesExitCodeAndBothStreams()
    {
        ProcessResult result = await new ProcessRunner().RunAsync("/bin/sh", ["-c", "echo out; echo 'addcow: bad' >&2; exit 3"], CancellationToken.None);

        Assert.AreEqual(3, result.ExitCode);
        Assert.AreEqual("out", result.StandardOutput.Trim());
        Assert.AreEqual("addcow: bad", result.StandardError.Trim());
    }

    [TestMethod]
    public async Task Run_BackgroundChildKeepsPipes_ReturnsWhenProgramExits()
    {
        // Like 'addcow mount --background': the program exits, the mount process it started lives on.
        var watch = System.Diagnostics.Stopwatch.StartNew();

        ProcessResult result = await new ProcessRunner().RunAsync("/bin/sh", ["-c", "sleep 20 & echo mounted"], CancellationToken.None);

        Assert.AreEqual(0, result.ExitCode);
        Assert.AreEqual("mounted", result.StandardOutput.Trim());
        Assert.IsLessThan(10, watch.Elapsed.TotalSeconds);
    }
}
