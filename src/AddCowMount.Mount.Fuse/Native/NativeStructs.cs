using System.Runtime.InteropServices;

namespace AddCowMount.Mount.Fuse.Native;

// Layouts of libfuse 3.14 / glibc structures on x86_64 Linux, checked against the C headers with offsetof
// (a test pins every offset used here). Only the fields this layer touches are declared.

/// <summary>struct stat (glibc x86_64, 144 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 144)]
internal struct Stat
{
    [FieldOffset(0)] public ulong Dev;
    [FieldOffset(8)] public ulong Ino;
    [FieldOffset(16)] public ulong Nlink;
    [FieldOffset(24)] public uint Mode;
    [FieldOffset(28)] public uint Uid;
    [FieldOffset(32)] public uint Gid;
    [FieldOffset(40)] public ulong Rdev;
    [FieldOffset(48)] public long Size;
    [FieldOffset(56)] public long BlockSize;
    [FieldOffset(64)] public long Blocks;
    [FieldOffset(72)] public Timespec Atime;
    [FieldOffset(88)] public Timespec Mtime;
    [FieldOffset(104)] public Timespec Ctime;
}

/// <summary>struct statvfs (glibc x86_64, 112 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 112)]
internal struct StatVfs
{
    [FieldOffset(0)] public ulong BlockSize;
    [FieldOffset(8)] public ulong FragmentSize;
    [FieldOffset(16)] public ulong Blocks;
    [FieldOffset(24)] public ulong BlocksFree;
    [FieldOffset(32)] public ulong BlocksAvailable;
    [FieldOffset(40)] public ulong Files;
    [FieldOffset(48)] public ulong FilesFree;
    [FieldOffset(56)] public ulong FilesAvailable;
    [FieldOffset(64)] public ulong FileSystemId;
    [FieldOffset(72)] public ulong Flags;
    [FieldOffset(80)] public ulong NameMax;
}

/// <summary>struct timespec.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Timespec
{
    public long Seconds;
    public long Nanoseconds;

    /// <summary>utimensat's "set to now" marker in <see cref="Nanoseconds"/>.</summary>
    public const long UtimeNow = (1L << 30) - 1;

    /// <summary>utimensat's "leave unchanged" marker in <see cref="Nanoseconds"/>.</summary>
    public const long UtimeOmit = (1L << 30) - 2;
}

/// <summary>struct fuse_file_info (40 bytes): open flags, a bitfield word, the file handle.</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
internal struct FuseFileInfo
{
    /// <summary>open(2) flags.</summary>
    [FieldOffset(0)] public int Flags;

    /// <summary>Bitfield: writepage (bit 0), direct_io (1), keep_cache (2), flush (3), nonseekable (4), ...</summary>
    [FieldOffset(4)] public uint Bits;

    [FieldOffset(16)] public ulong FileHandle;
    [FieldOffset(24)] public ulong LockOwner;

    public const uint DirectIoBit = 1u << 1;
    public const uint KeepCacheBit = 1u << 2;
}

/// <summary>struct fuse_conn_info (128 bytes); the limits negotiated in init.</summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct FuseConnInfo
{
    [FieldOffset(0)] public uint ProtoMajor;
    [FieldOffset(4)] public uint ProtoMinor;
    [FieldOffset(8)] public uint MaxWrite;
    [FieldOffset(12)] public uint MaxRead;
    [FieldOffset(16)] public uint MaxReadahead;
    [FieldOffset(20)] public uint Capable;
    [FieldOffset(24)] public uint Want;
    [FieldOffset(28)] public uint MaxBackground;
    [FieldOffset(32)] public uint CongestionThreshold;
}

/// <summary>struct fuse_config (128 bytes); init may change it before the first request.</summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct FuseConfig
{
    [FieldOffset(40)] public double AttrTimeout;
    [FieldOffset(72)] public int DirectIo;
    [FieldOffset(76)] public int KernelCache;
    [FieldOffset(80)] public int AutoCache;
}

/// <summary>struct fuse_context (40 bytes), per request thread.</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
internal struct FuseContext
{
    [FieldOffset(0)] public IntPtr Fuse;
    [FieldOffset(8)] public uint Uid;
    [FieldOffset(12)] public uint Gid;
    [FieldOffset(16)] public int Pid;
    [FieldOffset(24)] public IntPtr PrivateData;
}

/// <summary>struct fuse_args.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct FuseArgs
{
    public int Argc;
    public byte** Argv;
    public int Allocated;
}

/// <summary>Slot numbers of struct fuse_operations (42 function pointers, 336 bytes).</summary>
internal enum FuseOperationSlot
{
    GetAttr = 0,
    ReadLink = 1,
    Mknod = 2,
    Mkdir = 3,
    Unlink = 4,
    Rmdir = 5,
    Symlink = 6,
    Rename = 7,
    Link = 8,
    Chmod = 9,
    Chown = 10,
    Truncate = 11,
    Open = 12,
    Read = 13,
    Write = 14,
    StatFs = 15,
    Flush = 16,
    Release = 17,
    Fsync = 18,
    SetXattr = 19,
    GetXattr = 20,
    ListXattr = 21,
    RemoveXattr = 22,
    OpenDir = 23,
    ReadDir = 24,
    ReleaseDir = 25,
    FsyncDir = 26,
    Init = 27,
    Destroy = 28,
    Access = 29,
    Create = 30,
    Lock = 31,
    Utimens = 32,
    Bmap = 33,
    Ioctl = 34,
    Poll = 35,
    WriteBuf = 36,
    ReadBuf = 37,
    Flock = 38,
    Fallocate = 39,
    CopyFileRange = 40,
    Lseek = 41,
    Count = 42,
}

/// <summary>struct fuse_buf (libfuse 3.14, x86_64): 40 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct FuseBuf
{
    /// <summary>FUSE_BUF_IS_FD: the data is in <see cref="Fd"/>, not in <see cref="Mem"/>.</summary>
    public const int IsFd = 1 << 1;

    public nuint Size;
    public int Flags;
    public void* Mem;
    public int Fd;
    public long Position;
}

/// <summary>struct fuse_bufvec: count, index, offset, then the buffers (declared buf[1] in C).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseBufVec
{
    public nuint Count;
    public nuint Index;
    public nuint Offset;
    public FuseBuf Buf;
}
