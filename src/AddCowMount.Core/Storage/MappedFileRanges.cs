using System.Collections.Concurrent;
using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;

namespace AddCowMount.Core.Storage;

/// <summary>
/// Read-only shared memory mappings of the unchanging files <see cref="FileRange"/>s point into, one per file, made on
/// first use and kept until disposed: a mount layer hands the kernel a pointer into one (FUSE writes the reply from it),
/// so the kernel copies the file's page-cache pages once, into the client's buffer, where a read into memory first
/// copies them twice. Only the kernel reads the memory (inside a system call), so a file cut short under the mapping
/// (which no image lock allows) fails that call with EFAULT rather than raising SIGBUS in this process.
/// <para>
/// Dispose only once no pointer handed out is in use any more (a mount disposes it after its request loop has ended).
/// A file that cannot be mapped (empty, or a file system without mmap) is remembered as such, and its ranges are
/// refused: the caller reads them as before.
/// </para>
/// </summary>
public sealed unsafe class MappedFileRanges : IDisposable
{
    private readonly ConcurrentDictionary<SafeFileHandle, Mapping?> _mappings = new(ReferenceEqualityComparer.Instance);
    private readonly Lock _gate = new();
    private bool _disposed;

    /// <summary>Files mapped so far.</summary>
    public int Count => _mappings.Count(pair => pair.Value is not null);

    /// <summary>The address of the range's first byte in its file's mapping; false when the file cannot be mapped or the range is not inside it.</summary>
    public bool TryGetPointer(FileRange range, out byte* data)
    {
        data = null;
        if (!_mappings.TryGetValue(range.Handle, out Mapping? mapping))
        {
            lock (_gate)
            {
                if (_disposed)
                {
                    return false;
                }

                if (!_mappings.TryGetValue(range.Handle, out mapping))
                {
                    mapping = Mapping.TryCreate(range.Handle);
                    _mappings[range.Handle] = mapping;
                }
            }
        }

        if (mapping is null || range.Length < 0 || range.Offset < 0 || range.Offset > mapping.Length - range.Length)
        {
            return false;
        }

        data = mapping.Pointer + range.Offset;
        return true;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (Mapping? mapping in _mappings.Values)
            {
                mapping?.Dispose();
            }

            _mappings.Clear();
        }
    }

    private sealed class Mapping : IDisposable
    {
        private readonly MemoryMappedFile _file;
        private readonly MemoryMappedViewAccessor _view;

        private Mapping(MemoryMappedFile file, MemoryMappedViewAccessor view, byte* pointer, long length)
        {
            _file = file;
            _view = view;
            Pointer = pointer;
            Length = length;
        }

        public byte* Pointer { get; }

        public long Length { get; }

        public static Mapping? TryCreate(SafeFileHandle handle)
        {
            MemoryMappedFile? file = null;
            MemoryMappedViewAccessor? view = null;
            try
            {
                long length = RandomAccess.GetLength(handle);
                if (length == 0)
                {
                    return null;
                }

                file = MemoryMappedFile.CreateFromFile(handle, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
                view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
                byte* pointer = null;
                view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
                return new Mapping(file, view, pointer + view.PointerOffset, Math.Min(length, view.Capacity));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                view?.Dispose();
                file?.Dispose();
                return null;
            }
        }

        public void Dispose()
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file.Dispose();
        }
    }
}
