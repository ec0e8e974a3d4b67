using System.Buffers;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Format;
using AddCowMount.Core.Storage;

namespace AddCowMount.Core.Alignment;

/// <summary>
/// Serves arbitrary byte ranges over a sector device: aligned requests pass straight through; partial head
/// and tail sectors are read-modify-written, their old content taken from image or backing as the bitmap
/// says (a touched sector becomes allocated whole, as in the seed). Sector-range locks make each request
/// atomic towards every other: reads run in parallel, two writes touching one sector never tear or lose
/// each other, and a read never sees half of a write. Every mount layer calls this from many threads.
/// </summary>
public sealed class SectorAligningDisk : IDisk
{
    private const int Sector = ISectorDevice.SectorSize;
    private const int SmallWriteLimit = 256 * 1024;

    private readonly ISectorDevice _device;
    private readonly AddCowImage? _image;
    private readonly RangeLock _locks = new();
    private readonly bool _ownsDevice;

    public SectorAligningDisk(ISectorDevice device, bool readOnly = false, bool copyOnRead = false, bool ownsDevice = true)
    {
        _device = device;
        _image = device as AddCowImage;
        _ownsDevice = ownsDevice;
        CanWrite = device.IsWritable && !readOnly;
        CopyOnRead = copyOnRead && CanWrite && _image is not null;
    }

    /// <summary>The device's current size: follows <see cref="AddCowImage.Resize"/> (a cached value refused the grown area).</summary>
    public long Length => _device.SectorCount * Sector;

    public bool CanWrite { get; }

    /// <summary>Reads fill the image file with backing data (QEMU's copy-on-read).</summary>
    public bool CopyOnRead { get; }

    public ISectorDevice Device => _device;

    public void Read(long offset, Span<byte> buffer)
    {
        CheckRange(offset, buffer.Length);
        if (buffer.IsEmpty)
        {
            return;
        }

        long first = offset / Sector;
        long end = (offset + buffer.Length + Sector - 1) / Sector;
        using RangeLock.Holder hold = _locks.Acquire(first, end, exclusive: false);
        if (CopyOnRead)
        {
            ReadWithCopy(first, end, offset, buffer);
            return;
        }

        int head = (int)(offset % Sector);
        if (head == 0 && buffer.Length % Sector == 0)
        {
            _device.ReadSectors(first, buffer);
            return;
        }

        Span<byte> sector = stackalloc byte[Sector];
        int done = 0;
        if (head != 0)
        {
            _device.ReadSectors(first, sector);
            int n = Math.Min(Sector - head, buffer.Length);
            sector.Slice(head, n).CopyTo(buffer);
            done = n;
        }

        int middle = (buffer.Length - done) / Sector * Sector;
        if (middle > 0)
        {
            _device.ReadSectors((offset + done) / Sector, buffer.Slice(done, middle));
            done += middle;
        }

        if (done < buffer.Length)
        {
            _device.ReadSectors((offset + done) / Sector, sector);
            sector[..(buffer.Length - done)].CopyTo(buffer[done..]);
        }
    }

    /// <summary>
    /// Any byte range whose sectors the device maps to one file range (which holds them in order, so the bytes sit at the
    /// same distance from its start); never with copy-on-read (a read then writes the image file). No range lock is
    /// taken: the answer is a file nothing writes, so a read from it later equals a read under the lock now (see
    /// <see cref="AddCowImage.TryMapUnchanging"/>).
    /// </summary>
    public bool TryMapUnchanging(long offset, int length, out FileRange range)
    {
        range = default;
        if (CopyOnRead || length <= 0 || offset < 0 || offset > Length - length)
        {
            return false;
        }

        long first = offset / Sector;
        long end = (offset + length + Sector - 1) / Sector;
        long sectorBytes = (end - first) * Sector;
        if (sectorBytes > int.MaxValue || !_device.TryMapUnchanging(first, (int)sectorBytes, out FileRange sectors))
        {
            return false;
        }

        range = sectors with { Offset = sectors.Offset + (offset - (first * Sector)), Length = length };
        return true;
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (!CanWrite)
        {
            throw new AddCowException(AddCowError.ReadOnly, _device.Path, $"{_device.Path}: disk is read-only");
        }

        CheckRange(offset, data.Length);
        if (data.IsEmpty)
        {
            return;
        }

        long first = offset / Sector;
        long end = (offset + data.Length + Sector - 1) / Sector;
        using RangeLock.Holder hold = _locks.Acquire(first, end, exclusive: true);
        int head = (int)(offset % Sector);
        if (head == 0 && data.Length % Sector == 0)
        {
            _device.WriteSectors(first, data);
            return;
        }

        long span = (end - first) * Sector;
        if (span <= SmallWriteLimit)
        {
            // One write of whole sectors: head and tail sectors read, patched, written with the middle.
            byte[] rented = ArrayPool<byte>.Shared.Rent((int)span);
            try
            {
                Span<byte> whole = rented.AsSpan(0, (int)span);
                _device.ReadSectors(first, whole[..Sector]);
                if (end - 1 > first)
                {
                    _device.ReadSectors(end - 1, whole[^Sector..]);
                }

                data.CopyTo(whole[head..]);
                _device.WriteSectors(first, whole);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }

            return;
        }

        Span<byte> sector = stackalloc byte[Sector];
        int done = 0;
        if (head != 0)
        {
            _device.ReadSectors(first, sector);
            int n = Sector - head;
            data[..n].CopyTo(sector[head..]);
            _device.WriteSectors(first, sector);
            done = n;
        }

        int middle = (data.Length - done) / Sector * Sector;
        if (middle > 0)
        {
            _device.WriteSectors((offset + done) / Sector, data.Slice(done, middle));
            done += middle;
        }

        if (done < data.Length)
        {
            long last = (offset + done) / Sector;
            _device.ReadSectors(last, sector);
            data[done..].CopyTo(sector);
            _device.WriteSectors(last, sector);
        }
    }

    public void Flush() => _device.Flush();

    public void Dispose()
    {
        if (_ownsDevice)
        {
            _device.Dispose();
        }
    }

    private void ReadWithCopy(long first, long end, long offset, Span<byte> buffer)
    {
        long span = (end - first) * Sector;
        byte[] rented = ArrayPool<byte>.Shared.Rent((int)span);
        try
        {
            Span<byte> whole = rented.AsSpan(0, (int)span);
            _device.ReadSectors(first, whole);
            if (_image!.AllocationRunsIn(first, end - first).Any(r => !r.Allocated))
            {
                _image.PopulateUnallocated(first, whole);
            }

            whole.Slice((int)(offset - (first * Sector)), buffer.Length).CopyTo(buffer);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private void CheckRange(long offset, int length)
    {
        if (offset < 0 || offset > Length || length > Length - offset)
        {
            throw new AddCowException(AddCowError.OutOfRange, _device.Path,
                $"{_device.Path}: bytes {offset}..{offset + length} are past the end of the {Length}-byte disk");
        }
    }
}
