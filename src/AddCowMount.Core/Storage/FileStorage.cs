using System.Runtime.InteropServices;
using AddCowMount.Core.Format;
using Microsoft.Win32.SafeHandles;

namespace AddCowMount.Core.Storage;

/// <summary>Real files through <see cref="RandomAccess"/>; locks through share modes (Windows) or flock (Unix, done by .NET).</summary>
public sealed class FileStorage : IStorageProvider
{
    private readonly bool _directLargeIo;

    private FileStorage(bool directLargeIo) => _directLargeIo = directLargeIo;

    /// <summary>
    /// Buffered I/O through the page cache (qemu's cache=writeback, its default); a large write's writeback starts when
    /// it is written (<see cref="WriteBehind"/>).
    /// </summary>
    public static FileStorage Instance { get; } = new(directLargeIo: false);

    /// <summary>
    /// As <see cref="Instance"/>, but in files opened for writing, reads and writes of 128 KiB or more at 4 KiB
    /// alignment go around the page cache on Linux, except reads the cache holds whole (see <see cref="DirectIo"/>);
    /// files opened read-only, such as the backing file, stay cached. <c>--cache none</c> of mount and serve. Flush
    /// and durability are unchanged.
    /// </summary>
    public static FileStorage DirectLargeIo { get; } = new(directLargeIo: true);

    public IStorageFile Open(string path, bool writable, StorageLock lockMode)
    {
        if (writable && lockMode == StorageLock.None)
        {
            throw new ArgumentException("A writable open must take a lock.", nameof(lockMode));
        }

        SafeFileHandle handle;
        try
        {
            if (lockMode == StorageLock.None && !OperatingSystem.IsWindows())
            {
                handle = UnixOpenWithoutLock(path);
            }
            else
            {
                FileShare share = ShareFor(lockMode, writable);
                handle = File.OpenHandle(path, FileMode.Open, writable ? FileAccess.ReadWrite : FileAccess.Read, share);
            }
        }
        catch (IOException ex) when (ex is not FileNotFoundException and not DirectoryNotFoundException && IsSharingViolation(ex))
        {
            throw new AddCowException(AddCowError.InUse, path,
                $"{path}: in use by another process{LockHolders.Describe(path)}", ex);
        }

        // Unchanging: read-only under a lock that keeps writers out (an unlocked look, -U, may see the file change).
        return new RandomAccessFile(path, handle, writable, _directLargeIo, unchanging: !writable && lockMode != StorageLock.None);
    }

    /// <summary>
    /// The share mode that gives a lock mode flock's meaning. On Unix .NET turns FileShare.None into LOCK_EX and
    /// anything else into LOCK_SH. On Windows share modes are checked against every open handle both ways, so a
    /// writer shares reading: a shared (reader) open asks others not to write and is refused by the writer's write
    /// access, a second writer is refused by the writer's share mode, and an unlocked look (-U, check), which
    /// shares everything, still opens, as it does next to a flock. A read-only exclusive open shares nothing.
    /// </summary>
    internal static FileShare ShareFor(StorageLock lockMode, bool writable) => lockMode switch
    {
        StorageLock.Exclusive => writable && OperatingSystem.IsWindows() ? FileShare.Read : FileShare.None,
        StorageLock.Shared => FileShare.Read,
        _ => FileShare.ReadWrite | FileShare.Delete,
    };

    public IStorageFile CreateNew(string path)
    {
        SafeFileHandle handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        return new RandomAccessFile(path, handle, writable: true, _directLargeIo, unchanging: false);
    }

    public bool Exists(string path) => File.Exists(path);

    public void Delete(string path) => File.Delete(path);

    public void Move(string sourcePath, string destinationPath, bool overwrite) =>
        File.Move(sourcePath, destinationPath, overwrite);

    public string IdentityOf(string path)
    {
        string full = Path.GetFullPath(path);
        try
        {
            FileSystemInfo? target = File.ResolveLinkTarget(full, returnFinalTarget: true);
            if (target is not null)
            {
                full = target.FullName;
            }
        }
        catch (IOException)
        {
        }

        return OperatingSystem.IsWindows() ? full.ToUpperInvariant() : full;
    }

