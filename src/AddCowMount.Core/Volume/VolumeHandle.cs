using AddCowMount.Core.Storage;

namespace AddCowMount.Core.Volume;

/// <summary>
/// One open file of a <see cref="VolumeModel"/>: the node and the access it was opened for. Reading needs
/// <see cref="VolumeAccess.Read"/>, writing <see cref="VolumeAccess.Write"/> (otherwise
/// <see cref="VolumeStatus.AccessDenied"/>). Safe to use from several threads; after disposal every call
/// returns <see cref="VolumeStatus.InvalidParameter"/>.
/// </summary>
internal sealed class VolumeHandle(VolumeModel model, VolumeModel.Entry entry, VolumeAccess access) : IVolumeHandle
{
    private int _disposed;

    public VolumeNode Node => model.ToNode(entry);

    public VolumeAccess Access { get; } = access;

    public VolumeStatus Read(long offset, Span<byte> buffer, out int bytesRead)
    {
        if (IsDisposed)
        {
            bytesRead = 0;
            return VolumeStatus.InvalidParameter;
        }

        return model.Read(entry, Access, offset, buffer, out bytesRead);
    }

    public bool TryMapRead(long offset, int length, out FileRange range)
    {
        range = default;
        return !IsDisposed && model.TryMapRead(entry, Access, offset, length, out range);
    }

    public VolumeStatus Write(long offset, ReadOnlySpan<byte> data, out int bytesWritten)
    {
        if (IsDisposed)
        {
            bytesWritten = 0;
            return VolumeStatus.InvalidParameter;
        }

        return model.Write(entry, Access, offset, data, out bytesWritten);
    }

    public VolumeStatus Flush() => IsDisposed ? VolumeStatus.InvalidParameter : model.FlushDisk(entry.Name);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            model.HandleClosed();
        }
    }

    private bool IsDisposed => Volatile.Read(ref _disposed) != 0;
}
