namespace AddCowMount.Nbd.Protocol;

/// <summary>
/// Bounds the payload bytes a connection holds in flight (buffers of pipelined reads and writes). A request
/// larger than the whole budget still runs, alone. Waiters are served in order.
/// </summary>
internal sealed class ByteBudget(long capacity)
{
    private readonly Lock _lock = new();
    private readonly Queue<(long Bytes, TaskCompletionSource Ready)> _waiters = new();
    private long _used;

    public Task AcquireAsync(long bytes, CancellationToken cancel)
    {
        TaskCompletionSource ready;
        lock (_lock)
        {
            if (_waiters.Count == 0 && Fits(bytes))
            {
                _used += bytes;
                return Task.CompletedTask;
            }

            ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Enqueue((bytes, ready));
        }

        return ready.Task.WaitAsync(cancel);
    }

    public void Release(long bytes)
    {
        lock (_lock)
        {
            _used -= bytes;
            while (_waiters.Count > 0 && Fits(_waiters.Peek().Bytes))
            {
                (long next, TaskCompletionSource ready) = _waiters.Dequeue();
                _used += next;
                ready.TrySetResult();
            }
        }
    }

    private bool Fits(long bytes) => _used == 0 || _used + bytes <= capacity;
}
