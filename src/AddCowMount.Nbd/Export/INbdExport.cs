namespace AddCowMount.Nbd.Export;

/// <summary>One run of the export and where its bytes live: depth 1 = the overlay's image file, 2+ = the backing
/// chain, 0 = no layer holds it (reads as zeros). The depth qemu's <c>qemu:allocation-depth</c> context reports.</summary>
public readonly record struct AllocationExtent(long Offset, long Length, int Depth);

/// <summary>What the protocol serves: one named disk. Implementations are safe to call from many threads.</summary>
public interface INbdExport
{
    /// <summary>The export's name; the empty name reaches it too (the default export).</summary>
    string Name { get; }

    string Description { get; }

    long Size { get; }

    bool IsReadOnly { get; }

    /// <summary>True only when a flush on one connection makes every connection's completed writes durable.</summary>
    bool CanMultiConn { get; }

    /// <summary>Per-connection state; null with a reason when the export cannot take another client.</summary>
    INbdSession? Open(out string? reason);
}

/// <summary>One connection's view of the export. Ranges are checked by the protocol before these are called.</summary>
public interface INbdSession : IDisposable
{
    NbdError Read(long offset, Span<byte> buffer);

    NbdError Write(long offset, ReadOnlySpan<byte> data);

    /// <summary>Makes every write completed before the call durable, on every connection.</summary>
    NbdError Flush();

    /// <summary>Makes the range read as zeros; <paramref name="mayLeaveHole"/> lets it skip ranges that already read as zeros.</summary>
    NbdError WriteZeroes(long offset, long length, bool mayLeaveHole);

    /// <summary>Appends the allocation of [offset, offset + length) in order, at most <paramref name="max"/> extents.</summary>
    void Allocation(long offset, long length, int max, List<AllocationExtent> into);
}
