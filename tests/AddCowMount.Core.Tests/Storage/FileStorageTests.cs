using AddCowMount.Core.Storage;

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
