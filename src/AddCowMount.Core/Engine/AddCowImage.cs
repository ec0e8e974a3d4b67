using System.Buffers;
using AddCowMount.Core.Format;
using AddCowMount.Core.Storage;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Core.Engine;

/// <summary>
/// An open add-cow image: the add-cow file (header + bitmap), its raw image file and its backing chain.
/// Sector I/O is thread-safe: concurrent reads run in parallel; a write lands in the image file before
/// its bits are set in memory, and bits reach the add-cow file only in <see cref="Flush"/>, after the
/// image file has been made durable (the seed wrote and synced the bitmap on every write, before any
/// sync of the data). Callers that need partial-sector or cross-request atomicity go through
/// <see cref="Alignment.SectorAligningDisk"/>.
/// </summary>
public sealed partial class AddCowImage : ISectorDevice
{
    private const int MaxReadChunkSectors = 2048; // 1 MiB pieces for backing reads

    private readonly IStorageFile _addCowFile;
    private readonly IStorageFile _imageFile;
    private readonly AllocationBitmap _bitmap;
    private readonly Lock _flushLock = new();
    private readonly ILogger _logger;
    private AddCowHeader _header;
    private ISectorDevice? _backing;
    private int _disposed;
    private Exception? _dataLost;

    private AddCowImage(string path, AddCowHeader header, IStorageFile addCowFile, IStorageFile imageFile,
        string imageFilePath, ISectorDevice? backing, string? backingPath, bool writable, ILogger logger)
    {
        Path = path;
        _header = header;
        _addCowFile = addCowFile;
        _imageFile = imageFile;
        ImageFilePath = imageFilePath;
        _backing = backing;
        BackingFilePath = backingPath;
        IsWritable = writable;
        _logger = logger;
        _bitmap = new AllocationBitmap(addCowFile, header.SectorCount);
    }

    public string Path { get; }

    public string FormatName => "add-cow";

    public AddCowHeader Header => _header;

    /// <summary>Full path of the raw image file holding the allocated sectors.</summary>
    public string ImageFilePath { get; }

    /// <summary>Full path of the backing file, when the header names one.</summary>
    public string? BackingFilePath { get; private set; }

    public long Length => _header.DiskLength;

    public long SectorCount => _header.SectorCount;

    public bool IsWritable { get; }

    public ISectorDevice? Backing => _backing;

    /// <summary>True after a failed fsync of the image file: the image then refuses writes and flushes until reopened.</summary>
    public bool IsFailed => _dataLost is not null;

    public void ReadSectors(long sector, Span<byte> buffer)
    {
        long count = CheckRange(sector, buffer.Length);
        long done = 0;
        while (done < count)
        {
            long n = _bitmap.Run(sector + done, count - done, out bool allocated);
            Span<byte> part = buffer.Slice((int)(done * ISectorDevice.SectorSize), (int)(n * ISectorDevice.SectorSize));
            if (allocated)
            {
                ReadImage(sector + done, part);
            }
            else
            {
                ReadBacking(sector + done, part);
            }

            done += n;
        }
    }

    /// <summary>
    /// Sectors all unallocated are the backing file's (if it holds them all); sectors all allocated are the image file's,
    /// but only when this image is open read-only: a writable image file changes under later writes. The bitmap is read
    /// once, without the range lock: a write that sets a bit after this looks has written its data to the image file
    /// and left the backing file as it was, so the answer stays a read from before that write.
    /// </summary>
    public bool TryMapUnchanging(long sector, int byteCount, out FileRange range)
    {
        range = default;
        long count = byteCount / ISectorDevice.SectorSize;
        if (_disposed != 0 || byteCount <= 0 || byteCount % ISectorDevice.SectorSize != 0 || sector < 0 || sector > SectorCount - count
            || _bitmap.Run(sector, count, out bool allocated) < count)
        {
            return false;
        }

        if (!allocated)
        {
            return _backing is { } backing && sector <= backing.SectorCount - count && backing.TryMapUnchanging(sector, byteCount, out range);
        }

        long offset = sector * ISectorDevice.SectorSize;
        if (IsWritable || _imageFile.UnchangingHandle is not { } handle || offset > _imageFile.Length - byteCount)
        {
            return false;
        }

        range = new FileRange(handle, offset, byteCount);
        return true;
    }

    public void WriteSectors(long sector, ReadOnlySpan<byte> data)
    {
        ThrowIfReadOnly();
        long count = CheckRange(sector, data.Length);
        if (count == 0)
        {
            return;
        }

        ThrowIfDataLost();

        // Data first; only once it is in the image file may a bit point at it.
        _imageFile.Write(sector * ISectorDevice.SectorSize, data);
        _bitmap.SetRange(sector, count);
    }

    /// <summary>
    /// Copy-on-read and stream: writes backing data for sectors that are still unallocated, leaving any
    /// sector a guest wrote meanwhile alone. <paramref name="data"/> holds the backing content of the range.
    /// </summary>
    public void PopulateUnallocated(long sector, ReadOnlySpan<byte> data)
    {
        ThrowIfReadOnly();
        long count = CheckRange(sector, data.Length);
        long done = 0;
        while (done < count)
        {
            long n = _bitmap.Run(sector + done, count - done, out bool allocated);
            if (!allocated)
            {
                ReadOnlySpan<byte> part = data.Slice((int)(done * ISectorDevice.SectorSize), (int)(n * ISectorDevice.SectorSize));
                _imageFile.Write((sector + done) * ISectorDevice.SectorSize, part);
                _bitmap.SetRange(sector + done, n);
            }

            done += n;
        }
    }

