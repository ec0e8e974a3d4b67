using System.Runtime.InteropServices;

namespace AddCowMount.Mount.Fuse.Native;

/// <summary>
/// The multithreaded FUSE loop, reading /dev/fuse into buffers where a WRITE request's payload lands page-aligned.
/// <para>
/// libfuse's own loop (fuse_loop_mt) reads each request to the start of a malloc'ed buffer, so a write's data sits
/// 80 bytes in (fuse_in_header + fuse_write_in) and a direct write of it (<c>--cache none</c>) has to be copied into
/// an aligned bounce buffer first: one more 1 MiB memcpy per request. Here each worker reads to 80 bytes before a
/// page boundary and hands the request to libfuse's public <c>fuse_session_process_buf</c>, which parses and
/// dispatches it exactly as its own loop does (write_buf then sees the payload in place, aligned).
/// </para>
/// <para>
/// Each of <c>threads</c> workers blocks in read(2); the kernel hands a request to one of them. The loop ends when
/// the connection does (ENODEV after an unmount) or the session is told to exit; a read error that is not one of
/// libfuse's retry cases (EINTR, EAGAIN, ENOENT for an interrupted request) ends it with -errno, as fuse_loop_mt
/// returns.
/// </para>
/// <para>
/// READ requests the mount can answer from a file mapping (<see cref="FuseVolumeAdapter.TryMapRead"/>: the golden base
/// under an overlay) are answered here, with one writev of the reply header and the mapped bytes: the kernel copies the
/// page-cache pages straight into the client's buffer. libfuse's path reads them into a buffer first and writes that,
/// two copies of every byte; on a cold sequential read of the base those two copies took some 0.8 of a core of this
/// 2-core machine. (Splicing the pages, libfuse's answer, needs a pipe of 2 MiB for a 1 MiB reply, more than
/// /proc/sys/fs/pipe-max-size lets a process without CAP_SYS_RESOURCE have.) Every other request, and any READ the
/// shortcut declines, goes to libfuse as before.
/// </para>
/// </summary>
internal static unsafe partial class FuseSessionLoop
{
    /// <summary>fuse_in_header (40 bytes) + fuse_write_in (40 bytes): where a WRITE's payload starts.</summary>
    internal const int WriteHeaderLength = 80;

    private const int PageSize = 4096;

    /// <summary>libfuse's own receive buffer: FUSE_MAX_MAX_PAGES (256) pages of payload + one page of headers.</summary>
    private const int BufferLength = (256 * PageSize) + PageSize;

    private const int EINTR = 4;
    private const int EAGAIN = 11;
    private const int ENOENT = 2;
    private const int ENODEV = 19;

    /// <summary>Answers a READ from memory: the address of <paramref name="size"/> bytes to reply with, or false.</summary>
    internal delegate bool MappedRead(ulong handle, long offset, int size, out byte* data);

    /// <summary>FUSE_READ.</summary>
    private const uint OpRead = 15;

    /// <summary>fuse_in_header (40 bytes) + fuse_read_in (40 bytes since protocol 7.9).</summary>
    internal const int ReadRequestLength = 80;

    /// <summary>fuse_out_header: len, error, unique.</summary>
    private const int ReplyHeaderLength = 16;

    private const int EIO = 5;

    public static int Run(IntPtr fuse, int threads) => Run(fuse, threads, null);

    public static int Run(IntPtr fuse, int threads, MappedRead? mappedRead)
    {
        IntPtr session = GetSession(fuse);
        int fd = SessionFd(session);
        int result = 0;
        var workers = new Thread[Math.Max(1, threads)];
        for (int i = 0; i < workers.Length; i++)
        {
            workers[i] = new Thread(() =>
            {
                int r = Worker(session, fd, mappedRead);
                if (r != 0)
                {
                    Interlocked.CompareExchange(ref result, r, 0);
                }
            })
            {
                IsBackground = true,
                Name = "fuse-worker",
            };
            workers[i].Start();
        }

        foreach (Thread worker in workers)
        {
            worker.Join();
        }

        return result;
    }

    /// <summary>Where a request is read to in a buffer of <see cref="BufferLength"/> + one page: a write's payload then starts on a page.</summary>
    internal static byte* RequestStart(byte* page) => page + PageSize - WriteHeaderLength;

