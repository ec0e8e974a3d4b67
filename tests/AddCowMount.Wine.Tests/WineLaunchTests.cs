using AddCowMount.Wine.Tests.Support;

namespace AddCowMount.Wine.Tests;

/// <summary>When the harness launches a Windows program a second time: only when Wine never started the first (no Wine needed).</summary>
[TestClass]
public sealed class WineLaunchTests
{
    private static readonly TimeSpan Fast = TimeSpan.FromMilliseconds(10);

    [TestMethod]
    public void DidNotStart_OnlyForAFastSilentFailureThatWroteNoLog()
    {
        // The CI failure: `wine msiexec /i ... ADDLOCAL=Main` exited 1 after 0.01 s, no output, no log.
        Assert.IsTrue(Launch(1, Fast).DidNotStart);
        // Wine's loader refusing to start says so in "wine: " lines only.
        Assert.IsTrue(Launch(1, TimeSpan.FromMilliseconds(4), error: "wine: cannot use directory /tmp/x : Not a directory\n").DidNotStart);

        Assert.IsFalse(Launch(0, Fast).DidNotStart, "a success");
        Assert.IsFalse(Launch(1, Fast, output: "usage\n").DidNotStart, "printed on stdout");
        Assert.IsFalse(Launch(1, Fast, error: "addcow: x: refused\n").DidNotStart, "printed its own stderr line");
        Assert.IsFalse(Launch(1, Fast, wroteLog: true).DidNotStart, "msiexec wrote its log");
        // The fastest real start measured: a silent `wine sc delete` of a missing service, exit 1 in 37 ms.
        Assert.IsFalse(Launch(1, TimeSpan.FromMilliseconds(37)).DidNotStart, "a silent failure as fast as a real start");
        Assert.IsFalse(Launch(1, WineLaunch.StartBound).DidNotStart, "at the bound");
        Assert.IsFalse(Launch(1, TimeSpan.FromSeconds(2)).DidNotStart, "a slow failure");
    }

    [TestMethod]
    public void LaunchThatDidNotStart_IsRetriedOnce_AndTheSecondResultIsReturned()
    {
        var launches = new Launches(Launch(1, Fast, command: "first"), Launch(0, TimeSpan.FromSeconds(3), output: "installed\n", command: "second"));

        RunResult result = WineLaunch.RetryingOnce(launches.Next, launches.Report);

        Assert.AreEqual(2, launches.Count);
        Assert.AreEqual("second", result.CommandLine);
        Assert.AreEqual(0, result.ExitCode);
        Assert.HasCount(1, launches.Reports);
        StringAssert.Contains(launches.Reports[0], "Wine did not start `first`");
        StringAssert.Contains(launches.Reports[0], "launched it once more");
        StringAssert.Contains(result.Describe(), "Wine did not start `first`", "the second result does not say it is a second launch");
    }

    [TestMethod]
    public void FastFailureWithOutput_IsNotRetried()
    {
        var launches = new Launches(Launch(1, Fast, error: "addcow: b.add-cow: backing file is a device path; refused\n", command: "first"), Launch(0, Fast, command: "second"));

        RunResult result = WineLaunch.RetryingOnce(launches.Next, launches.Report);

        Assert.AreEqual(1, launches.Count);
        Assert.AreEqual("first", result.CommandLine);
        Assert.AreEqual(1, result.ExitCode);
        Assert.IsEmpty(launches.Reports);
        Assert.IsNull(result.FirstLaunch);
    }

    [TestMethod]
    public void SlowSilentFailure_IsNotRetried()
    {
        var launches = new Launches(Launch(1, TimeSpan.FromSeconds(2), command: "first"), Launch(0, Fast, command: "second"));

        RunResult result = WineLaunch.RetryingOnce(launches.Next, launches.Report);

        Assert.AreEqual(1, launches.Count);
        Assert.AreEqual("first", result.CommandLine);
        Assert.IsEmpty(launches.Reports);
    }

    [TestMethod]
    public void MsiexecThatWroteItsLog_IsNotRetried()
    {
        var launches = new Launches(Launch(1, Fast, wroteLog: true, command: "first"), Launch(0, Fast, command: "second"));

        RunResult result = WineLaunch.RetryingOnce(launches.Next, launches.Report);

        Assert.AreEqual(1, launches.Count);
        Assert.AreEqual("first", result.CommandLine);
    }

    [TestMethod]
    public void TwoLaunchesThatDidNotStart_GiveTheSecondFailure()
    {
        var launches = new Launches(Launch(1, Fast, command: "first"), Launch(1, Fast, command: "second"), Launch(0, Fast, command: "third"));

        RunResult result = WineLaunch.RetryingOnce(launches.Next, launches.Report);

        Assert.AreEqual(2, launches.Count, "launched more than twice");
        Assert.AreEqual("second", result.CommandLine);
        Assert.AreEqual(1, result.ExitCode);
        Assert.HasCount(1, launches.Reports);
        StringAssert.Contains(result.Describe(), "Wine did not start `first`");
    }

    private static WineLaunch Launch(int exitCode, TimeSpan elapsed, string output = "", string error = "", bool wroteLog = false, string command = "wine msiexec /i x.msi") =>
        new(new RunResult(command, exitCode, System.Text.Encoding.UTF8.GetBytes(output), error) { Elapsed = elapsed }, wroteLog);

    /// <summary>A fake launcher: hands out the given launches in order and counts them.</summary>
    private sealed class Launches(params WineLaunch[] launches)
    {
        public int Count { get; private set; }

        public List<string> Reports { get; } = [];

        public WineLaunch Next() => launches[Count++];

        public void Report(string line) => Reports.Add(line);
    }
}
