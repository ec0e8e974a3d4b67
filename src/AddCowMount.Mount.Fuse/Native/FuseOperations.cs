using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace AddCowMount.Mount.Fuse.Native;

/// <summary>
/// The native side of struct fuse_operations: one <see cref="UnmanagedCallersOnly"/> thunk per operation that
/// finds the mount's <see cref="FuseVolumeAdapter"/> (through fuse_context.private_data, a GCHandle the mount
/// keeps alive), converts pointers to spans and strings, and calls the adapter. Each thunk catches everything
/// and answers an errno (-EIO unless the exception says otherwise): nothing may unwind into libfuse. That
/// scaffold exists once, in <see cref="Guard"/>; each thunk only unpacks its native arguments.
/// </summary>
internal static unsafe class FuseOperations
{
    private const int EIO = FuseErrno.EIO;

    /// <summary>Size of struct fuse_operations in libfuse 3.14.</summary>
    internal static readonly nuint Size = (nuint)((int)FuseOperationSlot.Count * IntPtr.Size);

    /// <summary>A native, zeroed fuse_operations table with our thunks; free it with <see cref="Free"/> after fuse_destroy.</summary>
    public static IntPtr Allocate()
    {
        var table = (IntPtr*)NativeMemory.AllocZeroed(Size);
        table[(int)FuseOperationSlot.GetAttr] = (IntPtr)(delegate* unmanaged[Cdecl]<byte*, Stat*, FuseFileInfo*, int>)&GetAttr;
        table[(int)FuseOperationSlot.Mknod] = (IntPtr)(delegate* unmanaged[Cdecl]<byte*, uint, ulong, int>)&Mknod;
        table[(int)FuseOperationSlot.Mkdir] = (IntPtr)(delegate* unmanaged[Cdecl]<byte*, uint, int>)&Mkdir;
        table[(int)FuseOperationSlot.Unlink] = (IntPtr)(delegate* unmanaged[Cdecl]<byte*, int>)&Unlink;
        table[(int)FuseOperationSlot.Rmdir] = (IntPtr)(delegate* unmanaged[Cdecl]<byte*, int>)&Rmdir;
        table[(int)FuseOperationSlot.Rename] = (IntPtr)(delegate* unmanaged[Cdecl]<byte*, byte*, uint, int>)&Rename;
        table[(int)FuseOperationSlot.Chmod] = (IntPtr)(delegate* unmanaged[Cdecl]<byte*, uint, FuseFileInfo*, int>)&Chmod;
        table[(int)FuseOperationSlot.Chown] = (IntPtr)(delegate* unmanaged[Cdecl]<byte*, uint, uint, FuseFileInfo*, int>)&Chown;
        table[(int)FuseOperationSlot.Truncate] = (IntPtr)(delegate* unmanaged[Cdecl]<byte*, long, FuseFileInfo*, int>)&Truncate;
        table[(int)FuseOperationSlot.Open] = (IntPtr)(delegate* unmanaged[Cdecl]<byte*, FuseFileInfo*, int>)&Open;
        table[(int)FuseOperationSlot.Read] = (IntPtr)(delegate* unmanaged[Cdecl]<byte*, byte*, nuint, long, FuseFileInfo*, int>)&Read;
        table[(int)FuseOperationSlot.Write] = (IntPtr)(delegate* unmanaged[Cdecl]<byte*, byte*, nuint, long, FuseFileInfo*, int>)&Write;
        table[(int)FuseOperationSlot.WriteBuf] = (IntPtr)(delegate* unmanaged[Cdecl]<byte*, FuseBufVec*, long, FuseFileInfo*, int>)&WriteBuf;
        table[(int)FuseOperationSlot.StatFs] = (IntPtr)(delegate* unmanaged[Cdecl]<byte*, StatVfs*, int>)&StatFs;
        table[(int)FuseOperationSlot.Flush] = (IntPtr)(delegate* unmanaged[Cdecl]<byte*, FuseFileInfo*, int>)&Flush;
        table[(int)FuseOperationSlot.Release] = (IntPtr)(delegate* unmanaged[Cdecl]<byte*, FuseFileInfo*, int>)&Release;
        table[(int)FuseOperationSlot.Fsync] = (IntPtr)(delegate* unmanaged[Cdecl]<byte*, int, FuseFileInfo*, int>)&Fsync;
        table[(int)FuseOperationSlot.ReadDir] = (IntPtr)(delegate* unmanaged[Cdecl]<byte*, void*, IntPtr, long, FuseFileInfo*, int, int>)&ReadDir;
        table[(int)FuseOperationSlot.Init] = (IntPtr)(delegate* unmanaged[Cdecl]<FuseConnInfo*, FuseConfig*, void*>)&Init;
        table[(int)FuseOperationSlot.Destroy] = (IntPtr)(delegate* unmanaged[Cdecl]<void*, void>)&Destroy;
        table[(int)FuseOperationSlot.Access] = (IntPtr)(delegate* unmanaged[Cdecl]<byte*, int, int>)&Access;
        table[(int)FuseOperationSlot.Create] = (IntPtr)(delegate* unmanaged[Cdecl]<byte*, uint, FuseFileInfo*, int>)&Create;
        table[(int)FuseOperationSlot.Utimens] = (IntPtr)(delegate* unmanaged[Cdecl]<byte*, Timespec*, FuseFileInfo*, int>)&Utimens;
        return (IntPtr)table;
    }

