using Microsoft.Win32.SafeHandles;

namespace AddCowMount.Core.Storage;

/// <summary>How an open file is shared with other openers (QEMU's image locking).</summary>
public enum StorageLock
{
    /// <summary>No lock at all: read-only inspection that must work while another process writes (--force-share).</summary>
    None,

    /// <summary>Readers may share; a writer is refused.</summary>
    Shared,

    /// <summary>Nobody else may open the file.</summary>
    Exclusive,
}

/// <summary>
/// A positional file: the seam between the engine and the disk. The real implementation uses
/// <see cref="System.IO.RandomAccess"/>; tests substitute recording, crashing or failing files.
/// </summary>
public interface IStorageFile : IDisposable
{
    string Path { get; }

    bool CanWrite { get; }

    long Length { get; }

    /// <summary>Reads up to <c>buffer.Length</c> bytes; fewer only at end of file.</summary>
    int Read(long offset, Span<byte> buffer);

    void Write(long offset, ReadOnlySpan<byte> data);

    void SetLength(long length);

    /// <summary>Makes every completed write durable (fsync).</summary>
    void Flush();

    /// <summary>
    /// The first offset at or after <paramref name="offset"/> that may hold data: every byte before it reads as zero
    /// (a hole of a sparse file). <see cref="long.MaxValue"/> when no data follows. Knowing of no holes is always
    /// correct, and is the default.
    /// </summary>
    long NextDataOffset(long offset) => offset;

    /// <summary>
    /// The open file's handle when nothing can change its content while it is open (opened read-only, its lock keeping
    /// writers out), so its bytes may be handed on as a <see cref="FileRange"/>; null otherwise, and by default.
    /// </summary>
    SafeFileHandle? UnchangingHandle => null;
}

/// <summary>Opens and manages files for the engine.</summary>
public interface IStorageProvider
{
    /// <summary>Opens an existing file. Throws <see cref="FileNotFoundException"/> when missing and
    /// <see cref="Format.AddCowException"/> with <see cref="Format.AddCowError.InUse"/> when the lock is refused.</summary>
    IStorageFile Open(string path, bool writable, StorageLock lockMode);

    /// <summary>Creates a new file; throws <see cref="IOException"/> if it exists.</summary>
    IStorageFile CreateNew(string path);

    bool Exists(string path);

    void Delete(string path);

    void Move(string sourcePath, string destinationPath, bool overwrite);

    /// <summary>A key that is equal for two paths naming the same file (symbolic links resolved).</summary>
    string IdentityOf(string path);
}
