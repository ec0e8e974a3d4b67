using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace AddCowMount.Core.Storage;

/// <summary>
/// With <see cref="FileStorage.DirectLargeIo"/> (<c>--cache none</c>), large page-aligned reads and writes of a file
/// opened for writing go around the page cache on Linux (O_DIRECT through a second descriptor of the same open file);
/// small ones, and large reads the page cache already holds whole, stay buffered. Read-only files are not given one:
/// the golden base is shared by every machine on the host, and its cached pages serve them all.
/// <para>
/// Why: filling the page cache is what large buffered I/O costs on a VM host. Every fresh page-cache page is also a
/// fresh page to the hypervisor (free page reporting), so a cold buffered read or a first-touch buffered write runs
/// at the rate the host hands out pages (measured here with dd into fresh tmpfs pages: 400 MB/s, against 6 GB/s into
/// pages already held), while the disk took direct I/O at 1.3-4 GB/s. And on Linux 6.16+ a large buffered write
/// leaves the data in large folios, after which every small write into them walks all their buffer heads
/// (<c>ext4_block_write_begin</c>, 29% of the mount's samples under random 4 KiB overwrites of sequentially written
/// data) under the inode lock the other writers spin on. Direct large I/O leaves no large folios, and the small
/// writes land in small ones.
/// </para>
/// <para>
/// Semantics stay those of buffered I/O: Linux keeps the page cache coherent with direct I/O (dirty pages of the
/// range are written back first; cached pages of a directly written range are dropped after), fsync of the primary
/// descriptor covers direct writes (it flushes the inode and the device cache), and a failed direct write throws at
/// once. A file system that refuses O_DIRECT (tmpfs, some FUSE servers) or an alignment it rejects (EINVAL) turns the
/// path off for this file, and the I/O is done buffered.
/// </para>
/// </summary>
internal sealed partial class DirectIo : IDisposable
{
    /// <summary>I/O smaller than this stays buffered (4 KiB random I/O gains from the cache and the merged flush).</summary>
    internal const int MinimumLength = 128 * 1024;

    private const int Alignment = 4096;
    private const int ChunkLength = 1024 * 1024;
    private const int PooledChunks = 16;
    private const int EINVAL = 22;

    private static readonly ConcurrentBag<IntPtr> s_chunks = [];
    private static int s_pooled;
    private static volatile bool s_noCachestat;

    private readonly SafeFileHandle _primary;
    private readonly Lock _openLock = new();
    private SafeFileHandle? _direct;
    private volatile bool _unavailable;

    public DirectIo(SafeFileHandle primary)
    {
        _primary = primary;
        _unavailable = !OperatingSystem.IsLinux();
    }

    /// <summary>True when the write went direct; false when the caller must write it buffered.</summary>
    public unsafe bool TryWrite(long offset, ReadOnlySpan<byte> data)
    {
        if (!Qualifies(offset, data.Length) || Descriptor() is not { } direct)
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

    /// <summary>
    /// Reads a large aligned range directly unless the page cache holds all of it. Returns the bytes read (fewer only
    /// at the end of the file), or -1 when the caller must read it buffered.
    /// </summary>
    public unsafe int TryRead(long offset, Span<byte> buffer)
    {
        if (!Qualifies(offset, buffer.Length) || FullyCached(offset, buffer.Length) || Descriptor() is not { } direct)
        {
            return -1;
        }

        try
        {
            fixed (byte* target = buffer)
            {
                if ((nuint)target % Alignment == 0)
                {
                    return ReadAll(direct, buffer, offset);
                }
            }

            IntPtr chunk = Rent();
            try
            {
                var bounce = new Span<byte>((void*)chunk, ChunkLength);
                int total = 0;
                while (total < buffer.Length)
                {
                    int want = Math.Min(ChunkLength, buffer.Length - total);
                    int n = ReadAll(direct, bounce[..want], offset + total);
                    bounce[..n].CopyTo(buffer[total..]);
                    total += n;
                    if (n < want)
                    {
                        break; // end of file
                    }
                }

                return total;
            }
            finally
            {
                Return(chunk);
            }
        }
        catch (IOException ex) when (ex.HResult == EINVAL)
        {
            _unavailable = true;
            return -1;
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

    /// <summary>
    /// Pages of the range the page cache holds, and how many of them are dirty, from cachestat(2) (Linux 6.5+: a query
    /// that reads nothing and starts no readahead); null where the kernel has no cachestat.
    /// </summary>
    internal static unsafe (long Cached, long Dirty)? PageCache(SafeFileHandle handle, long offset, long length)
    {
        const long SYS_cachestat = 451; // x86_64 and arm64 alike (the generic syscall table)
        if (!OperatingSystem.IsLinux() || s_noCachestat)
        {
            return null;
        }

        return Descriptors.Call(handle, (offset, length), static (fd, span) =>
        {
            var range = new CachestatRange { Offset = (ulong)span.offset, Length = (ulong)span.length };
            Cachestat stat;
            if (Syscall(SYS_cachestat, fd, &range, &stat, 0) != 0)
            {
                s_noCachestat = true; // ENOSYS (older kernel) or a seccomp filter: cannot tell, so stay buffered
                return ((long, long)?)null;
            }

            return ((long)stat.Cache, (long)stat.Dirty);
        });
    }

    private bool Qualifies(long offset, int length) =>
        !_unavailable && length >= MinimumLength && offset % Alignment == 0 && length % Alignment == 0;

    /// <summary>Whole range in the page cache, or no way to tell: then a buffered read is the right one.</summary>
    private bool FullyCached(long offset, int length) =>
        (PageCache(_primary, offset, length)?.Cached ?? long.MaxValue) >= length / Environment.SystemPageSize;

    /// <summary>pread until the buffer is full or the file ends (either descriptor: buffered or direct).</summary>
    internal static int ReadAll(SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = RandomAccess.Read(handle, buffer[total..], offset + total);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }

    private SafeFileHandle? Descriptor()
    {
        if (_direct is not null || _unavailable)
        {
            return _direct;
        }

        lock (_openLock)
        {
            if (_direct is not null || _unavailable)
            {
                return _direct;
            }

            // Reopen the same file (even if renamed since) through /proc, without a lock of its own: the primary
            // descriptor holds the file's lock.
            const int O_RDWR = 2;
            const int O_DIRECT = 0x4000;
            const int O_CLOEXEC = 0x80000;
            int fd = Descriptors.Call(_primary, 0, static (primary, _) =>
                Native.Open($"/proc/self/fd/{primary}", O_RDWR | O_DIRECT | O_CLOEXEC));
            if (fd < 0)
            {
                _unavailable = true;
                return null;
            }

            _direct = new SafeFileHandle(fd, ownsHandle: true);
            return _direct;
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

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static unsafe partial long Syscall(long number, int fd, CachestatRange* range, Cachestat* stat, uint flags);

    [StructLayout(LayoutKind.Sequential)]
    private struct CachestatRange
    {
        public ulong Offset;
        public ulong Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Cachestat
    {
        public ulong Cache;
        public ulong Dirty;
        public ulong Writeback;
        public ulong Evicted;
        public ulong RecentlyEvicted;
    }
}
