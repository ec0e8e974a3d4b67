using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace AddCowMount.Mount.Fuse.Native;

/// <summary>
/// The native side of struct fuse_operations: one <see cref="UnmanagedCallersOnly"/> thunk per operation that
/// finds the mount's <see cref="FuseVolumeAdapter"/> (through fuse_context.private_data, a GCHandle the mount
/// keeps alive), converts pointers to spans and strings, and calls the adapter. Each thunk catches everything
/// and answers an errno (-EIO unless the exception says otherwise): nothing may unwind into libfuse.
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

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int GetAttr(byte* path, Stat* stat, FuseFileInfo* fileInfo)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = Current();
            if (adapter is null)
            {
                return -EIO;
            }

            int result = adapter.GetAttr(PathOf(path), out FuseAttributes attributes);
            if (result == 0)
            {
                WriteStat(stat, attributes);
            }

            return result;
        }
        catch (Exception exception)
        {
            return Failed(adapter, "getattr", exception);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int ReadDir(byte* path, void* buffer, IntPtr filler, long offset, FuseFileInfo* fileInfo, int flags)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = Current();
            if (adapter is null)
            {
                return -EIO;
            }

            string directory = PathOf(path);
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
        catch (Exception exception)
        {
            return Failed(adapter, "readdir", exception);
        }
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
    private static int Open(byte* path, FuseFileInfo* fileInfo)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = Current();
            if (adapter is null)
            {
                return -EIO;
            }

            int result = adapter.Open(PathOf(path), fileInfo->Flags, out ulong handle);
            fileInfo->FileHandle = handle;
            return result;
        }
        catch (Exception exception)
        {
            return Failed(adapter, "open", exception);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Create(byte* path, uint mode, FuseFileInfo* fileInfo)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = Current();
            if (adapter is null)
            {
                return -EIO;
            }

            int result = adapter.Create(PathOf(path), fileInfo->Flags, out ulong handle);
            fileInfo->FileHandle = handle;
            return result;
        }
        catch (Exception exception)
        {
            return Failed(adapter, "create", exception);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Read(byte* path, byte* buffer, nuint size, long offset, FuseFileInfo* fileInfo)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = Current();
            if (adapter is null || fileInfo == null || size > int.MaxValue)
            {
                return -EIO;
            }

            return adapter.Read(fileInfo->FileHandle, offset, new Span<byte>(buffer, (int)size));
        }
        catch (Exception exception)
        {
            return Failed(adapter, "read", exception);
        }
    }

    /// <summary>
    /// write_buf: without it, libfuse's high-level API copies every write request into a fresh buffer before calling
    /// write. A request held in one memory buffer (the usual case) is passed on in place; anything else (several
    /// buffers, or a pipe/fd buffer when splicing) is gathered with fuse_buf_copy into one pooled buffer first.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int WriteBuf(byte* path, FuseBufVec* source, long offset, FuseFileInfo* fileInfo)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = Current();
            if (adapter is null || fileInfo == null || source == null)
            {
                return -EIO;
            }

            FuseBuf* first = &source->Buf + source->Index;
            if (source->Count - source->Index == 1 && (first->Flags & FuseBuf.IsFd) == 0)
            {
                nuint length = first->Size - source->Offset;
                if (length > int.MaxValue)
                {
                    return -EIO;
                }

                return adapter.Write(fileInfo->FileHandle, offset, new ReadOnlySpan<byte>((byte*)first->Mem + source->Offset, (int)length));
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
                    if (copied < 0)
                    {
                        return (int)copied;
                    }

                    return adapter.Write(fileInfo->FileHandle, offset, new ReadOnlySpan<byte>(memory, (int)copied));
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
        catch (Exception exception)
        {
            return Failed(adapter, "write", exception);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Write(byte* path, byte* buffer, nuint size, long offset, FuseFileInfo* fileInfo)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = Current();
            if (adapter is null || fileInfo == null || size > int.MaxValue)
            {
                return -EIO;
            }

            return adapter.Write(fileInfo->FileHandle, offset, new ReadOnlySpan<byte>(buffer, (int)size));
        }
        catch (Exception exception)
        {
            return Failed(adapter, "write", exception);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Flush(byte* path, FuseFileInfo* fileInfo)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = Current();
            return adapter is null || fileInfo == null ? -EIO : adapter.Flush(fileInfo->FileHandle);
        }
        catch (Exception exception)
        {
            return Failed(adapter, "flush", exception);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Fsync(byte* path, int dataSync, FuseFileInfo* fileInfo)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = Current();
            return adapter is null ? -EIO : adapter.Fsync(fileInfo == null ? 0 : fileInfo->FileHandle);
        }
        catch (Exception exception)
        {
            return Failed(adapter, "fsync", exception);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Release(byte* path, FuseFileInfo* fileInfo)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = Current();
            return adapter is null || fileInfo == null ? -EIO : adapter.Release(fileInfo->FileHandle);
        }
        catch (Exception exception)
        {
            return Failed(adapter, "release", exception);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Truncate(byte* path, long length, FuseFileInfo* fileInfo)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = Current();
            return adapter is null ? -EIO : adapter.Truncate(PathOf(path), length);
        }
        catch (Exception exception)
        {
            return Failed(adapter, "truncate", exception);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Mknod(byte* path, uint mode, ulong device)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = Current();
            return adapter is null ? -EIO : adapter.MakeNode(PathOf(path));
        }
        catch (Exception exception)
        {
            return Failed(adapter, "mknod", exception);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Mkdir(byte* path, uint mode)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = Current();
            return adapter is null ? -EIO : adapter.MakeDirectory(PathOf(path));
        }
        catch (Exception exception)
        {
            return Failed(adapter, "mkdir", exception);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Unlink(byte* path)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = Current();
            return adapter is null ? -EIO : adapter.Unlink(PathOf(path));
        }
        catch (Exception exception)
        {
            return Failed(adapter, "unlink", exception);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Rmdir(byte* path)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = Current();
            return adapter is null ? -EIO : adapter.RemoveDirectory(PathOf(path));
        }
        catch (Exception exception)
        {
            return Failed(adapter, "rmdir", exception);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Rename(byte* fromPath, byte* toPath, uint flags)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = Current();
            return adapter is null ? -EIO : adapter.Rename(PathOf(fromPath), PathOf(toPath), flags);
        }
        catch (Exception exception)
        {
            return Failed(adapter, "rename", exception);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Chmod(byte* path, uint mode, FuseFileInfo* fileInfo)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = Current();
            return adapter is null ? -EIO : adapter.ChangeMode(PathOf(path), mode);
        }
        catch (Exception exception)
        {
            return Failed(adapter, "chmod", exception);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Chown(byte* path, uint uid, uint gid, FuseFileInfo* fileInfo)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = Current();
            return adapter is null ? -EIO : adapter.ChangeOwner(PathOf(path), uid, gid);
        }
        catch (Exception exception)
        {
            return Failed(adapter, "chown", exception);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Utimens(byte* path, Timespec* times, FuseFileInfo* fileInfo)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = Current();
            if (adapter is null)
            {
                return -EIO;
            }

            DateTime now = DateTime.UtcNow;
            DateTime? access = times == null ? now : TimeConversion.FromTimespec(times[0], now);
            DateTime? write = times == null ? now : TimeConversion.FromTimespec(times[1], now);
            return adapter.SetTimes(PathOf(path), access, write);
        }
        catch (Exception exception)
        {
            return Failed(adapter, "utimens", exception);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int StatFs(byte* path, StatVfs* target)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = Current();
            if (adapter is null)
            {
                return -EIO;
            }

            int result = adapter.StatFs(out FuseStatFs statFs);
            if (result == 0)
            {
                WriteStatFs(target, statFs);
            }

            return result;
        }
        catch (Exception exception)
        {
            return Failed(adapter, "statfs", exception);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Access(byte* path, int mask)
    {
        FuseVolumeAdapter? adapter = null;
        try
        {
            adapter = Current();
            return adapter is null ? -EIO : adapter.Access(PathOf(path), mask);
        }
        catch (Exception exception)
        {
            return Failed(adapter, "access", exception);
        }
    }

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
                if (config != null)
                {
                    (bool directIo, bool kernelCache) = FuseOptionBuilder.CacheFlags(adapter.Options.CacheMode);
                    config->DirectIo = directIo ? 1 : 0;
                    config->KernelCache = kernelCache ? 1 : 0;
                    config->AutoCache = 0;
                }

                adapter.OnInit(connection->ProtoMajor, connection->ProtoMinor, connection->MaxWrite, connection->MaxRead);
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