    public static void Free(IntPtr table) => NativeMemory.Free((void*)table);

    /// <summary>Fills a native struct stat from computed attributes.</summary>
    internal static void WriteStat(Stat* stat, in FuseAttributes attributes)
    {
        *stat = default;
        stat->Mode = attributes.Mode;
        stat->Nlink = attributes.LinkCount;
        stat->Uid = attributes.Uid;
        stat->Gid = attributes.Gid;
        stat->Size = attributes.Size;
        stat->Blocks = attributes.Blocks;
        stat->BlockSize = attributes.BlockSize;
        stat->Atime = TimeConversion.ToTimespec(attributes.LastAccessTimeUtc);
        stat->Mtime = TimeConversion.ToTimespec(attributes.LastWriteTimeUtc);
        stat->Ctime = TimeConversion.ToTimespec(attributes.ChangeTimeUtc);
    }

    internal static void WriteStatFs(StatVfs* target, in FuseStatFs statFs)
    {
        *target = default;
        target->BlockSize = statFs.BlockSize;
        target->FragmentSize = statFs.BlockSize;
        target->Blocks = statFs.Blocks;
        target->BlocksFree = statFs.BlocksFree;
        target->BlocksAvailable = statFs.BlocksAvailable;
        target->NameMax = statFs.NameMax;
        target->FileSystemId = statFs.FileSystemId;
        target->Flags = statFs.ReadOnly ? 1UL : 0UL; // ST_RDONLY
    }

    private static FuseVolumeAdapter? Current()
    {
        FuseContext* context = LibFuse.GetContext();
        return context == null ? null : FromHandle(context->PrivateData);
    }

    private static FuseVolumeAdapter? FromHandle(IntPtr handle) =>
        handle == IntPtr.Zero ? null : GCHandle.FromIntPtr(handle).Target as FuseVolumeAdapter;

    private static string PathOf(byte* path) =>
        path == null ? "/" : Marshal.PtrToStringUTF8((IntPtr)path) ?? "/";

    private static int Failed(FuseVolumeAdapter? adapter, string operation, Exception exception)
    {
        try
        {
            return adapter?.HandleException(operation, exception) ?? -EIO;
        }
        catch (Exception)
        {
            return -EIO;
        }
    }

