using Microsoft.Win32.SafeHandles;

namespace AddCowMount.Core.Storage;

/// <summary>
/// A libc call on the descriptor a <see cref="SafeFileHandle"/> holds. The handle is kept open across the call, so a
/// Dispose on another thread waits for the call to return instead of closing the number under it (which the next open
/// could reuse, for another file). A handle already closed throws <see cref="ObjectDisposedException"/> before the call.
/// The callback reads errno (Marshal.GetLastPInvokeError) itself, before anything else can overwrite it.
/// </summary>
internal static class Descriptors
{
    public static TResult Call<TState, TResult>(SafeFileHandle handle, TState state, Func<int, TState, TResult> call)
    {
        bool added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            return call((int)handle.DangerousGetHandle(), state);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }
}
