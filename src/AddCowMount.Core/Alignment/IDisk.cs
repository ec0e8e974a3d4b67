using AddCowMount.Core.Storage;

namespace AddCowMount.Core.Alignment;

/// <summary>
/// A byte-addressed virtual disk: what every mount layer and view reads and writes.
/// Implementations are safe to call from many threads at once.
/// </summary>
public interface IDisk : IDisposable
{
    /// <summary>Size of the disk in bytes.</summary>
    long Length { get; }

    /// <summary>False for a read-only disk; <see cref="Write"/> then throws <see cref="Format.AddCowException"/> (<see cref="Format.AddCowError.ReadOnly"/>).</summary>
    bool CanWrite { get; }

    /// <summary>Reads exactly <c>buffer.Length</c> bytes at <paramref name="offset"/>; the range must lie inside the disk.</summary>
    void Read(long offset, Span<byte> buffer);

    /// <summary>
    /// Where the <paramref name="length"/> bytes at <paramref name="offset"/> lie whole in one file that cannot change while
    /// the disk is open, for a reader to take them from there (<see cref="FileRange"/>); false when they do not, and by
    /// default. It reads nothing, and a read of the range gives the same bytes.
    /// </summary>
    bool TryMapUnchanging(long offset, int length, out FileRange range)
    {
        range = default;
        return false;
    }

    /// <summary>Writes all of <paramref name="data"/> at <paramref name="offset"/>; the range must lie inside the disk.</summary>
    void Write(long offset, ReadOnlySpan<byte> data);

    /// <summary>Makes every write acknowledged before this call durable.</summary>
    void Flush();
}