    /// <summary>fsync that reports every failure (see <see cref="IStorageFile.Flush"/>'s implementation note).</summary>
    public static void FlushStrict(SafeFileHandle handle, string path)
    {
        if (OperatingSystem.IsWindows())
        {
            RandomAccess.FlushToDisk(handle);
            return;
        }

        int failed = Descriptors.Call(handle, 0, static (fd, _) =>
        {
            const int EINTR = 4;
            while (Native.FSync(fd) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno != EINTR)
                {
                    return errno;
                }
            }

            return 0;
        });
        if (failed != 0)
        {
            throw new IOException($"fsync of {path} failed: {Marshal.GetPInvokeErrorMessage(failed)}", failed);
        }
    }

    internal static bool IsSharingViolation(IOException ex)
    {
        // Windows: ERROR_SHARING_VIOLATION / ERROR_LOCK_VIOLATION. Unix: .NET reports a refused flock as
        // EWOULDBLOCK, which is EAGAIN: 11 on Linux, 35 on macOS and the BSDs (35 is EDEADLK on Linux, not a lock refusal).
        const int sharingViolation = unchecked((int)0x80070020);
        const int lockViolation = unchecked((int)0x80070021);
        int eagain = OperatingSystem.IsLinux() ? 11 : 35;
        return ex.HResult == sharingViolation || ex.HResult == lockViolation || (!OperatingSystem.IsWindows() && ex.HResult == eagain);
    }

    private static SafeFileHandle UnixOpenWithoutLock(string path)
    {
        // File.OpenHandle always takes a flock on Unix; --force-share must not, so open(2) directly.
        const int O_RDONLY = 0;
        const int O_CLOEXEC = 0x80000; // Linux; macOS uses 0x1000000 but the flag is advisory here
        int fd = Native.Open(path, O_RDONLY | (OperatingSystem.IsLinux() ? O_CLOEXEC : 0));
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == 2)
            {
                throw new FileNotFoundException($"Could not find file '{path}'.", path);
            }

            if (errno == 13)
            {
                throw new UnauthorizedAccessException($"Access to the path '{path}' is denied.");
            }

            throw new IOException($"open {path} failed (errno {errno})");
        }

        return new SafeFileHandle(fd, ownsHandle: true);
    }

    private sealed class RandomAccessFile : IStorageFile
    {
        private readonly SafeFileHandle _handle;
        private readonly DirectIo? _direct;
        private readonly WriteBehind? _writeBehind;
        private readonly bool _unchanging;

        /// <summary>
        /// The largest piece a buffered write is issued in. The page cache sizes a new folio by the write that creates it
        /// (Linux 6.16+ gives ext4 files large folios, up to 2 MiB), and every later small write into a folio walks all
        /// of its buffer heads under the inode lock: after 1 MiB writes, random 4 KiB overwrites of that data ran at a
        /// third of the rate they reach in small folios (29% of the mount's samples in ext4_block_write_begin, 14% other
        /// writers spinning on the lock). In 128 KiB pieces a folio has at most 32 blocks; sequential writes measured no
        /// slower (8 pwrites per MiB instead of one).
        /// </summary>
        internal const int BufferedWriteChunk = 128 * 1024;

        public RandomAccessFile(string path, SafeFileHandle handle, bool writable, bool directLargeIo, bool unchanging)
        {
            _unchanging = unchanging;
            Path = path;
            _handle = handle;
            CanWrite = writable;
            // Only the files this process writes: a read-only file (the shared golden base, a read-only mount) stays in
            // the page cache, which every machine on the host reading the same base shares.
            _direct = directLargeIo && writable ? new DirectIo(handle) : null;
            _writeBehind = writable ? new WriteBehind(handle) : null;
        }

        public string Path { get; }

        public bool CanWrite { get; }

        public long Length => RandomAccess.GetLength(_handle);

        /// <summary>Buffered; with <see cref="DirectLargeIo"/> large aligned reads the page cache does not hold whole go around it.</summary>
        public int Read(long offset, Span<byte> buffer)
        {
            int direct = _direct?.TryRead(offset, buffer) ?? -1;
            return direct >= 0 ? direct : DirectIo.ReadAll(_handle, buffer, offset);
        }

        /// <summary>
        /// Buffered, in pieces of at most <see cref="BufferedWriteChunk"/>, a large write then handed to the disk at once
        /// (<see cref="WriteBehind"/>); with <see cref="DirectLargeIo"/> large aligned writes go around the page cache
        /// (see <see cref="DirectIo"/>).
        /// </summary>
        public void Write(long offset, ReadOnlySpan<byte> data)
        {
            if (_direct?.TryWrite(offset, data) == true)
            {
                return;
            }

            for (int done = 0; done < data.Length; done += BufferedWriteChunk)
            {
                int n = Math.Min(BufferedWriteChunk, data.Length - done);
                RandomAccess.Write(_handle, data.Slice(done, n), offset + done);
            }

            _writeBehind?.Add(offset, data.Length);
        }

        public void SetLength(long length) => RandomAccess.SetLength(_handle, length);

        /// <summary>
        /// fsync, strictly. On Unix .NET's RandomAccess.FlushToDisk swallows some fsync errors (seen here: ENOTCONN from
        /// a FUSE file system whose server died returned as success), and a flush reported durable when it was not would
        /// let the bitmap point at lost data. So Unix calls fsync(2) itself and throws on every error (errno in HResult,
        /// as .NET does, so disk-full is recognised).
        /// </summary>
        public void Flush() => FlushStrict(_handle, Path);

        public long NextDataOffset(long offset) => SparseFiles.NextData(_handle, offset);

        public SafeFileHandle? UnchangingHandle => _unchanging ? _handle : null;

        public void Dispose()
        {
            _writeBehind?.Stop();
            _direct?.Dispose();
            _handle.Dispose();
        }
    }
}

internal static partial class Native
{
    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    internal static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static unsafe partial int Statx(int dirFd, string path, int flags, uint mask, byte* buffer);

}
