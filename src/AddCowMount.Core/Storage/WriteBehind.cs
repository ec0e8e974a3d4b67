using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace AddCowMount.Core.Storage;

/// <summary>
/// Write-behind for one file's large buffered writes: once a write of <see cref="MinimumLength"/> or more is in the page
/// cache, its pages are handed to the disk (Linux <c>sync_file_range(SYNC_FILE_RANGE_WRITE)</c>, which starts
/// writeback and waits for none of it), instead of staying dirty until the next flush or the kernel's 30-second expiry.
/// A sequential stream then has the disk writing while the next requests are still being copied, and the flush that
/// ends it finds little left to do; PostgreSQL's <c>*_flush_after</c> settings do the same for the same reason.
/// Small writes stay lazy: random 4 KiB writes gain from being merged and written once at the flush.
/// <para>
/// The call is made off the writer's path, by one worker thread per file that takes every range queued since its last call
/// and merges the adjacent ones, and ends after <see cref="IdleExit"/> without work (a thread of its own, not the thread
/// pool's: a pool thread spins for more work between bursts, some 4,400 <c>sched_yield</c> calls per 256 MiB pass, CPU the
/// copy and the kernel's writeback need on a small machine): starting writeback of new data allocates its blocks and can wait for free slots in the
/// disk's queue, milliseconds a request would otherwise spend before it is answered (measured: issued inline, a first
/// pass of 1 MiB writes at queue depth 4 had 4-15 ms median latency).
/// </para>
/// <para>
/// Nothing about durability changes: this is a hint, not a flush. A flush still fsyncs every dirty page, whether or not
/// its range was handed over yet, and a writeback error is still reported by it (without a wait flag sync_file_range
/// leaves the file's error state for fsync to find). Where the call is not available (other systems, a file system that
/// refuses it) writes stay as they were.
/// </para>
/// </summary>
internal sealed partial class WriteBehind
{
    /// <summary>Writes smaller than this are left to the flush.</summary>
    internal const int MinimumLength = 128 * 1024;

    /// <summary>How long the worker thread waits for more ranges before it ends (the next large write starts another).</summary>
    internal static readonly TimeSpan IdleExit = TimeSpan.FromSeconds(2);

    private const uint SYNC_FILE_RANGE_WRITE = 2;

    private readonly SafeFileHandle _handle;
    private readonly object _gate = new();
    private List<(long Offset, long Length)> _queued = [];
    private List<(long Offset, long Length)> _spare = [];
    private bool _working;
    private volatile bool _off = !OperatingSystem.IsLinux();

    public WriteBehind(SafeFileHandle handle) => _handle = handle;

    /// <summary>Whether a worker thread is running (or about to): for tests.</summary>
    internal bool Working
    {
        get
        {
            lock (_gate)
            {
                return _working;
            }
        }
    }

    /// <summary>Queues the range's writeback (starting the worker thread if none is running); returns at once.</summary>
    public void Add(long offset, long length)
    {
        if (_off || length < MinimumLength)
        {
            return;
        }

        lock (_gate)
        {
            _queued.Add((offset, length));
            if (_working)
            {
                Monitor.Pulse(_gate);
                return;
            }

            _working = true;
        }

        new Thread(static self => ((WriteBehind)self!).Work()) { IsBackground = true, Name = "write-behind" }.Start(this);
    }

    /// <summary>
    /// Stops the worker and waits for the call it may be in: it holds a reference on the handle, which would keep the
    /// file open (and its lock held) for a moment after the file was closed. Called before the handle is disposed.
    /// </summary>
    public void Stop()
    {
        lock (_gate)
        {
            _off = true;
            Monitor.PulseAll(_gate);
            while (_working)
            {
                Monitor.Wait(_gate);
            }
        }
    }

    private void Work()
    {
        while (true)
        {
            List<(long Offset, long Length)> ranges;
            lock (_gate)
            {
                while (_queued.Count == 0 && !_off && Monitor.Wait(_gate, IdleExit))
                {
                }

                if (_queued.Count == 0 || _off)
                {
                    _queued.Clear();
                    _working = false;
                    Monitor.PulseAll(_gate);
                    return;
                }

                ranges = _queued;
                _queued = _spare;
                _spare = ranges;
            }

            ranges.Sort(static (a, b) => a.Offset.CompareTo(b.Offset));
            long start = ranges[0].Offset;
            long end = start;
            foreach ((long offset, long length) in ranges)
            {
                if (offset > end)
                {
                    Start(start, end - start);
                    start = offset;
                }

                end = Math.Max(end, offset + length);
            }

            Start(start, end - start);
            ranges.Clear();
        }
    }

    private void Start(long offset, long length)
    {
        if (_off)
        {
            return; // stopped, or refused: the rest of this turn's ranges are not asked for
        }

        try
        {
            int errno = Descriptors.Call(_handle, (offset, length), static (fd, range) =>
                SyncFileRange(fd, range.offset, range.length, SYNC_FILE_RANGE_WRITE) == 0 ? 0 : Marshal.GetLastPInvokeError());

            // EINVAL/ESPIPE/ENOSYS: not for this file, do not ask again. EIO and the like: a writeback failure, which
            // the next fsync reports; the hint itself stays on.
            const int EIO = 5;
            _off |= errno != 0 && errno != EIO;
        }
        catch (ObjectDisposedException)
        {
            // The file was closed while its ranges were queued: its flush, if it had one, has written them.
            _off = true;
        }
    }

    [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static partial int SyncFileRange(int fd, long offset, long nbytes, uint flags);
}
