using AddCowMount.Core.Volume;

namespace AddCowMount.Mount.Windows.Operations;

/// <summary>
/// Runs a flush and, while it lasts, asks Dokan for more time (<c>info.TryResetTimeout</c>) every
/// <c>interval</c>, so a long flush of a large overlay is not cancelled by the driver's timeout.
/// </summary>
public static class FlushKeepAlive
{
    public static VolumeStatus Run(Func<VolumeStatus> flush, Func<bool> keepAlive, TimeSpan interval)
    {
        ArgumentNullException.ThrowIfNull(flush);
        ArgumentNullException.ThrowIfNull(keepAlive);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);

        var task = Task.Run(flush);
        var waitHandle = ((IAsyncResult)task).AsyncWaitHandle;
        while (!waitHandle.WaitOne(interval))
        {
            try
            {
                keepAlive();
            }
            catch (Exception)
            {
                // A failed extension must not abandon the flush; the driver's own timeout then applies.
            }
        }

        // Rethrows the flush's own exception (not an AggregateException) for the callback's single catch.
        return task.GetAwaiter().GetResult();
    }
}
