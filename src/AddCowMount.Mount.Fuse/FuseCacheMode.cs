namespace AddCowMount.Mount.Fuse;

/// <summary>How the kernel may cache file contents of the mounted views.</summary>
public enum FuseCacheMode
{
    /// <summary>
    /// The default: <c>direct_io</c>. Every read and write reaches the volume (up to max_read/max_write per request),
    /// nothing is cached in the page cache. Chosen because one volume exposes several views of the same disk
    /// (.img/.vhd/.vmdk): a write through one view must show in the others at once, which a page cache per file
    /// cannot guarantee. It also makes <c>O_DIRECT</c> (qemu <c>cache=none</c>, <c>dd oflag=direct</c>, fio
    /// <c>direct=1</c>) and buffered I/O behave the same, and <c>fsync</c> reaches the volume without a
    /// write-back pass. Shared writable <c>mmap</c> needs kernel 6.6+ (FUSE_DIRECT_IO_ALLOW_MMAP) in this mode.
    /// </summary>
    DirectIo,

    /// <summary>
    /// <c>kernel_cache</c>: the page cache is kept across opens. Faster for repeated buffered reads of a single
    /// view, but only safe when nothing changes the data behind the kernel's back (one view used at a time).
    /// </summary>
    KernelCache,

    /// <summary>libfuse's default: page cache used while a file is open, dropped on every open.</summary>
    PageCache,
}
