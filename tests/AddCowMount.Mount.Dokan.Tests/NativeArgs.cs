using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using DokanNet;
using LTRData.Extensions.Native.Memory;

namespace AddCowMount.Mount.Dokan.Tests;

/// <summary>
/// Builds the native-memory arguments and the <see cref="DokanFileInfo"/> struct Dokan passes. IDokanOperations2
/// takes <c>ref DokanFileInfo</c> (a struct, not IDokanFileInfo), so tests use real structs, not mocks; its
/// read-only flags (PagingIo, WriteToEndOfFile) are set at their native offsets as the driver would.
/// </summary>
internal sealed class NativeArgs : IDisposable
{
    private readonly List<GCHandle> _pins = [];

    public ReadOnlyNativeMemory<char> Path(string dokanPath)
    {
        var chars = dokanPath.ToCharArray();
        var pin = GCHandle.Alloc(chars, GCHandleType.Pinned);
        _pins.Add(pin);
        return new ReadOnlyNativeMemory<char>(pin.AddrOfPinnedObject(), chars.Length);
    }

    public NativeMemory<byte> Buffer(byte[] bytes)
    {
        var pin = GCHandle.Alloc(bytes, GCHandleType.Pinned);
        _pins.Add(pin);
        return new NativeMemory<byte>(pin.AddrOfPinnedObject(), bytes.Length);
    }

    public NativeMemory<char> Chars(int length) => new(Buffer(new byte[length * 2]).Address, length);

    public static DokanFileInfo Info(bool isDirectory = false, bool pagingIo = false, bool writeToEndOfFile = false, bool deletePending = false)
    {
        var info = new DokanFileInfo { IsDirectory = isDirectory, DeletePending = deletePending };
        if (pagingIo)
        {
            SetFlag(ref info, "pagingIo");
        }

        if (writeToEndOfFile)
        {
            SetFlag(ref info, "writeToEndOfFile");
        }

        return info;
    }

    public void Dispose()
    {
        foreach (var pin in _pins)
        {
            pin.Free();
        }
    }

    private static void SetFlag(ref DokanFileInfo info, string field)
    {
        var offset = Marshal.OffsetOf<DokanFileInfo>(field);
        Unsafe.AddByteOffset(ref Unsafe.As<DokanFileInfo, byte>(ref info), offset) = 1;
    }
}
