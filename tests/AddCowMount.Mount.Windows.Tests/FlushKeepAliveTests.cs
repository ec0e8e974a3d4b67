using AddCowMount.Core.Volume;
using AddCowMount.Mount.Windows.Operations;

namespace AddCowMount.Mount.Windows.Tests;

[TestClass]
public sealed class FlushKeepAliveTests
{
    [TestMethod]
    public void Run_LongFlush_ResetsTimeoutUntilItEnds()
    {
        using var release = new ManualResetEventSlim();
        var resets = 0;

        var status = FlushKeepAlive.Run(
            () =>
            {
                Assert.IsTrue(release.Wait(TimeSpan.FromSeconds(30)), "keep-alive never came");
                return VolumeStatus.Success;
            },
            () =>
            {
                if (Interlocked.Increment(ref resets) == 3)
                {
                    release.Set();
                }

                return true;
            },
            TimeSpan.FromMilliseconds(20));

        Assert.AreEqual(VolumeStatus.Success, status);
        Assert.IsGreaterThanOrEqualTo(3, resets);
    }

    [TestMethod]
    public void Run_QuickFlush_ReturnsItsStatusWithoutReset()
    {
        var resets = 0;

        var status = FlushKeepAlive.Run(() => VolumeStatus.IoError, () => ++resets > 0, TimeSpan.FromSeconds(10));

        Assert.AreEqual(VolumeStatus.IoError, status);
        Assert.AreEqual(0, resets);
    }

    [TestMethod]
    public void Run_FlushThrows_RethrowsTheOriginalException()
    {
        Assert.ThrowsExactly<IOException>(() => FlushKeepAlive.Run(() => throw new IOException("disk gone"), () => true, TimeSpan.FromSeconds(1)));
    }

    [TestMethod]
    public void Run_KeepAliveThrows_FlushStillCompletes()
    {
        using var release = new ManualResetEventSlim();
        var calls = 0;

        var status = FlushKeepAlive.Run(
            () =>
            {
                release.Wait(TimeSpan.FromSeconds(30));
                return VolumeStatus.Success;
            },
            () =>
            {
                if (Interlocked.Increment(ref calls) == 2)
                {
                    release.Set();
                }

                throw new DllNotFoundException("dokan2.dll");
            },
            TimeSpan.FromMilliseconds(10));

        Assert.AreEqual(VolumeStatus.Success, status);
    }
}
