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

    public static int Run(IntPtr fuse, int threads)
    {
        IntPtr session = GetSession(fuse);
        int fd = SessionFd(session);
        int result = 0;
        var workers = new Thread[Math.Max(1, threads)];
        for (int i = 0; i < workers.Length; i++)
        {
            workers[i] = new Thread(() =>
            {
                int r = Worker(session, fd);
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

    private static int Worker(IntPtr session, int fd)
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

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, byte* buffer, nuint count);
}
