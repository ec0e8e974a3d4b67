using System.Buffers.Binary;
using AddCowMount.Core.Format;

namespace AddCowMount.Core.Engine;

public sealed partial class AddCowImage
{
    /// <summary>
    /// Changes the virtual size (whole sectors). Growing: the new bitmap bytes are zeroed and the image file
    /// extended before the size field says so; shrinking: the size field first, then the files are cut.
    /// Not to be called while other threads do I/O on this image.
    /// </summary>
    public void Resize(long newSize)
    {
        ThrowIfReadOnly();
        if (newSize < 0 || (ulong)newSize > AddCowHeader.MaxSize)
        {
            throw new AddCowException(AddCowError.SizeOverflow, Path, $"size {newSize} is out of range");
        }

        var header = _header with { Size = (ulong)(newSize / ISectorDevice.SectorSize * ISectorDevice.SectorSize) };
        Flush();
        long oldBitmapEnd = AddCowHeader.Length + _header.BitmapLength;
        long newBitmapEnd = AddCowHeader.Length + header.BitmapLength;
        if (header.SectorCount >= SectorCount)
        {
            // Drop whatever followed the old bitmap (the seed's sector padding), so the new bytes read as zero.
            _addCowFile.SetLength(oldBitmapEnd);
            _addCowFile.SetLength(Math.Max(newBitmapEnd, 2560));
            _imageFile.SetLength(Math.Max(_imageFile.Length, header.DiskLength));
            _imageFile.Flush();
            _addCowFile.Flush();
            _bitmap.Resize(header.SectorCount);
            Flush(); // persists the cleared padding bits of the old last byte before the size makes them sectors
            WriteSizeField(header.Size);
            _header = header;
        }
        else
        {
            // The size field first: clearing the cut-off bits of the new last byte before it would, after a
            // crash in between, leave the old size with those sectors showing backing data instead of theirs.
            WriteSizeField(header.Size);
            _header = header;
            _bitmap.Resize(header.SectorCount);
            Flush(); // persists the cleared padding bits of the new last byte
            _addCowFile.SetLength(Math.Max(newBitmapEnd, 2560));
            _imageFile.SetLength(header.DiskLength);
            _imageFile.Flush();
            _addCowFile.Flush();
        }
    }

    /// <summary>Rewrites the backing file name in the header (rebase). The caller makes the content right first.</summary>
    public void SetBackingFile(string name, string? resolvedPath)
    {
        ThrowIfReadOnly();
        name = PathPolicy.StoredName(name);
        AddCowHeader.ValidateName(name, "backing file");
        Flush();
        var header = _header with { BackingFile = name };
        byte[] bytes = new byte[AddCowHeader.Length];
        header.WriteTo(bytes);
        _addCowFile.Write(AddCowHeader.FieldLocations.BackingFile,
            bytes.AsSpan(AddCowHeader.FieldLocations.BackingFile, AddCowHeader.FieldLengths.FileName));
        _addCowFile.Flush();
        _header = header;
        BackingFilePath = resolvedPath;
    }

    /// <summary>Replaces the backing layer object (rebase, after the header names the new one).</summary>
    internal void ReplaceBacking(ISectorDevice? backing)
    {
        ISectorDevice? old = _backing;
        _backing = backing;
        old?.Dispose();
    }

    private void WriteSizeField(ulong size)
    {
        Span<byte> field = stackalloc byte[AddCowHeader.FieldLengths.Size];
        BinaryPrimitives.WriteUInt64BigEndian(field, size);
        _addCowFile.Write(AddCowHeader.FieldLocations.Size, field);
        _addCowFile.Flush();
    }
}
