using AddCowMount.Core.Storage;

namespace AddCowMount.Core.Volume;

/// <summary>Outcome of a volume operation; adapters map it to NTSTATUS (Dokan) or -errno (FUSE) through one table.</summary>
public enum VolumeStatus
{
    Success,
    NotFound,
    AccessDenied,
    WriteProtected,
    AlreadyExists,
    NotSupported,
    InvalidParameter,
    IsADirectory,
    NotADirectory,
    DiskFull,
    IoError,
}

/// <summary>What a handle is opened for.</summary>
[Flags]
public enum VolumeAccess
{
    Read = 1,
    Write = 2,
    ReadWrite = Read | Write,
}

/// <summary>A file or directory the volume shows.</summary>
public sealed record VolumeNode(
    string Name,
    bool IsDirectory,
    long Length,
    bool IsReadOnly,
    DateTime CreationTimeUtc,
    DateTime LastWriteTimeUtc,
    DateTime LastAccessTimeUtc);

/// <summary>Volume-wide facts reported to the OS.</summary>
public sealed record VolumeInfo(
    string Label,
    string FileSystemName,
    uint SerialNumber,
    long TotalBytes,
    long FreeBytes,
    int SectorSize,
    int AllocationUnitSize,
    int MaxComponentLength);

/// <summary>
/// The platform-neutral model of a mounted volume: all behaviour lives here, the FUSE and Dokan adapters
/// only translate calls. Paths are '/'-separated and rooted at "/"; name matching ignores case.
/// </summary>
public interface IVolume : IDisposable
{
    VolumeInfo Info { get; }

    bool IsReadOnly { get; }

    VolumeStatus GetNode(string path, out VolumeNode? node);

    VolumeStatus List(string directoryPath, out IReadOnlyList<VolumeNode> entries);

    VolumeStatus Open(string path, VolumeAccess access, out IVolumeHandle? handle);

    /// <summary>Creating files or directories is refused.</summary>
    VolumeStatus Create(string path, bool directory);

    VolumeStatus Delete(string path);

    /// <summary>
    /// The answer <see cref="Delete"/> would give, without deleting: adapters that must say up front whether a
    /// delete will happen (Dokan's DeleteFile, before Cleanup deletes) ask this instead of deciding.
    /// </summary>
    VolumeStatus CanDelete(string path);

    /// <summary>
    /// Whether the file at <paramref name="path"/> can be opened for writing: Success, or the refusal
    /// (<see cref="VolumeStatus.WriteProtected"/> on a read-only volume) an open for writing would get.
    /// Adapters ask this (access(W_OK), CreateFile for write access) instead of deciding.
    /// </summary>
    VolumeStatus CanWrite(string path);

    VolumeStatus Rename(string fromPath, string toPath, bool replaceExisting);

    /// <summary>Only "resizing" to the current size succeeds.</summary>
    VolumeStatus SetLength(string path, long length);

    VolumeStatus SetTimes(string path, DateTime? creationTimeUtc, DateTime? lastAccessTimeUtc, DateTime? lastWriteTimeUtc);

    /// <summary>A per-file security descriptor (self-relative binary form) kept in memory; null when none was set.</summary>
    VolumeStatus GetSecurity(string path, out byte[]? descriptor);

    VolumeStatus SetSecurity(string path, byte[] descriptor);

    /// <summary>Makes every acknowledged write to any view durable.</summary>
    VolumeStatus Flush();

    /// <summary>
    /// Dirty write-back for the mount hosts' timer: flushes only when a write happened since the last flush.
    /// The default flushes unconditionally; <see cref="VolumeModel"/> tracks writes.
    /// </summary>
    VolumeStatus FlushIfDirty() => Flush();
}

/// <summary>
/// Per-open-file state. Reads past the end return fewer bytes (0 at the end); writes that end past the end are
/// refused with <see cref="VolumeStatus.InvalidParameter"/> and write nothing. A caller that must accept such
/// writes (Dokan paging I/O) clamps the data to <see cref="VolumeNode.Length"/> first
/// (<see cref="VolumeModel.ClampToLength"/>) and reports the clamped count.
/// </summary>
public interface IVolumeHandle : IDisposable
{
    VolumeNode Node { get; }

    VolumeAccess Access { get; }

    VolumeStatus Read(long offset, Span<byte> buffer, out int bytesRead);

    /// <summary>
    /// Where the <paramref name="length"/> bytes at <paramref name="offset"/> lie whole in one file nothing writes while
    /// the volume is open, so a mount layer may have the kernel copy them from there (<see cref="FileRange"/>) instead of
    /// calling <see cref="Read"/>; false whenever they do not (or the handle may not read), and by default.
    /// </summary>
    bool TryMapRead(long offset, int length, out FileRange range)
    {
        range = default;
        return false;
    }

    VolumeStatus Write(long offset, ReadOnlySpan<byte> data, out int bytesWritten);

    VolumeStatus Flush();
}
