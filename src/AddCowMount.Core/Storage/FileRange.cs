using Microsoft.Win32.SafeHandles;

namespace AddCowMount.Core.Storage;

/// <summary>
/// Bytes of an open file that answer a read of the disk exactly as they are: the file, where in it, and how many. A
/// mount layer may hand such a range to the kernel to copy (the FUSE loop writes its reply from a mapping of the file: MappedFileRanges) instead of reading it
/// into memory first.
/// <para>
/// Only a file that cannot change while the disk is open gives out ranges (<see cref="IStorageFile.UnchangingHandle"/>):
/// a layer opened read-only, which is every layer below an overlay (the image lock keeps writers out). So the range
/// may be read after the request's range lock is released and still return what a read under it would have: a write
/// to those sectors of the overlay goes to the overlay's image file, never into this file. The handle stays open as
/// long as the disk does.
/// </para>
/// </summary>
public readonly record struct FileRange(SafeFileHandle Handle, long Offset, int Length);
