using AddCowMount.Core.Alignment;
using AddCowMount.Core.Format;
using AddCowMount.Core.Storage;

namespace AddCowMount.Core.Volume;

/// <summary>
/// One file of the volume as a view of the disk. The model validates ranges (inside <see cref="Length"/>),
/// access and read-only mounts, and maps exceptions; a view only moves bytes and refuses what it must.
/// </summary>
internal abstract class DiskView(string name)
{
    public string Name { get; } = name;

    public abstract long Length { get; }

    /// <summary>True when writes to the disk change this file's content (its last write time then moves).</summary>
    public abstract bool ShowsDiskContent { get; }

    /// <summary>Reads <c>buffer.Length</c> bytes at <paramref name="offset"/>; the range lies inside <see cref="Length"/>.</summary>
    public abstract void Read(long offset, Span<byte> buffer);

    /// <summary>Where the range, inside <see cref="Length"/>, lies whole in a file nothing writes (<see cref="IDisk.TryMapUnchanging"/>); false by default.</summary>
    public virtual bool TryMapUnchanging(long offset, int length, out FileRange range)
    {
        range = default;
        return false;
    }

    /// <summary>Writes all of <paramref name="data"/> or nothing; the range lies inside <see cref="Length"/>.</summary>
    /// <returns>Success, or the refusal; <paramref name="reason"/> says why for the log.</returns>
    public abstract VolumeStatus Write(long offset, ReadOnlySpan<byte> data, out string? reason);

    /// <summary>True when the write reached the disk (so the disk is dirty).</summary>
    public abstract bool WritesDisk(long offset, int count);
}

/// <summary>NAME.img: the raw disk.</summary>
internal sealed class RawDiskView(string name, IDisk disk) : DiskView(name)
{
    public override long Length => disk.Length;

    public override bool ShowsDiskContent => true;

    public override void Read(long offset, Span<byte> buffer) => disk.Read(offset, buffer);

    public override bool TryMapUnchanging(long offset, int length, out FileRange range) => disk.TryMapUnchanging(offset, length, out range);

    public override VolumeStatus Write(long offset, ReadOnlySpan<byte> data, out string? reason)
    {
        reason = null;
        disk.Write(offset, data);
        return VolumeStatus.Success;
    }

    public override bool WritesDisk(long offset, int count) => count > 0;
}

/// <summary>
/// NAME.vhd: the disk followed by a 512-byte fixed VHD footer. The footer describes the disk and must stay
/// true, so a write into it never reaches the disk: rewriting the same bytes succeeds (hypervisors do that),
/// any change is refused with <see cref="VolumeStatus.AccessDenied"/>. A write spanning disk and footer is
/// refused whole unless its footer part is unchanged, in which case its disk part is written.
/// </summary>
internal sealed class VhdDiskView(string name, IDisk disk, VhdFooter footer) : DiskView(name)
{
    private readonly byte[] _footer = footer.ToArray();
    private readonly long _diskLength = disk.Length;

    public VhdFooter Footer { get; } = footer;

    public override long Length => _diskLength + VhdFooter.Size;

    public override bool ShowsDiskContent => true;

    public override void Read(long offset, Span<byte> buffer)
    {
        var diskCount = (int)Math.Clamp(_diskLength - offset, 0, buffer.Length);
        if (diskCount > 0)
        {
            disk.Read(offset, buffer[..diskCount]);
        }

        if (diskCount < buffer.Length)
        {
            var footerOffset = (int)(offset + diskCount - _diskLength);
            _footer.AsSpan(footerOffset, buffer.Length - diskCount).CopyTo(buffer[diskCount..]);
        }
    }

    /// <summary>Ranges of the disk part only: the footer is this view's own bytes.</summary>
    public override bool TryMapUnchanging(long offset, int length, out FileRange range)
    {
        range = default;
        return offset <= _diskLength - length && disk.TryMapUnchanging(offset, length, out range);
    }

    public override VolumeStatus Write(long offset, ReadOnlySpan<byte> data, out string? reason)
    {
        reason = null;
        var diskCount = (int)Math.Clamp(_diskLength - offset, 0, data.Length);
        if (diskCount < data.Length)
        {
            var footerOffset = (int)(offset + diskCount - _diskLength);
            if (!data[diskCount..].SequenceEqual(_footer.AsSpan(footerOffset, data.Length - diskCount)))
            {
                reason = "the VHD footer describes the disk and cannot be changed";
                return VolumeStatus.AccessDenied;
            }
        }

        if (diskCount > 0)
        {
            disk.Write(offset, data[..diskCount]);
        }

        return VolumeStatus.Success;
    }

    public override bool WritesDisk(long offset, int count) => offset < _diskLength && count > 0;
}

/// <summary>NAME.vmdk: a monolithicFlat descriptor pointing at NAME.img. Read-only: every write is refused.</summary>
internal sealed class VmdkDescriptorView(string name, VmdkDescriptor descriptor) : DiskView(name)
{
    public VmdkDescriptor Descriptor { get; } = descriptor;

    public override long Length => Descriptor.Bytes.Length;

    public override bool ShowsDiskContent => false;

    public override void Read(long offset, Span<byte> buffer) =>
        Descriptor.Bytes.AsSpan((int)offset, buffer.Length).CopyTo(buffer);

    public override VolumeStatus Write(long offset, ReadOnlySpan<byte> data, out string? reason)
    {
        reason = "the VMDK descriptor is generated from the disk and is read-only";
        return VolumeStatus.AccessDenied;
    }

    public override bool WritesDisk(long offset, int count) => false;
}
