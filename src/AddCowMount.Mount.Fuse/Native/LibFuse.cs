using System.Runtime.InteropServices;

namespace AddCowMount.Mount.Fuse.Native;

/// <summary>The libfuse3 (3.12+ ABI, checked on 3.14) entry points this layer uses, by their versioned names.</summary>
internal static unsafe partial class LibFuse
{
    internal const string Library = "libfuse3.so.3";

    [LibraryImport(Library, EntryPoint = "fuse_buf_size")]
    internal static partial nuint BufSize(FuseBufVec* bufferVector);

    [LibraryImport(Library, EntryPoint = "fuse_buf_copy")]
    internal static partial long BufCopy(FuseBufVec* destination, FuseBufVec* source, int flags);

    [LibraryImport(Library, EntryPoint = "fuse_version")]
    internal static partial int Version();

    [LibraryImport(Library, EntryPoint = "fuse_opt_add_arg", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int OptAddArg(FuseArgs* args, string arg);

    [LibraryImport(Library, EntryPoint = "fuse_opt_free_args")]
    internal static partial void OptFreeArgs(FuseArgs* args);

    [LibraryImport(Library, EntryPoint = "fuse_new_31")]
    internal static partial IntPtr New(FuseArgs* args, IntPtr operations, nuint operationsSize, IntPtr userData);

    [LibraryImport(Library, EntryPoint = "fuse_mount", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Mount(IntPtr fuse, string mountPoint);

    [LibraryImport(Library, EntryPoint = "fuse_unmount")]
    internal static partial void Unmount(IntPtr fuse);

    [LibraryImport(Library, EntryPoint = "fuse_destroy")]
    internal static partial void Destroy(IntPtr fuse);

    [LibraryImport(Library, EntryPoint = "fuse_get_context")]
    internal static partial FuseContext* GetContext();

    /// <summary>True when libfuse3 can be loaded; <paramref name="version"/> is then e.g. 314.</summary>
    internal static bool TryGetVersion(out int version)
    {
        try
        {
            version = Version();
            return true;
        }
        catch (DllNotFoundException)
        {
        }
        catch (EntryPointNotFoundException)
        {
        }

        version = 0;
        return false;
    }
}

/// <summary>The few libc calls the mount needs.</summary>
internal static partial class LibC
{
    private const string Library = "libc";

    internal const int MntDetach = 2;
    internal const int EBUSY = 16;
    internal const int EINVAL = 22;
    internal const int ENOENT = 2;

    [LibraryImport(Library, EntryPoint = "getuid")]
    internal static partial uint GetUid();

    [LibraryImport(Library, EntryPoint = "getgid")]
    internal static partial uint GetGid();

    [LibraryImport(Library, EntryPoint = "geteuid")]
    internal static partial uint GetEffectiveUid();

    [LibraryImport(Library, EntryPoint = "umount2", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int Umount2(string target, int flags);
}
