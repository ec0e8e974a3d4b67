using Microsoft.Win32.SafeHandles;

namespace AddCowMount.Benchmarks.Infrastructure;

/// <summary>
/// The seed's write path, reproduced step for step with <see cref="RandomAccess"/> on real add-cow files, as the
/// baseline for our flush policy. Per guest write the seed (add-cow.c v4, <c>add_cow_co_writev</c>) does:
/// <list type="number">
/// <item>write the data to the image file (<c>bdrv_co_writev(s-&gt;image_hd, ...)</c>, no sync);</item>
/// <item><c>add_cow_update_bitmap</c>: set the bits in its in-memory bitmap, then
/// <c>bdrv_pwrite_sync(bs-&gt;file, 2068 + start_pos, bitmap + start_pos,
/// MIN(((end_pos - start_pos) &amp; ~512) + 512, bitmap_size - start_pos))</c>;</item>
/// <item><c>bdrv_pwrite</c> of 2011 works in whole sectors: the unaligned head sector is read, patched and
/// written, whole middle sectors written, the tail sector read, patched and written;</item>
/// <item>then <c>bdrv_flush(bs-&gt;file)</c> (writeback cache mode, QEMU's default), which raw-posix implements
/// as <c>fdatasync</c> of the add-cow file.</item>
/// </list>
/// The seed held one lock around all of it, so writes are issued one at a time here too.
/// </summary>
internal sealed class SeedWritePath : IDisposable
{
    private const int HeaderLength = 2068;
    private const int Sector = 512;

    private readonly SafeFileHandle _addCow;
    private readonly SafeFileHandle _image;
    private readonly byte[] _bitmap;

    public SeedWritePath(string addCowPath, string imagePath, long sectorCount)
    {
        _addCow = File.OpenHandle(addCowPath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        _image = File.OpenHandle(imagePath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);

        // The seed reads the whole bitmap at open (add_cow_open, bdrv_pread of bitmap_size bytes).
        _bitmap = new byte[(sectorCount + 7) / 8];
        BenchFiles.ReadFully(_addCow, _bitmap, HeaderLength);
    }

    /// <summary>One guest write of whole sectors, as add_cow_co_writev handles it.</summary>
    public void Write(long sectorNum, ReadOnlySpan<byte> data)
    {
        int sectors = data.Length / Sector;
        RandomAccess.Write(_image, data, sectorNum * Sector);
        UpdateBitmap(sectorNum, sectors);
    }

    public void Dispose()
    {
        _addCow.Dispose();
        _image.Dispose();
    }

    private void UpdateBitmap(long sectorNum, int sectors)
    {
        ulong startPos = (ulong)sectorNum / 8;
        ulong endPos = (ulong)(sectorNum + sectors - 1) / 8;
        for (long s = sectorNum; s < sectorNum + sectors; s++)
        {
            _bitmap[s >> 3] |= (byte)(1 << (int)(s & 7));
        }

        // The seed's length expression, including its "~512" (see refcow README, W1).
        ulong length = Math.Min(((endPos - startPos) & ~512UL) + 512, (ulong)_bitmap.Length - startPos);
        PwriteSectors(HeaderLength + (long)startPos, _bitmap.AsSpan((int)startPos, (int)length));
        NativeFile.DataSync(_addCow);
    }

    /// <summary>2011 QEMU <c>bdrv_pwrite</c> on the (growable) file protocol: sector read-modify-write at both ends.</summary>
    private void PwriteSectors(long offset, ReadOnlySpan<byte> data)
    {
        Span<byte> sector = stackalloc byte[Sector];
        int head = (int)((Sector - offset) & (Sector - 1));
        head = Math.Min(head, data.Length);
        long sectorNum = offset / Sector;
        if (head > 0)
        {
            BenchFiles.ReadFully(_addCow, sector, sectorNum * Sector);
            data[..head].CopyTo(sector[(int)(offset & (Sector - 1))..]);
            RandomAccess.Write(_addCow, sector, sectorNum * Sector);
            data = data[head..];
            if (data.IsEmpty)
            {
                return;
            }

            sectorNum++;
        }

        int middle = data.Length / Sector * Sector;
        if (middle > 0)
        {
            RandomAccess.Write(_addCow, data[..middle], sectorNum * Sector);
            sectorNum += middle / Sector;
            data = data[middle..];
        }

        if (!data.IsEmpty)
        {
            BenchFiles.ReadFully(_addCow, sector, sectorNum * Sector);
            data.CopyTo(sector);
            RandomAccess.Write(_addCow, sector, sectorNum * Sector);
        }
    }
}
