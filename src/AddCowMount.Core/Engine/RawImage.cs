using AddCowMount.Core.Format;
using AddCowMount.Core.Storage;

namespace AddCowMount.Core.Engine;

/// <summary>A raw disk file used as a backing layer (or as the target of commit).</summary>
public sealed class RawImage : ISectorDevice
{
    private readonly IStorageFile _file;

    public RawImage(IStorageFile file)
    {
        _file = file;
        Length = file.Length;
    }

    public string Path => _file.Path;

    public string FormatName => "raw";

    public long Length { get; private set; }

    public long SectorCount => (Length + ISectorDevice.SectorSize - 1) / ISectorDevice.SectorSize;

    public bool IsWritable => _file.CanWrite;

    public ISectorDevice? Backing => null;

    public void ReadSectors(long sector, Span<byte> buffer)
    {
        long offset = sector * ISectorDevice.SectorSize;
        int read = offset >= Length ? 0 : _file.Read(offset, buffer[..(int)Math.Min(buffer.Length, Length - offset)]);
        buffer[read..].Clear();
    }

    public bool TryMapUnchanging(long sector, int byteCount, out FileRange range)
    {
        long offset = sector * ISectorDevice.SectorSize;
        range = default;
        if (_file.UnchangingHandle is not { } handle || byteCount <= 0 || offset < 0 || offset > Length - byteCount)
        {
            return false; // past the file's end the sectors read as zeros, which no file range holds
        }

        range = new FileRange(handle, offset, byteCount);
        return true;
    }

    public void WriteSectors(long sector, ReadOnlySpan<byte> data)
    {
        ThrowIfReadOnly();
        long offset = sector * ISectorDevice.SectorSize;
        _file.Write(offset, data);
        Length = Math.Max(Length, offset + data.Length);
    }

    /// <summary>Grows the file (sparse) so it holds at least <paramref name="length"/> bytes.</summary>
    public void EnsureLength(long length)
    {
        if (length > Length)
        {
            ThrowIfReadOnly();
            _file.SetLength(length);
            Length = length;
        }
    }

    public void Flush() => _file.Flush();

    /// <summary>The same refusal every layer gives: <see cref="AddCowError.ReadOnly"/>, never a platform exception.</summary>
    private void ThrowIfReadOnly()
    {
        if (!IsWritable)
        {
            throw new AddCowException(AddCowError.ReadOnly, Path, $"{Path}: image is open read-only");
        }
    }

    public void Dispose() => _file.Dispose();
}
