using AddCowMount.Mount.Fuse.Native;

namespace AddCowMount.Mount.Fuse;

/// <summary>DateTime (UTC) to and from struct timespec.</summary>
internal static class TimeConversion
{
    private const long NanosecondsPerTick = 100;
    private static readonly long s_maxSeconds = (DateTime.MaxValue.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerSecond;
    private static readonly long s_minSeconds = -DateTime.UnixEpoch.Ticks / TimeSpan.TicksPerSecond;

    public static Timespec ToTimespec(DateTime utc)
    {
        long ticks = (utc.Kind == DateTimeKind.Local ? utc.ToUniversalTime() : utc).Ticks - DateTime.UnixEpoch.Ticks;
        long seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long remainder);
        if (remainder < 0)
        {
            seconds--;
            remainder += TimeSpan.TicksPerSecond;
        }

        return new Timespec { Seconds = seconds, Nanoseconds = remainder * NanosecondsPerTick };
    }

    /// <summary>A time from utimensat: UTIME_NOW gives <paramref name="now"/>, UTIME_OMIT null (leave unchanged).</summary>
    public static DateTime? FromTimespec(Timespec time, DateTime now)
    {
        if (time.Nanoseconds == Timespec.UtimeOmit)
        {
            return null;
        }

        if (time.Nanoseconds == Timespec.UtimeNow)
        {
            return now;
        }

        long seconds = Math.Clamp(time.Seconds, s_minSeconds, s_maxSeconds);
        long ticks = (seconds * TimeSpan.TicksPerSecond) + (Math.Clamp(time.Nanoseconds, 0, 999_999_999) / NanosecondsPerTick) + DateTime.UnixEpoch.Ticks;
        return new DateTime(Math.Clamp(ticks, DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks), DateTimeKind.Utc);
    }
}
