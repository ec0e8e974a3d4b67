namespace AddCowMount.Mount.Fuse;

/// <summary>How <see cref="FuseMount"/> mounts a volume.</summary>
public sealed record FuseMountOptions
{
    /// <summary>The largest request the kernel accepts (FUSE max_pages 256 of 4 KiB).</summary>
    public const int KernelMaxTransfer = 1024 * 1024;

    /// <summary>Mount read-only: the kernel refuses writes with EROFS and the adapter refuses them too.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>Let other users reach the mount (needs root or <c>user_allow_other</c> in /etc/fuse.conf). Off: only the mounting user.</summary>
    public bool AllowOther { get; init; }

    /// <summary>Largest read request in bytes (the kernel caps it at 1 MiB).</summary>
    public int MaxRead { get; init; } = KernelMaxTransfer;

    /// <summary>Largest write request in bytes (the kernel caps it at 1 MiB).</summary>
    public int MaxWrite { get; init; } = KernelMaxTransfer;

    /// <summary>
    /// Most asynchronous requests the kernel keeps in flight to us (FUSE <c>max_background</c>): a queue-depth client's
    /// direct reads and writes are sent as background requests, and the kernel's default of 12 holds a client at queue
    /// depth 16 or 32 (a VM's, fio's) in its submission call until one of the 12 is answered. 64 lets such a queue
    /// reach us whole; the congestion threshold is set at three quarters of it.
    /// </summary>
    public int MaxBackground { get; init; } = 64;

    /// <summary>Most worker threads libfuse's multithreaded loop may run.</summary>
    public int MaxThreads { get; init; } = 10;

    public FuseCacheMode CacheMode { get; init; } = FuseCacheMode.DirectIo;

    /// <summary>How long the kernel may cache attributes and names, in seconds.</summary>
    public double AttributeTimeoutSeconds { get; init; } = 1.0;

    /// <summary>Shown as the source in /proc/mounts.</summary>
    public string FileSystemName { get; init; } = "addcow";

    /// <summary>Shown as the type suffix in /proc/mounts (<c>fuse.addcow</c>).</summary>
    public string SubType { get; init; } = "addcow";

    /// <summary>How long <see cref="FuseMount.Start"/> waits for the kernel's INIT and <see cref="FuseMount.Stop"/> for the loop to end.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);
}
