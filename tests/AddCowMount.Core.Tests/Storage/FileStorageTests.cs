using System.Runtime.InteropServices;
using AddCowMount.Core.Storage;
using Microsoft.Win32.SafeHandles;

namespace AddCowMount.Core.Tests.Storage;

[TestClass]
public sealed class FileStorageTests
{
    /// <summary>
    /// A flush that fails must say so: .NET's RandomAccess.FlushToDisk ignores some fsync errors (EINVAL, ENOTCONN
    /// from a dead FUSE server), which would let a flush report data durable that is not. /dev/null refuses fsync
    /// with EINVAL.
    /// </summary>
    [TestMethod]
    [OSCondition(OperatingSystems.Linux)]
    public void Flush_WhenFsyncFails_Throws()
    {
        using IStorageFile file = FileStorage.Instance.Open("/dev/null", writable: true, StorageLock.Shared);
        IOException error = Assert.ThrowsExactly<IOException>(file.Flush);
        StringAssert.Contains(error.Message, "fsync of /dev/null failed");
    }

    [TestMethod]
    public void Flush_RegularFile_Succeeds()
    {
        using var temp = new TempDirectory();
        string path = temp.Combine("f.raw");
        File.WriteAllBytes(path, new byte[4096]);
        using (IStorageFile file = FileStorage.Instance.Open(path, writable: true, StorageLock.Exclusive))
        {
            file.Write(0, [1, 2, 3]);
            file.Flush();
        }

        Assert.AreEqual(1, File.ReadAllBytes(path)[0]);
    }

    /// <summary>
    /// Bitmap walks skip the holes of a sparse add-cow file, so NextDataOffset must never skip data: at most the
    /// offset of the first written byte, and on Linux file systems with holes (ext4, tmpfs, xfs, btrfs) exactly the
    /// start of its block.
    /// </summary>
    [TestMethod]
    public void NextDataOffset_NeverSkipsData_AndFindsHolesOnLinux()
    {
        using var temp = new TempDirectory();
        string path = temp.Combine("sparse.raw");
        using IStorageFile file = FileStorage.Instance.CreateNew(path);
        file.SetLength(8L << 20);
        file.Write((2L << 20) + 10, [7]);
        file.Write(5L << 20, [8]);

        long first = file.NextDataOffset(0);
        Assert.IsLessThanOrEqualTo((2L << 20) + 10, first, "skipped the data at 2 MiB + 10");
        Assert.IsLessThanOrEqualTo(5L << 20, file.NextDataOffset((2L << 20) + 11), "skipped the data at 5 MiB");
        Assert.AreEqual(5L << 20, file.NextDataOffset(5L << 20), "an offset holding data is its own answer");
        if (OperatingSystem.IsLinux())
        {
            Assert.AreEqual(2L << 20, first, "the hole before the first block of data");
            Assert.AreEqual(long.MaxValue, file.NextDataOffset((5L << 20) + 4096), "no data after the last block");
        }
    }

