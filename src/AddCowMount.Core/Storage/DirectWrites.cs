using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace AddCowMount.Core.Storage;

/// <summary>
/// With <see cref="FileStorage.DirectLargeWrites"/> (<c>--cache none</c>), large page-aligned writes of a writable
/// file on Linux go around the page cache (O_DIRECT through a second descriptor of the same open file). Not the
/// default: where the page cache is cheap to fill, buffered writes win (the closing fsync writes large merged I/O,
/// and data just written is read back from memory); measured on one VM host, buffered writes of fresh data were
/// slow instead. Why direct helps there: a buffered write first has to allocate page-cache pages and copy into
/// them, and for a stream of new data (a guest installing, a restore) that is where the time went: profiled under
/// fio, 66% of the mount's CPU was <c>copy_folio_from_iter_atomic</c> filling fresh pages (on a VM with free page
/// reporting every fresh page is a host fault too), against 2 ms per MiB written... Direct writes skip it, and
/// the closing fsync has little left to write back.
/// <para>
/// Semantics stay those of buffered I/O: Linux keeps the page cache coherent with direct writes (dirty pages of the
/// range are written back first and cached pages dropped after), fsync of the primary descriptor covers direct
/// writes (it flushes the inode and the device cache), and a failed direct write throws at once. Small or unaligned
/// writes stay buffered. A file system that refuses O_DIRECT (tmpfs, some FUSE servers) or an alignment it rejects
/// (EINVAL) turns the path off for this file and the write is done buffered.
/// </para>
/// </summary>
internal sealed class DirectWrites : IDisposable
{
    /// <summary>Writes smaller than this stay buffered (4 KiB random writes gain from the cache and the merged flush).</summary>
    internal const int MinimumLength = 128 * 1024;

    private const int Alignment = 4096;
    private const int ChunkLength = 1024 * 1024;
    private const int PooledChunks = 16;
    private const int EINVAL = 22;

    private static readonly ConcurrentBag<IntPtr> s_chunks = [];
    private static int s_pooled;

    private readonly SafeFileHandle _primary;
    private readonly Lock _openLock = new();
    private SafeFileHandle? _direct;
    private volatile bool _unavailable;

    public DirectWrites(SafeFileHandle primary)
    {
        _primary = primary;
        _unavailable = !OperatingSystem.IsLinux();
    }

    /// <summary>True when the write went direct; false when the caller must write it buffered.</summary>
    public unsafe bool TryWrite(long offset, ReadOnlySpan<byte> data)
    {
        if (_unavailable || data.Length < MinimumLength || offset % Alignment != 0 || data.Length % Alignment != 0)
        {
            return false;
        }

        SafeFileHandle? direct = _direct ?? Open();
        if (direct is null)
        {
            return false;
        }

        try
        {
            fixed (byte* source = data)
            {
                if ((nuint)source % Alignment == 0)
                {
                    RandomAccess.Write(direct, data, offset);
                    return true;
                }
            }

            // The FUSE request buffer puts the payload after its headers, off page alignment: bounce through a
            // pooled aligned chunk (a copy into memory that stays mapped and warm, unlike fresh page-cache pages).
            IntPtr chunk = Rent();
            try
            {
                var bounce = new Span<byte>((void*)chunk, ChunkLength);
                for (int done = 0; done < data.Length; done += ChunkLength)
                {
                    int n = Math.Min(ChunkLength, data.Length - done);
                    data.Slice(done, n).CopyTo(bounce);
                    RandomAccess.Write(direct, bounce[..n], offset + done);
                }
            }
            finally
            {
                Return(chunk);
            }

            return true;
        }
        catch (IOException ex) when (ex.HResult == EINVAL)
        {
            // Nothing was written: the file system wants another alignment. Stay buffered from now on.
            _unavailable = true;
            return false;
        }
    }

    public void Dispose()
    {
        lock (_openLock)
        {
            _unavailable = true;
            _direct?.Dispose();
        }
    }

    private SafeFileHandle? Open()
    {
        lock (_openLock)
        {
            if (_direct is not null || _unavailable)
            {
                return _direct;
            }

            // Reopen the same file (even if renamed since) through /proc, write-only, without a lock of its own:
            // the primary descriptor holds the file's lock.
            const int O_WRONLY = 1;
            const int O_DIRECT = 0x4000;
            const int O_CLOEXEC = 0x80000;
            bool added = false;
            _primary.DangerousAddRef(ref added);
            try
            {
                int fd = Native.Open($"/proc/self/fd/{_primary.DangerousGetHandle()}", O_WRONLY | O_DIRECT | O_CLOEXEC);
                if (fd < 0)
                {
                    _unavailable = true;
                    return null;
                }

                _direct = new SafeFileHandle(fd, ownsHandle: true);
                return _direct;
            }
            finally
            {
                if (added)
                {
                    _primary.DangerousRelease();
                }
            }
        }
    }

    private static unsafe IntPtr Rent()
    {
        if (s_chunks.TryTake(out IntPtr chunk))
        {
            Interlocked.Decrement(ref s_pooled);
            return chunk;
        }

        return (IntPtr)NativeMemory.AlignedAlloc(ChunkLength, Alignment);
    }

    private static unsafe void Return(IntPtr chunk)
    {
        if (Interlocked.Increment(ref s_pooled) <= PooledChunks)
        {
            s_chunks.Add(chunk);
            return;
        }

        Interlocked.Decrement(ref s_pooled);
        NativeMemory.AlignedFree((void*)chunk);
    }
}
