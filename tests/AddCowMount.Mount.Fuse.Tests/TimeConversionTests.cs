using AddCowMount.Mount.Fuse.Native;

namespace AddCowMount.Mount.Fuse.Tests;

[TestClass]
public sealed class TimeConversionTests
{
    [TestMethod]
    public void ToTimespec_RoundTrips()
    {
        var time = new DateTime(2023, 3, 4, 5, 6, 7, DateTimeKind.Utc).AddTicks(1234567);

        Timespec spec = TimeConversion.ToTimespec(time);

        Assert.AreEqual(123456700L, spec.Nanoseconds);
        Assert.AreEqual(time, TimeConversion.FromTimespec(spec, DateTime.MinValue));
    }

    [TestMethod]
    public void ToTimespec_BeforeEpoch_KeepsNanosecondsPositive()
    {
        Timespec spec = TimeConversion.ToTimespec(DateTime.UnixEpoch.AddMilliseconds(-1));

        Assert.AreEqual(-1L, spec.Seconds);
        Assert.AreEqual(999_000_000L, spec.Nanoseconds);
    }

    [TestMethod]
    public void FromTimespec_UtimeNowAndOmit()
    {
        var now = new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc);

        Assert.AreEqual(now, TimeConversion.FromTimespec(new Timespec { Nanoseconds = Timespec.UtimeNow }, now));
        Assert.IsNull(TimeConversion.FromTimespec(new Timespec { Nanoseconds = Timespec.UtimeOmit }, now));
    }

    [TestMethod]
    public void FromTimespec_HugeSeconds_Clamps()
    {
        Assert.AreEqual(DateTime.MaxValue.Year, TimeConversion.FromTimespec(new Timespec { Seconds = long.MaxValue }, DateTime.UtcNow)!.Value.Year);
    }
}