    /// <summary>
    /// Makes every earlier acknowledged write durable: capture the bits set so far, fsync the image file,
    /// write those bits, fsync the add-cow file. Bits set after the capture wait for the next flush, so a
    /// bit never reaches the disk before its data.
    /// </summary>
    public void Flush()
    {
        if (!IsWritable)
        {
            return;
        }

        lock (_flushLock)
        {
            ThrowIfDataLost();
            List<AllocationBitmap.DirtyPiece> pieces = _bitmap.CaptureDirty();
            try
            {
                _imageFile.Flush();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // After a failed fsync the kernel may have dropped the dirty pages (Linux does): a later "successful"
                // fsync would then let bits point at data that never landed. So the captured bits are never written,
                // and this open image refuses further writes and flushes; reopening shows the last durable state.
                _dataLost = ex;
                throw new AddCowException(AddCowError.IoError, ImageFilePath,
                    $"{ImageFilePath}: flushing the image file failed ({ex.Message}); unflushed writes may be lost, reopen the image", ex);
            }

            try
            {
                if (pieces.Count > 0)
                {
                    _bitmap.Persist(pieces);
                    _addCowFile.Flush();
                }
            }
            catch
            {
                _bitmap.Requeue(pieces);
                throw;
            }
        }
    }

    /// <summary>Whether one sector lives in the image file.</summary>
    public bool IsAllocated(long sector) => _bitmap.IsSet(sector);

    /// <summary>Maximal runs of allocated / unallocated sectors of this layer (not the layers below).</summary>
    public IEnumerable<(long Start, long Count, bool Allocated)> AllocationRuns() => _bitmap.Runs(0, SectorCount);

    /// <summary>Bitmap chunks (64 KiB each) held now; tests use it to prove a large disk opens without reading its bitmap and that walks stay bounded.</summary>
    internal int LoadedBitmapChunks => _bitmap.LoadedChunks;

    /// <summary>Number of allocated sectors of this layer.</summary>
    public long AllocatedSectors => _bitmap.CountSet();

    /// <summary>Clears allocation bits (commit, after the data is safely in the backing file); persisted on the next flush.</summary>
    internal void ClearAllocation(long sector, long count)
    {
        ThrowIfReadOnly();
        _bitmap.ClearRange(sector, count);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            Flush();
        }
        catch (IOException ex)
        {
            LogFlushOnCloseFailed(_logger, Path, ex);
        }
        finally
        {
            _imageFile.Dispose();
            _addCowFile.Dispose();
            _backing?.Dispose();
        }
    }

    private void ReadImage(long sector, Span<byte> buffer)
    {
        int read = _imageFile.Read(sector * ISectorDevice.SectorSize, buffer);
        if (read < buffer.Length)
        {
            throw new AddCowException(AddCowError.ImageFileTooShort, ImageFilePath,
                $"{ImageFilePath}: image file ends at byte {_imageFile.Length}, before allocated sector {sector + (read / ISectorDevice.SectorSize)}");
        }
    }

    /// <summary>Unallocated sectors come from the backing chain; past a shorter backing file, or without one, they are zeros.</summary>
    private void ReadBacking(long sector, Span<byte> buffer) => SectorDevices.ReadOrZeros(_backing, sector, buffer);

    private long CheckRange(long sector, int byteCount)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (byteCount % ISectorDevice.SectorSize != 0)
        {
            throw new ArgumentException($"request of {byteCount} bytes is not whole sectors");
        }

        long count = byteCount / ISectorDevice.SectorSize;
        if (sector < 0 || sector > SectorCount || count > SectorCount - sector)
        {
            throw new AddCowException(AddCowError.OutOfRange, Path,
                $"{Path}: sectors {sector}..{sector + count - 1} are past the end of the disk ({SectorCount} sectors)");
        }

        return count;
    }

    private void ThrowIfDataLost()
    {
        if (_dataLost is { } cause)
        {
            throw new AddCowException(AddCowError.IoError, ImageFilePath,
                $"{ImageFilePath}: an earlier flush of the image file failed ({cause.Message}); reopen the image", cause);
        }
    }

    private void ThrowIfReadOnly()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (!IsWritable)
        {
            throw new AddCowException(AddCowError.ReadOnly, Path, $"{Path}: image is open read-only");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Flush of {Path} on close failed")]
    private static partial void LogFlushOnCloseFailed(ILogger logger, string path, Exception ex);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Opened {Path} ({Sectors} sectors, image {ImageFile}, backing {Backing})")]
    private static partial void LogOpened(ILogger logger, string path, long sectors, string imageFile, string backing);
}

public sealed partial class AddCowImage
{
    /// <summary>Runs of allocation state within [sector, sector + count) of this layer.</summary>
    public IEnumerable<(long Start, long Count, bool Allocated)> AllocationRunsIn(long sector, long count) =>
        _bitmap.Runs(sector, sector + count);
}