    private static int Worker(IntPtr session, int fd, MappedRead? mappedRead)
    {
        byte* block = (byte*)NativeMemory.AlignedAlloc(BufferLength + PageSize, PageSize);
        try
        {
            byte* start = RequestStart(block);
            FuseBuf buf;
            while (SessionExited(session) == 0)
            {
                nint n = Read(fd, start, BufferLength);
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno is EINTR or EAGAIN or ENOENT)
                    {
                        continue;
                    }

                    SessionExit(session); // every worker ends: the connection is gone (ENODEV) or broken
                    return errno == ENODEV ? 0 : -errno;
                }

                if (n == 0)
                {
                    SessionExit(session);
                    return 0;
                }

                if (mappedRead is not null && TryReplyMapped(fd, start, n, mappedRead))
                {
                    continue;
                }

                buf = new FuseBuf { Size = (nuint)n, Mem = start, MemSize = BufferLength };
                ProcessBuf(session, &buf);
            }

            return 0;
        }
        finally
        {
            NativeMemory.AlignedFree(block);
        }
    }

    /// <summary>
    /// Replies to a READ whose bytes <paramref name="mappedRead"/> has in memory; false leaves the request to libfuse.
    /// A reply the kernel refuses is answered with EIO, so the client's read fails rather than waits; ENOENT (the
    /// request was interrupted and is gone) and ENODEV (unmounted) need no answer.
    /// </summary>
    internal static bool TryReplyMapped(int fd, byte* request, nint length, MappedRead mappedRead)
    {
        if (length < ReadRequestLength || *(uint*)(request + 4) != OpRead)
        {
            return false;
        }

        ulong unique = *(ulong*)(request + 8);
        ulong handle = *(ulong*)(request + 40);
        long offset = *(long*)(request + 48);
        uint size = *(uint*)(request + 56);
        byte* data;
        try
        {
            if (size == 0 || size > int.MaxValue - ReplyHeaderLength || !mappedRead(handle, offset, (int)size, out data))
            {
                return false;
            }
        }
        catch (Exception)
        {
            return false; // libfuse's path runs the read again and reports what failed
        }

        ReplyHeader header = new() { Length = ReplyHeaderLength + size, Error = 0, Unique = unique };
        IoVector* vectors = stackalloc IoVector[2];
        vectors[0] = new IoVector { Base = &header, Length = ReplyHeaderLength };
        vectors[1] = new IoVector { Base = data, Length = size };
        if (Writev(fd, vectors, 2) >= 0)
        {
            return true;
        }

        int errno = Marshal.GetLastPInvokeError();
        if (errno is not (ENOENT or ENODEV))
        {
            header = new ReplyHeader { Length = ReplyHeaderLength, Error = -EIO, Unique = unique };
            Writev(fd, vectors, 1);
        }

        return true;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct ReplyHeader
    {
        public uint Length;
        public int Error;
        public ulong Unique;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVector
    {
        public void* Base;
        public nuint Length;
    }

    /// <summary>struct fuse_buf of libfuse 3 (mem_size, added in 3.17, at the end; older versions ignore it).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct FuseBuf
    {
        public nuint Size;
        public int Flags;
        public byte* Mem;
        public int Fd;
        public long Pos;
        public nuint MemSize;
    }

    private const string Library = LibFuse.Library;

    [LibraryImport(Library, EntryPoint = "fuse_get_session")]
    private static partial IntPtr GetSession(IntPtr fuse);

    [LibraryImport(Library, EntryPoint = "fuse_session_fd")]
    private static partial int SessionFd(IntPtr session);

    [LibraryImport(Library, EntryPoint = "fuse_session_exited")]
    private static partial int SessionExited(IntPtr session);

    [LibraryImport(Library, EntryPoint = "fuse_session_exit")]
    private static partial void SessionExit(IntPtr session);

    [LibraryImport(Library, EntryPoint = "fuse_session_process_buf")]
    private static partial void ProcessBuf(IntPtr session, FuseBuf* buf);

    [LibraryImport("libc", EntryPoint = "writev", SetLastError = true)]
    private static partial nint Writev(int fd, IoVector* vectors, int count);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, byte* buffer, nuint count);
}
