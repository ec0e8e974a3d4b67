using AddCowMount.Core.Storage;

namespace AddCowMount.Core.Engine;

/// <summary>
/// A sector-addressed layer of a backing chain (raw file or add-cow image). Requests are whole
/// 512-byte sectors; reads of sectors at or past <see cref="SectorCount"/> return zeros.
/// </summary>
public interface ISectorDevice : IDisposable
{
    const int SectorSize = 512;

    /// <summary>Path of the file this layer was opened from.</summary>
    string Path { get; }

    /// <summary>"raw" or "add-cow".</summary>
    string FormatName { get; }

    /// <summary>Size in bytes as the layer reports it (a raw file's length; an add-cow disk's whole sectors).</summary>
    long Length { get; }

    /// <summary>Sectors that hold data (a raw file's partial last sector counts, its tail reads as zeros).</summary>
    long SectorCount { get; }

    bool IsWritable { get; }

    /// <summary>The next layer down, if any.</summary>
    ISectorDevice? Backing { get; }

    void ReadSectors(long sector, Span<byte> buffer);

    /// <summary>
    /// Where the <paramref name="byteCount"/> bytes from <paramref name="sector"/> lie whole, in one file that cannot
    /// change while the disk is open (<see cref="FileRange"/>), so a reader may take them from there; false when they do
    /// not (a mix of layers, zeros past a layer's end, a file that is written), and by default. It reads nothing.
    /// </summary>
    bool TryMapUnchanging(long sector, int byteCount, out FileRange range)
    {
        range = default;
        return false;
    }

    void WriteSectors(long sector, ReadOnlySpan<byte> data);

    void Flush();
}
