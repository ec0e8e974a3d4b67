using AddCowMount.Core.Diagnostics;
using AddCowMount.Core.Engine;
using AddCowMount.Core.Volume;

namespace AddCowMount.Nbd.Export;

/// <summary>
/// The composed disk as an NBD export: I/O goes through the volume's raw view (<c>NAME.img</c>: the same
/// sector-aligning adapter, error mapping and dirty write-back as a mount; each connection is an open handle,
/// so <c>addcow list</c> counts clients and <c>addcow unmount</c> refuses while any is attached), and block
/// status comes from the image's allocation bitmaps.
/// </summary>
public sealed class VolumeExport : INbdExport
{
    private const int Sector = ISectorDevice.SectorSize;
    private const int ZeroChunk = 1 << 20;
    private static readonly byte[] s_zeros = new byte[ZeroChunk];

    private readonly IVolume _volume;
    private readonly ISectorDevice _image;
    private readonly string _path;

    public VolumeExport(IVolume volume, ISectorDevice image, string rawFileName, string name)
    {
        _volume = volume;
        _image = image;
        _path = "/" + rawFileName;
        Name = name;
        Description = $"add-cow image {image.Path}";
        if (volume.GetNode(_path, out VolumeNode? node) != VolumeStatus.Success || node is null)
        {
            throw new ArgumentException($"the volume shows no {rawFileName}", nameof(rawFileName));
        }

        Size = node.Length;
    }

    public string Name { get; }

    public string Description { get; }

    public long Size { get; }

    public bool IsReadOnly => _volume.IsReadOnly;

    /// <summary>Every connection shares the one open image, whose flush captures every completed write.</summary>
    public bool CanMultiConn => true;

    public INbdSession? Open(out string? reason)
    {
        VolumeStatus status = _volume.Open(_path, IsReadOnly ? VolumeAccess.Read : VolumeAccess.ReadWrite, out IVolumeHandle? handle);
        reason = status == VolumeStatus.Success ? null : $"the volume refused to open {_path}: {status}";
        return handle is null ? null : new Session(this, handle);
    }

    private sealed class Session(VolumeExport export, IVolumeHandle handle) : INbdSession
    {
        public NbdError Read(long offset, Span<byte> buffer)
        {
            VolumeStatus status = handle.Read(offset, buffer, out int read);
            return status != VolumeStatus.Success ? NbdErrors.FromStatus(status) : read == buffer.Length ? NbdError.None : NbdError.IO;
        }

        public NbdError Write(long offset, ReadOnlySpan<byte> data)
        {
            VolumeStatus status = handle.Write(offset, data, out int written);
            return status != VolumeStatus.Success ? NbdErrors.FromStatus(status) : written == data.Length ? NbdError.None : NbdError.IO;
        }

        public NbdError Flush() => NbdErrors.FromStatus(handle.Flush());

        public NbdError WriteZeroes(long offset, long length, bool mayLeaveHole)
        {
            var extents = new List<AllocationExtent>();
            long end = offset + length;
            for (long at = offset; at < end;)
            {
                extents.Clear();
                if (mayLeaveHole)
                {
                    Allocation(at, end - at, 1024, extents);
                }
                else
                {
                    extents.Add(new AllocationExtent(at, end - at, -1));
                }

                foreach (AllocationExtent extent in extents)
                {
                    // Where no layer holds data the disk already reads zeros: leave it unallocated, so the image file stays sparse.
                    NbdError error = extent.Depth == 0 ? NbdError.None : WriteZeroBytes(extent.Offset, extent.Length);
                    if (error != NbdError.None)
                    {
                        return error;
                    }

                    at = extent.Offset + extent.Length;
                }
            }

            return NbdError.None;
        }

        private NbdError WriteZeroBytes(long offset, long length)
        {
            for (long done = 0; done < length;)
            {
                int n = (int)Math.Min(ZeroChunk, length - done);
                NbdError error = Write(offset + done, s_zeros.AsSpan(0, n));
                if (error != NbdError.None)
                {
                    return error;
                }

                done += n;
            }

            return NbdError.None;
        }

        public void Allocation(long offset, long length, int max, List<AllocationExtent> into)
        {
            long end = offset + length;
            long first = offset / Sector;
            long sectors = ((end + Sector - 1) / Sector) - first;
            int added = 0;
            foreach ((long start, long count, int depth) in AllocationDepth.Runs(export._image, first, sectors))
            {
                long from = Math.Max(offset, start * Sector);
                long to = Math.Min(end, (start + count) * Sector);
                into.Add(new AllocationExtent(from, to - from, depth));
                if (++added >= max)
                {
                    break;
                }
            }
        }

        public void Dispose() => handle.Dispose();
    }
}