    /// <summary>
    /// The one scaffold around every request callback: find the mount's adapter (-EIO without one), run the
    /// operation, and turn whatever it throws into an errno. <paramref name="body"/> is a static lambda and the
    /// native arguments travel in <paramref name="state"/>, so a call allocates nothing.
    /// </summary>
    private static int Guard<TState>(string operation, TState state, Func<FuseVolumeAdapter, TState, int> body)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = Current();
            return adapter is null ? -EIO : body(adapter, state);
        }
        catch (Exception exception)
        {
            return Failed(adapter, operation, exception);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int GetAttr(byte* path, Stat* stat, FuseFileInfo* fileInfo) =>
        Guard("getattr", ((nint)path, (nint)stat), static (adapter, a) =>
        {
            int result = adapter.GetAttr(PathOf((byte*)a.Item1), out FuseAttributes attributes);
            if (result == 0)
            {
                WriteStat((Stat*)a.Item2, attributes);
            }

            return result;
        });

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int ReadDir(byte* path, void* buffer, IntPtr filler, long offset, FuseFileInfo* fileInfo, int flags) =>
        Guard("readdir", ((nint)path, (nint)buffer, filler), static (adapter, a) => FillDirectory(adapter, PathOf((byte*)a.Item1), (void*)a.Item2, a.Item3));

    private static int FillDirectory(FuseVolumeAdapter adapter, string directory, void* buffer, IntPtr filler)
    {
        int result = adapter.GetAttr(directory, out FuseAttributes self);
        if (result != 0)
        {
            return result;
        }

        result = adapter.ReadDirectory(directory, out IReadOnlyList<(string Name, FuseAttributes Attributes)> entries);
        if (result != 0)
        {
            return result;
        }

        var fill = (delegate* unmanaged[Cdecl]<void*, byte*, Stat*, long, int, int>)filler;
        if (!AddEntry(fill, buffer, ".", self) || !AddEntry(fill, buffer, "..", self))
        {
            return 0;
        }

        foreach ((string name, FuseAttributes attributes) in entries)
        {
            if (!AddEntry(fill, buffer, name, attributes))
            {
                break;
            }
        }

        return 0;
    }

    private static bool AddEntry(delegate* unmanaged[Cdecl]<void*, byte*, Stat*, long, int, int> fill, void* buffer, string name, in FuseAttributes attributes)
    {
        int max = Encoding.UTF8.GetMaxByteCount(name.Length) + 1;
        Span<byte> utf8 = max <= 1024 ? stackalloc byte[max] : new byte[max];
        int length = Encoding.UTF8.GetBytes(name, utf8);
        utf8[length] = 0;
        Stat stat;
        WriteStat(&stat, attributes);
        fixed (byte* namePointer = utf8)
        {
            // The filler answers 1 when its buffer is full.
            return fill(buffer, namePointer, &stat, 0, 0) == 0;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Open(byte* path, FuseFileInfo* fileInfo) =>
        Guard("open", ((nint)path, (nint)fileInfo), static (adapter, a) =>
        {
            var info = (FuseFileInfo*)a.Item2;
            int result = adapter.Open(PathOf((byte*)a.Item1), info->Flags, out ulong handle);
            info->FileHandle = handle;
            return result;
        });

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Create(byte* path, uint mode, FuseFileInfo* fileInfo) =>
        Guard("create", ((nint)path, (nint)fileInfo), static (adapter, a) =>
        {
            var info = (FuseFileInfo*)a.Item2;
            int result = adapter.Create(PathOf((byte*)a.Item1), info->Flags, out ulong handle);
            info->FileHandle = handle;
            return result;
        });

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Read(byte* path, byte* buffer, nuint size, long offset, FuseFileInfo* fileInfo) =>
        Guard("read", ((nint)buffer, size, offset, (nint)fileInfo), static (adapter, a) =>
            a.Item4 == 0 || a.Item2 > int.MaxValue
                ? -EIO
                : adapter.Read(((FuseFileInfo*)a.Item4)->FileHandle, a.Item3, new Span<byte>((byte*)a.Item1, (int)a.Item2)));

    /// <summary>
    /// write_buf: without it, libfuse's high-level API copies every write request into a fresh buffer before calling
    /// write. A request held in one memory buffer (the usual case) is passed on in place; anything else (several
    /// buffers, or a pipe/fd buffer when splicing) is gathered with fuse_buf_copy into one pooled buffer first.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int WriteBuf(byte* path, FuseBufVec* source, long offset, FuseFileInfo* fileInfo) =>
        Guard("write", ((nint)source, offset, (nint)fileInfo), static (adapter, a) =>
            a.Item1 == 0 || a.Item3 == 0 ? -EIO : WriteBuffers(adapter, ((FuseFileInfo*)a.Item3)->FileHandle, (FuseBufVec*)a.Item1, a.Item2));

    private static int WriteBuffers(FuseVolumeAdapter adapter, ulong handle, FuseBufVec* source, long offset)
    {
        FuseBuf* first = &source->Buf + source->Index;
        if (source->Count - source->Index == 1 && (first->Flags & FuseBuf.IsFd) == 0)
        {
            nuint length = first->Size - source->Offset;
            return length > int.MaxValue
                ? -EIO
                : adapter.Write(handle, offset, new ReadOnlySpan<byte>((byte*)first->Mem + source->Offset, (int)length));
        }

        nuint total = LibFuse.BufSize(source);
        if (total > int.MaxValue)
        {
            return -EIO;
        }

        byte[] rented = System.Buffers.ArrayPool<byte>.Shared.Rent((int)total);
        try
        {
            fixed (byte* memory = rented)
            {
                var destination = new FuseBufVec { Count = 1, Buf = new FuseBuf { Size = total, Mem = memory } };
                long copied = LibFuse.BufCopy(&destination, source, 0);
                return copied < 0 ? (int)copied : adapter.Write(handle, offset, new ReadOnlySpan<byte>(memory, (int)copied));
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Write(byte* path, byte* buffer, nuint size, long offset, FuseFileInfo* fileInfo) =>
        Guard("write", ((nint)buffer, size, offset, (nint)fileInfo), static (adapter, a) =>
            a.Item4 == 0 || a.Item2 > int.MaxValue
                ? -EIO
                : adapter.Write(((FuseFileInfo*)a.Item4)->FileHandle, a.Item3, new ReadOnlySpan<byte>((byte*)a.Item1, (int)a.Item2)));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Flush(byte* path, FuseFileInfo* fileInfo) =>
        Guard("flush", (nint)fileInfo, static (adapter, info) => info == 0 ? -EIO : adapter.Flush(((FuseFileInfo*)info)->FileHandle));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Fsync(byte* path, int dataSync, FuseFileInfo* fileInfo) =>
        Guard("fsync", (nint)fileInfo, static (adapter, info) => adapter.Fsync(info == 0 ? 0 : ((FuseFileInfo*)info)->FileHandle));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Release(byte* path, FuseFileInfo* fileInfo) =>
        Guard("release", (nint)fileInfo, static (adapter, info) => info == 0 ? -EIO : adapter.Release(((FuseFileInfo*)info)->FileHandle));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Truncate(byte* path, long length, FuseFileInfo* fileInfo) =>
        Guard("truncate", ((nint)path, length), static (adapter, a) => adapter.Truncate(PathOf((byte*)a.Item1), a.Item2));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Mknod(byte* path, uint mode, ulong device) =>
        Guard("mknod", (nint)path, static (adapter, p) => adapter.MakeNode(PathOf((byte*)p)));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Mkdir(byte* path, uint mode) =>
        Guard("mkdir", (nint)path, static (adapter, p) => adapter.MakeDirectory(PathOf((byte*)p)));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Unlink(byte* path) =>
        Guard("unlink", (nint)path, static (adapter, p) => adapter.Unlink(PathOf((byte*)p)));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Rmdir(byte* path) =>
        Guard("rmdir", (nint)path, static (adapter, p) => adapter.RemoveDirectory(PathOf((byte*)p)));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Rename(byte* fromPath, byte* toPath, uint flags) =>
        Guard("rename", ((nint)fromPath, (nint)toPath, flags), static (adapter, a) => adapter.Rename(PathOf((byte*)a.Item1), PathOf((byte*)a.Item2), a.Item3));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Chmod(byte* path, uint mode, FuseFileInfo* fileInfo) =>
        Guard("chmod", ((nint)path, mode), static (adapter, a) => adapter.ChangeMode(PathOf((byte*)a.Item1), a.Item2));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Chown(byte* path, uint uid, uint gid, FuseFileInfo* fileInfo) =>
        Guard("chown", ((nint)path, uid, gid), static (adapter, a) => adapter.ChangeOwner(PathOf((byte*)a.Item1), a.Item2, a.Item3));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Utimens(byte* path, Timespec* times, FuseFileInfo* fileInfo) =>
        Guard("utimens", ((nint)path, (nint)times), static (adapter, a) =>
        {
            var pair = (Timespec*)a.Item2;
            DateTime now = DateTime.UtcNow;
            DateTime? access = pair == null ? now : TimeConversion.FromTimespec(pair[0], now);
            DateTime? write = pair == null ? now : TimeConversion.FromTimespec(pair[1], now);
            return adapter.SetTimes(PathOf((byte*)a.Item1), access, write);
        });

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int StatFs(byte* path, StatVfs* target) =>
        Guard("statfs", (nint)target, static (adapter, t) =>
        {
            int result = adapter.StatFs(out FuseStatFs statFs);
            if (result == 0)
            {
                WriteStatFs((StatVfs*)t, statFs);
            }

            return result;
        });

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Access(byte* path, int mask) =>
        Guard("access", ((nint)path, mask), static (adapter, a) => adapter.Access(PathOf((byte*)a.Item1), a.Item2));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void* Init(FuseConnInfo* connection, FuseConfig* config)
    {
        // Whatever init returns becomes fuse_context.private_data for every later callback: hand back the GCHandle.
        IntPtr privateData = IntPtr.Zero;
        FuseVolumeAdapter? adapter = null;
        try
        {
            FuseContext* context = LibFuse.GetContext();
            privateData = context == null ? IntPtr.Zero : context->PrivateData;
            adapter = FromHandle(privateData);
            if (adapter is not null && connection != null)
            {
                // libfuse clamps max_write to its buffer (1 MiB); max_read must equal the max_read mount option.
                connection->MaxWrite = (uint)adapter.Options.MaxWrite;
                connection->MaxRead = (uint)adapter.Options.MaxRead;
                connection->MaxBackground = (uint)adapter.Options.MaxBackground;
                connection->CongestionThreshold = (uint)(adapter.Options.MaxBackground * 3 / 4);
                if (config != null)
                {
                    (bool directIo, bool kernelCache) = FuseOptionBuilder.CacheFlags(adapter.Options.CacheMode);
                    config->DirectIo = directIo ? 1 : 0;
                    config->KernelCache = kernelCache ? 1 : 0;
                    config->AutoCache = 0;
                }

                adapter.OnInit(connection->ProtoMajor, connection->ProtoMinor, connection->MaxWrite, connection->MaxRead, connection->MaxBackground);
            }
        }
        catch (Exception exception)
        {
            Failed(adapter, "init", exception);
        }

        return (void*)privateData;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Destroy(void* privateData)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = FromHandle((IntPtr)privateData);
            adapter?.OnDestroy();
        }
        catch (Exception exception)
        {
            Failed(adapter, "destroy", exception);
        }
    }
}