    /// <summary>
    /// With DirectLargeWrites (--cache none), large aligned writes take the O_DIRECT path (a FUSE payload sits 80 bytes into libfuse's buffer, so the
    /// source is deliberately off alignment); small writes before and after stay buffered. Every byte must read back
    /// the same through the open file, and from the file after closing, on the temp folder's file system and on tmpfs.
    /// </summary>
    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void LargeAlignedWrites_MixedWithSmallOnes_ReadBackExactly(bool onTmpfs)
    {
        if (onTmpfs && !Directory.Exists("/dev/shm"))
        {
            Assert.Inconclusive("no /dev/shm here");
        }

        string folder = onTmpfs
            ? Directory.CreateDirectory(Path.Combine("/dev/shm", "addcow-test-" + Guid.NewGuid().ToString("N"))).FullName
            : Directory.CreateTempSubdirectory("addcow-test-").FullName;

        try
        {
            string path = Path.Combine(folder, "image.raw");
            const int length = 4 * 1024 * 1024;
            File.WriteAllBytes(path, []);
            var expected = new byte[length];
            var random = new Random(12);
            using (IStorageFile file = FileStorage.DirectLargeIo.Open(path, writable: true, StorageLock.Exclusive))
            {
                file.SetLength(length);

                byte[] small = RandomBytes(random, 4096);
                file.Write(8192, small); // buffered, dirty in the page cache, then overwritten directly
                small.CopyTo(expected, 8192);

                byte[] carrier = RandomBytes(random, 80 + (2 * 1024 * 1024) + 4096);
                ReadOnlySpan<byte> large = carrier.AsSpan(80); // 2 MiB + 4 KiB: crosses the 1 MiB bounce chunk
                file.Write(0, large);
                large.CopyTo(expected);

                byte[] aligned = RandomBytes(random, 256 * 1024);
                file.Write(3 * 1024 * 1024, aligned);
                aligned.CopyTo(expected, 3 * 1024 * 1024);

                byte[] tail = RandomBytes(random, 1000);
                file.Write(3 * 1024 * 1024 + 100, tail); // small unaligned write into directly written data
                tail.CopyTo(expected, 3 * 1024 * 1024 + 100);

                var readBack = new byte[length];
                Assert.AreEqual(length, file.Read(0, readBack));
                CollectionAssert.AreEqual(expected, readBack, "read through the open file");
                file.Flush();
            }

            CollectionAssert.AreEqual(expected, File.ReadAllBytes(path), "read from the closed file");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// --cache none really goes around the page cache: in a file opened for writing, a large read of evicted data and a
    /// large write leave their ranges uncached (cachestat), while a read-only file (the shared base) and the default
    /// storage fill the cache (so the probe can tell). Bytes read back are exact, into an unaligned buffer, and at a
    /// file end that is not page-aligned.
    /// </summary>
    [TestMethod]
    public void DirectLargeIo_LargeReadsAndWrites_LeaveThePageCacheEmpty_AndReadExactBytes()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("O_DIRECT and cachestat are Linux's");
        }

        string folder = Directory.CreateTempSubdirectory("addcow-test-").FullName;
        try
        {
            string path = Path.Combine(folder, "base.raw");
            const int length = (4 * 1024 * 1024) + 1000; // the last page is partial
            byte[] expected = RandomBytes(new Random(7), length);
            File.WriteAllBytes(path, expected);
            if (Cached(path, 0, length) is null)
            {
                Assert.Inconclusive("this kernel has no cachestat (Linux 6.5+), so direct reads stay buffered");
            }

            Evict(path);
            Assert.AreEqual(0, Cached(path, 0, length), "evicted before the reads");

            var carrier = new byte[80 + (2 * 1024 * 1024)];
            Span<byte> unaligned = carrier.AsSpan(80, 2 * 1024 * 1024);
            using (IStorageFile file = FileStorage.DirectLargeIo.Open(path, writable: true, StorageLock.Exclusive))
            {
                Assert.AreEqual(unaligned.Length, file.Read(1024 * 1024, unaligned));
                CollectionAssert.AreEqual(expected.AsSpan(1024 * 1024, unaligned.Length).ToArray(), unaligned.ToArray(), "a direct read into an unaligned buffer");
                Assert.AreEqual(0, Cached(path, 1024 * 1024, unaligned.Length), "a direct read leaves nothing in the page cache");

                var tail = new byte[1024 * 1024];
                Assert.AreEqual(1000, file.Read(4 * 1024 * 1024, tail.AsSpan(0, 128 * 1024)), "a direct read of the partial last page reads short, to the end of the file");
                CollectionAssert.AreEqual(expected.AsSpan(4 * 1024 * 1024, 1000).ToArray(), tail.AsSpan(0, 1000).ToArray(), "the file's last bytes");
            }

            using (IStorageFile file = FileStorage.DirectLargeIo.Open(path, writable: false, StorageLock.Shared))
            {
                Assert.AreEqual(unaligned.Length, file.Read(1024 * 1024, unaligned));
                CollectionAssert.AreEqual(expected.AsSpan(1024 * 1024, unaligned.Length).ToArray(), unaligned.ToArray(), "a buffered read of a read-only file");
                Assert.IsTrue(Cached(path, 1024 * 1024, unaligned.Length) > 0, "a read-only file (the shared base) is read through the page cache");
            }

            string image = Path.Combine(folder, "image.raw");
            File.WriteAllBytes(image, []);
            using (IStorageFile file = FileStorage.DirectLargeIo.Open(image, writable: true, StorageLock.Exclusive))
            {
                file.SetLength(length);
                file.Write(0, expected.AsSpan(0, 1024 * 1024));
                Assert.AreEqual(0, Cached(image, 0, 1024 * 1024), "a large write goes around the page cache");
                file.Write(2 * 1024 * 1024, carrier.AsSpan(80, 1024 * 1024)); // unaligned source: the bounce path
                file.Flush();
            }

            using (IStorageFile file = FileStorage.Instance.Open(image, writable: true, StorageLock.Exclusive))
            {
                file.Write(3 * 1024 * 1024, expected.AsSpan(0, 1024 * 1024));
                Assert.IsTrue(Cached(image, 3 * 1024 * 1024, 1024 * 1024) > 0, "the default storage writes through the page cache");
            }

            byte[] written = File.ReadAllBytes(image);
            CollectionAssert.AreEqual(expected.AsSpan(0, 1024 * 1024).ToArray(), written.AsSpan(0, 1024 * 1024).ToArray(), "directly written bytes read back");
            CollectionAssert.AreEqual(carrier.AsSpan(80, 1024 * 1024).ToArray(), written.AsSpan(2 * 1024 * 1024, 1024 * 1024).ToArray(), "bytes written from an unaligned source read back");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// Write-behind: a large buffered write is handed to the disk at once, so its pages are no longer dirty soon after
    /// Write returns (under writeback or written), while a small write stays dirty until the flush. Both read back exactly.
    /// </summary>
    [TestMethod]
    public void LargeBufferedWrite_StartsItsWriteback_SmallWriteStaysDirtyUntilTheFlush()
    {
        string folder = Directory.CreateTempSubdirectory("addcow-test-").FullName;
        try
        {
            RequireDirtyPageCounts(folder);
            string image = Path.Combine(folder, "image.raw");
            File.WriteAllBytes(image, []);
            byte[] large = RandomBytes(new Random(11), 1024 * 1024);
            byte[] small = RandomBytes(new Random(12), 4096);
            using (IStorageFile file = FileStorage.Instance.Open(image, writable: true, StorageLock.Exclusive))
            {
                file.SetLength(4 * 1024 * 1024);
                file.Write(3 * 1024 * 1024, small);
                Assert.AreEqual(1, Dirty(image, 3 * 1024 * 1024, small.Length), "a small write is left dirty for the flush");
                file.Write(0, large);
                // Handed over by the file's worker, not by the kernel's flusher (which leaves pages dirty for 30 s).
                Assert.AreEqual(0, WaitUntilClean(image, 0, large.Length), "a large write's pages are under writeback or written soon after Write returns");
                Assert.AreEqual(1, Dirty(image, 3 * 1024 * 1024, small.Length), "the small write is still dirty");
                file.Flush();
                Assert.AreEqual(0, Dirty(image, 0, 4 * 1024 * 1024), "the flush writes the rest");
            }

            byte[] written = File.ReadAllBytes(image);
            CollectionAssert.AreEqual(large, written.AsSpan(0, large.Length).ToArray(), "the large write reads back");
            CollectionAssert.AreEqual(small, written.AsSpan(3 * 1024 * 1024, small.Length).ToArray(), "the small write reads back");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// Closing a file written in large pieces releases it at once: the next open that takes its lock (the next mount,
    /// qemu-img after an unmount) is not refused while the file's write-behind is still handing ranges to the disk.
    /// </summary>
    [TestMethod]
    public void Dispose_AfterLargeWrites_ReleasesTheLockAtOnce()
    {
        using var temp = new TempDirectory();
        string image = temp.Combine("image.raw");
        File.WriteAllBytes(image, []);
        byte[] large = RandomBytes(new Random(13), 4 * 1024 * 1024);
        for (int i = 0; i < 50; i++)
        {
            using (IStorageFile file = FileStorage.Instance.Open(image, writable: true, StorageLock.Exclusive))
            {
                file.Write((long)i * large.Length, large); // new blocks each time: their writeback takes longest to start
            }

            using SafeFileHandle again = File.OpenHandle(image, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        }

        using SafeFileHandle check = File.OpenHandle(image);
        var last = new byte[large.Length];
        Assert.AreEqual(large.Length, RandomAccess.Read(check, last, 49L * large.Length));
        CollectionAssert.AreEqual(large, last, "the last write reads back");
    }

    /// <summary>
    /// Whether this file system keeps dirty pages to count at all (tmpfs does not), asked of a plain write into a file
    /// still open (ext4 starts writeback when a file truncated on open is closed); inconclusive where it cannot tell.
    /// </summary>
    private static void RequireDirtyPageCounts(string folder)
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("sync_file_range and cachestat are Linux's");
        }

        string probe = Path.Combine(folder, "probe.raw");
        using SafeFileHandle probeHandle = File.OpenHandle(probe, FileMode.CreateNew, FileAccess.ReadWrite);
        RandomAccess.Write(probeHandle, new byte[4096], 0);
        if (Dirty(probe, 0, 4096) is not { } probeDirty)
        {
            Assert.Inconclusive("this kernel has no cachestat (Linux 6.5+)");
        }
        else if (probeDirty == 0)
        {
            Assert.Inconclusive("this file system keeps no dirty pages to count (tmpfs and the like)");
        }
    }

    /// <summary>Waits up to 10 s for the range's pages to be no longer dirty; returns how many still are.</summary>
    private static long? WaitUntilClean(string path, long offset, long length)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (Dirty(path, offset, length) != 0 && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            Thread.Sleep(10);
        }

        return Dirty(path, offset, length);
    }

    /// <summary>
    /// The write-behind worker is a thread of its own that ends once no range has come for <see cref="WriteBehind.IdleExit"/>
    /// (on the thread pool it spun between bursts, taking CPU the copy and the kernel's writeback need), and the next
    /// large write starts another: both bursts are handed to the disk, and no worker outlives Stop.
    /// </summary>
    [TestMethod]
    public void WriteBehind_EndsItsWorkerWhenIdle_AndTheNextLargeWriteStartsAnother()
    {
        using var temp = new TempDirectory();
        RequireDirtyPageCounts(temp.Path);
        string image = temp.Combine("image.raw");
        byte[] large = RandomBytes(new Random(14), 1024 * 1024);
        using SafeFileHandle handle = File.OpenHandle(image, FileMode.CreateNew, FileAccess.ReadWrite);
        var writeBehind = new WriteBehind(handle);

        RandomAccess.Write(handle, large, 0);
        writeBehind.Add(0, large.Length);
        Assert.AreEqual(0, WaitUntilClean(image, 0, large.Length), "the first burst is handed to the disk");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (writeBehind.Working && clock.Elapsed < WriteBehind.IdleExit + TimeSpan.FromSeconds(10))
        {
            Thread.Sleep(50);
        }

        Assert.IsFalse(writeBehind.Working, "the worker ends when no range has come for a while");

        RandomAccess.Write(handle, large, 4 * 1024 * 1024);
        writeBehind.Add(4 * 1024 * 1024, large.Length);
        Assert.AreEqual(0, WaitUntilClean(image, 4 * 1024 * 1024, large.Length), "a later burst starts a worker again");
        writeBehind.Stop();
        Assert.IsFalse(writeBehind.Working, "no worker outlives Stop");
    }

    private static long? Dirty(string path, long offset, long length)
    {
        using var handle = new SafeFileHandle(OpenReadOnly(path), ownsHandle: true);
        Assert.IsFalse(handle.IsInvalid, $"open {path}");
        return DirectIo.PageCache(handle, offset, length)?.Dirty;
    }

    private static long? Cached(string path, long offset, long length)
    {
        // open(2) itself: File.OpenHandle would take a flock, which the storage's exclusive lock refuses.
        using var handle = new SafeFileHandle(OpenReadOnly(path), ownsHandle: true);
        Assert.IsFalse(handle.IsInvalid, $"open {path}");
        return DirectIo.PageCache(handle, offset, length)?.Cached;
    }

    private static void Evict(string path)
    {
        const int POSIX_FADV_DONTNEED = 4;
        using SafeFileHandle handle = File.OpenHandle(path);
        FileStorage.FlushStrict(handle, path); // dirty pages cannot be dropped
        Assert.AreEqual(0, PosixFadvise((int)handle.DangerousGetHandle(), 0, 0, POSIX_FADV_DONTNEED));
    }

    [DllImport("libc", EntryPoint = "open")]
    private static extern IntPtr OpenReadOnly([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags = 0);

    [DllImport("libc", EntryPoint = "posix_fadvise")]
    private static extern int PosixFadvise(int fd, long offset, long length, int advice);

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }
}

[TestClass]
public sealed class LockRefusalTests
{
    /// <summary>A refused flock is EWOULDBLOCK = EAGAIN: 11 on Linux. 35 is EDEADLK there and must not read as "in use".</summary>
    [TestMethod]
    [OSCondition(OperatingSystems.Linux)]
    public void SharingViolation_OnLinux_IsEagainNotEdeadlk()
    {
        Assert.IsTrue(FileStorage.IsSharingViolation(new IOException("refused", 11)));
        Assert.IsFalse(FileStorage.IsSharingViolation(new IOException("deadlock", 35)));
        Assert.IsTrue(FileStorage.IsSharingViolation(new IOException("sharing", unchecked((int)0x80070020))));
    }

    /// <summary>The "in use" error names the holder's pid (found through statx and /proc/locks).</summary>
    [TestMethod]
    [OSCondition(OperatingSystems.Linux)]
    public void SecondExclusiveOpen_NamesTheHoldingProcess()
    {
        using var temp = new TempDirectory();
        string path = temp.Combine("held.raw");
        File.WriteAllBytes(path, new byte[512]);
        using IStorageFile held = FileStorage.Instance.Open(path, writable: true, StorageLock.Exclusive);

        var error = Assert.ThrowsExactly<AddCowMount.Core.Format.AddCowException>(() => FileStorage.Instance.Open(path, writable: true, StorageLock.Exclusive));

        Assert.AreEqual(AddCowMount.Core.Format.AddCowError.InUse, error.Error);
        StringAssert.Contains(error.Message, $"in use by another process (pid {Environment.ProcessId}");
        StringAssert.Matches(LockHolders.LinuxLockKey(path)!, new System.Text.RegularExpressions.Regex("^[0-9a-f]{2,}:[0-9a-f]{2,}:[0-9]+$"));
    }

    /// <summary>A file that cannot be looked up gives no holder text, never an error of its own.</summary>
    [TestMethod]
    public void Describe_MissingFile_IsEmpty() =>
        Assert.AreEqual(string.Empty, LockHolders.Describe(Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}")));

    [TestMethod]
    public void Format_ShortensLongNames() =>
        Assert.AreEqual($" (pid 7: {new string('x', 80)}…)", LockHolders.Format(7, new string('x', 100)));
}
