using System.Buffers;
using AddCowMount.Core.Alignment;
using AddCowMount.Core.Format;
using AddCowMount.Core.Storage;

namespace AddCowMount.Core.Volume;

/// <summary>
/// NAME.vhdx: a fixed VHDX (<see cref="VhdxLayout"/>) whose payload is the disk. Reads of the structure are
/// synthesized (headers from <see cref="VhdxHeaderStore"/>), payload reads and writes go straight to the disk,
/// the padding after the disk's end reads as zeros.
/// Writes: rewriting the same bytes always succeeds; a changed header is accepted when it is a well-formed
/// rewrite (<see cref="VhdxHeader.IsAcceptableRewrite"/>) and kept in the sidecar before the write is
/// acknowledged; any other change to the structure (file identifier, region tables, log, metadata, BAT, a header
/// with a log to replay) or non-zero bytes in the padding refuse the whole write with
/// <see cref="VolumeStatus.IoError"/>, and nothing is written.
/// </summary>
internal sealed class VhdxDiskView(string name, IDisk disk, VhdxLayout layout, VhdxHeaderStore headers) : DiskView(name)
{
    private const int HeadersLength = 2 * VhdxHeader.Size;

    public VhdxLayout Layout { get; } = layout;

    public override long Length => Layout.FileLength;

    public override bool ShowsDiskContent => true;

    public override void Read(long offset, Span<byte> buffer)
    {
        var end = offset + buffer.Length;
        if (offset < Layout.PayloadOffset)
        {
            var count = (int)(Math.Min(end, Layout.PayloadOffset) - offset);
            Span<byte> snapshot = stackalloc byte[HeadersLength];
            headers.Snapshot(snapshot);
            Layout.ReadStructure(offset, buffer[..count], snapshot[..VhdxHeader.Size], snapshot[VhdxHeader.Size..]);
        }

        var diskStart = Math.Max(offset, Layout.PayloadOffset);
        var diskEnd = Math.Min(end, Layout.PayloadEnd);
        if (diskStart < diskEnd)
        {
            disk.Read(diskStart - Layout.PayloadOffset, buffer.Slice((int)(diskStart - offset), (int)(diskEnd - diskStart)));
        }

        var padStart = Math.Max(offset, Layout.PayloadEnd);
        if (padStart < end)
        {
            buffer[(int)(padStart - offset)..].Clear();
        }
    }

    /// <summary>Ranges of the payload only: headers, metadata and the BAT are this view's own bytes, the padding zeros.</summary>
    public override bool TryMapUnchanging(long offset, int length, out FileRange range)
    {
        range = default;
        return offset >= Layout.PayloadOffset && offset <= Layout.PayloadEnd - length
            && disk.TryMapUnchanging(offset - Layout.PayloadOffset, length, out range);
    }

    public override VolumeStatus Write(long offset, ReadOnlySpan<byte> data, out string? reason)
    {
        reason = null;
        var end = offset + data.Length;
        var padStart = Math.Max(offset, Layout.PayloadEnd);
        if (padStart < end && data[(int)(padStart - offset)..].ContainsAnyExcept((byte)0))
        {
            reason = "the padding after the disk's last sector is not part of the disk and stays zero";
            return VolumeStatus.IoError;
        }

        if (offset < Layout.PayloadOffset)
        {
            var part = data[..(int)(Math.Min(end, Layout.PayloadOffset) - offset)];
            if (!TryWriteStructure(offset, part, out reason))
            {
                return VolumeStatus.IoError;
            }
        }

        var diskStart = Math.Max(offset, Layout.PayloadOffset);
        var diskEnd = Math.Min(end, Layout.PayloadEnd);
        if (diskStart < diskEnd)
        {
            disk.Write(diskStart - Layout.PayloadOffset, data.Slice((int)(diskStart - offset), (int)(diskEnd - diskStart)));
        }

        return VolumeStatus.Success;
    }

    public override bool WritesDisk(long offset, int count) =>
        count > 0 && offset < Layout.PayloadEnd && offset + count > Layout.PayloadOffset;

    /// <summary>Same bytes: nothing to do. Changes only inside the two 4 KiB headers: a header rewrite. Anything else: refused.</summary>
    private bool TryWriteStructure(long offset, ReadOnlySpan<byte> part, out string? reason)
    {
        reason = null;
        var rented = ArrayPool<byte>.Shared.Rent(part.Length);
        try
        {
            Span<byte> snapshot = stackalloc byte[HeadersLength];
            headers.Snapshot(snapshot);
            var current = rented.AsSpan(0, part.Length);
            Layout.ReadStructure(offset, current, snapshot[..VhdxHeader.Size], snapshot[VhdxHeader.Size..]);
            var differs = part.CommonPrefixLength(current);
            if (differs == part.Length)
            {
                return true;
            }

            // Every changed byte must lie in a header; build the candidate headers from the written bytes.
            Span<byte> candidate = stackalloc byte[HeadersLength];
            snapshot.CopyTo(candidate);
            for (var i = differs; i < part.Length;)
            {
                var at = offset + i;
                var slot = at is >= VhdxLayout.Header1Offset and < VhdxLayout.Header1Offset + VhdxHeader.Size ? 0
                    : at is >= VhdxLayout.Header2Offset and < VhdxLayout.Header2Offset + VhdxHeader.Size ? 1 : -1;
                if (slot < 0)
                {
                    if (part[i] != current[i])
                    {
                        reason = $"the write would change the VHDX's {Layout.RegionAt(at)} at file offset {at}; its layout is fixed";
                        return false;
                    }

                    i++;
                    continue;
                }

                var slotStart = slot == 0 ? VhdxLayout.Header1Offset : VhdxLayout.Header2Offset;
                var inSlot = (int)Math.Min(slotStart + VhdxHeader.Size - at, part.Length - i);
                part.Slice(i, inSlot).CopyTo(candidate[((slot * VhdxHeader.Size) + (int)(at - slotStart))..]);
                i += inSlot;
            }

            if (!headers.TryReplace(candidate, out var refused))
            {
                reason = $"the VHDX header rewrite is not accepted: {refused}";
                return false;
            }

            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
