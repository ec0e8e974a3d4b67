using System.Security.AccessControl;
using AddCowMount.Mount.Windows;
using AddCowMount.Mount.Windows.Operations;
using AddCowMount.Mount.Windows.Security;
using AddCowMount.Mount.Windows.Status;
using DokanNet;
using LTRData.Extensions.Native.Memory;
using FileAccess = DokanNet.FileAccess;

namespace AddCowMount.Mount.Dokan;

/// <summary>
/// DokanNet's span-based callbacks (<see cref="IDokanOperations2"/>: native buffers, no copies) over
/// <see cref="WindowsFileSystem"/>. Each callback converts arguments, makes one call, converts the result,
/// and has exactly one catch that maps through <see cref="WindowsFileSystem.HandleException"/>: nothing
/// is thrown back into native code.
/// </summary>
public sealed class DokanOperations : IDokanOperations2
{
    private readonly WindowsFileSystem _fileSystem;
    private readonly TimeSpan _keepAliveInterval;
    private readonly int _keepAliveMilliseconds;

    public DokanOperations(WindowsFileSystem fileSystem, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(fileSystem);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        _fileSystem = fileSystem;
        _keepAliveInterval = timeout / 2;
        _keepAliveMilliseconds = (int)Math.Min(int.MaxValue, timeout.TotalMilliseconds);
    }

    /// <summary>Dokan resets its timeout this often while we fill a directory listing.</summary>
    public int DirectoryListingTimeoutResetIntervalMs => (int)Math.Min(int.MaxValue, _keepAliveInterval.TotalMilliseconds);

    public NtStatus CreateFile(ReadOnlyNativeMemory<char> fileNamePtr, FileAccess access, FileShare share, FileMode mode, FileOptions options, FileAttributes attributes, ref DokanFileInfo info)
    {
        var path = string.Empty;
        try
        {
            path = DokanPath.ToVolumePath(fileNamePtr.Span);
            var status = _fileSystem.CreateFile(path, (uint)access, mode, info.IsDirectory, out var context, out var isDirectory);
            if (context is not null)
            {
                info.IsDirectory = isDirectory;
                info.Context = context;
            }

            return ToNt(status);
        }
        catch (Exception ex)
        {
            return Fail(nameof(CreateFile), path, ex);
        }
    }

    public void Cleanup(ReadOnlyNativeMemory<char> fileNamePtr, ref DokanFileInfo info)
    {
        try
        {
            _fileSystem.Cleanup(DokanPath.ToVolumePath(fileNamePtr.Span), info.Context as DokanFileContext, info.DeletePending);
        }
        catch (Exception ex)
        {
            Fail(nameof(Cleanup), fileNamePtr.ToString(), ex);
        }
    }

    public void CloseFile(ReadOnlyNativeMemory<char> fileNamePtr, ref DokanFileInfo info)
    {
        try
        {
            WindowsFileSystem.CloseFile(info.Context as DokanFileContext);
            info.Context = null;
        }
        catch (Exception ex)
        {
            Fail(nameof(CloseFile), fileNamePtr.ToString(), ex);
        }
    }

    public NtStatus ReadFile(ReadOnlyNativeMemory<char> fileNamePtr, NativeMemory<byte> buffer, out int bytesRead, long offset, ref DokanFileInfo info)
    {
        bytesRead = 0;
        try
        {
            return ToNt(_fileSystem.ReadFile(DokanPath.ToVolumePath(fileNamePtr.Span), info.Context as DokanFileContext, offset, buffer.Span, out bytesRead));
        }
        catch (Exception ex)
        {
            return Fail(nameof(ReadFile), fileNamePtr.ToString(), ex);
        }
    }

    public NtStatus WriteFile(ReadOnlyNativeMemory<char> fileNamePtr, ReadOnlyNativeMemory<byte> buffer, out int bytesWritten, long offset, ref DokanFileInfo info)
    {
        bytesWritten = 0;
        try
        {
            return ToNt(_fileSystem.WriteFile(
                DokanPath.ToVolumePath(fileNamePtr.Span),
                info.Context as DokanFileContext,
                offset,
                buffer.Span,
                info.PagingIo,
                info.WriteToEndOfFile,
                out bytesWritten));
        }
        catch (Exception ex)
        {
            return Fail(nameof(WriteFile), fileNamePtr.ToString(), ex);
        }
    }

    public NtStatus FlushFileBuffers(ReadOnlyNativeMemory<char> fileNamePtr, ref DokanFileInfo info)
    {
        try
        {
            // The keep-alive runs while this callback waits, so a copy of the request's info is valid for it.
            var request = info;
            var milliseconds = _keepAliveMilliseconds;
            return ToNt(_fileSystem.FlushFileBuffers(info.Context as DokanFileContext, () => request.TryResetTimeout(milliseconds), _keepAliveInterval));
        }
        catch (Exception ex)
        {
            return Fail(nameof(FlushFileBuffers), fileNamePtr.ToString(), ex);
        }
    }

    public NtStatus GetFileInformation(ReadOnlyNativeMemory<char> fileNamePtr, out ByHandleFileInformation fileInfo, ref DokanFileInfo info)
    {
        fileInfo = new ByHandleFileInformation();
        try
        {
            var status = _fileSystem.GetFileInformation(DokanPath.ToVolumePath(fileNamePtr.Span), out var entry);
            if (NtStatusCodes.IsSuccess(status))
            {
                fileInfo = new ByHandleFileInformation
                {
                    Attributes = entry.Attributes,
                    CreationTime = entry.CreationTimeUtc,
                    LastAccessTime = entry.LastAccessTimeUtc,
                    LastWriteTime = entry.LastWriteTimeUtc,
                    Length = entry.Length,
                };
            }

            return ToNt(status);
        }
        catch (Exception ex)
        {
            return Fail(nameof(GetFileInformation), fileNamePtr.ToString(), ex);
        }
    }

    public NtStatus FindFiles(ReadOnlyNativeMemory<char> fileNamePtr, out IEnumerable<FindFileInformation> files, ref DokanFileInfo info)
    {
        files = [];
        try
        {
            var status = _fileSystem.FindFiles(DokanPath.ToVolumePath(fileNamePtr.Span), out var entries);
            if (NtStatusCodes.IsSuccess(status))
            {
                files = entries.Select(static e => new FindFileInformation
                {
                    FileName = e.Name.AsMemory(),
                    Attributes = e.Attributes,
                    CreationTime = e.CreationTimeUtc,
                    LastAccessTime = e.LastAccessTimeUtc,
                    LastWriteTime = e.LastWriteTimeUtc,
                    Length = e.Length,
                }).ToArray();
            }

            return ToNt(status);
        }
        catch (Exception ex)
        {
            return Fail(nameof(FindFiles), fileNamePtr.ToString(), ex);
        }
    }

    /// <summary>Not implemented on purpose: Dokan then calls <see cref="FindFiles"/> and applies Windows' own wildcard rules.</summary>
    public NtStatus FindFilesWithPattern(ReadOnlyNativeMemory<char> fileNamePtr, ReadOnlyNativeMemory<char> searchPatternPtr, out IEnumerable<FindFileInformation> files, ref DokanFileInfo info)
    {
        files = [];
        return DokanResult.NotImplemented;
    }

    public NtStatus SetFileAttributes(ReadOnlyNativeMemory<char> fileNamePtr, FileAttributes attributes, ref DokanFileInfo info)
    {
        try
        {
            return ToNt(_fileSystem.SetFileAttributes(DokanPath.ToVolumePath(fileNamePtr.Span)));
        }
        catch (Exception ex)
        {
            return Fail(nameof(SetFileAttributes), fileNamePtr.ToString(), ex);
        }
    }

    public NtStatus SetFileTime(ReadOnlyNativeMemory<char> fileNamePtr, DateTime? creationTime, DateTime? lastAccessTime, DateTime? lastWriteTime, ref DokanFileInfo info)
    {
        try
        {
            return ToNt(_fileSystem.SetFileTime(DokanPath.ToVolumePath(fileNamePtr.Span), creationTime?.ToUniversalTime(), lastAccessTime?.ToUniversalTime(), lastWriteTime?.ToUniversalTime()));
        }
        catch (Exception ex)
        {
            return Fail(nameof(SetFileTime), fileNamePtr.ToString(), ex);
        }
    }

    public NtStatus DeleteFile(ReadOnlyNativeMemory<char> fileNamePtr, ref DokanFileInfo info)
    {
        try
        {
            return ToNt(_fileSystem.DeleteFile(DokanPath.ToVolumePath(fileNamePtr.Span)));
        }
        catch (Exception ex)
        {
            return Fail(nameof(DeleteFile), fileNamePtr.ToString(), ex);
        }
    }

    public NtStatus DeleteDirectory(ReadOnlyNativeMemory<char> fileNamePtr, ref DokanFileInfo info)
    {
        try
        {
            return ToNt(_fileSystem.DeleteDirectory(DokanPath.ToVolumePath(fileNamePtr.Span)));
        }
        catch (Exception ex)
        {
            return Fail(nameof(DeleteDirectory), fileNamePtr.ToString(), ex);
        }
    }

    public NtStatus MoveFile(ReadOnlyNativeMemory<char> oldNamePtr, ReadOnlyNativeMemory<char> newNamePtr, bool replace, ref DokanFileInfo info)
    {
        try
        {
            return ToNt(_fileSystem.MoveFile(DokanPath.ToVolumePath(oldNamePtr.Span), DokanPath.ToVolumePath(newNamePtr.Span), replace));
        }
        catch (Exception ex)
        {
            return Fail(nameof(MoveFile), oldNamePtr.ToString(), ex);
        }
    }

    public NtStatus SetEndOfFile(ReadOnlyNativeMemory<char> fileNamePtr, long length, ref DokanFileInfo info)
    {
        try
        {
            return ToNt(_fileSystem.SetEndOfFile(DokanPath.ToVolumePath(fileNamePtr.Span), length));
        }
        catch (Exception ex)
        {
            return Fail(nameof(SetEndOfFile), fileNamePtr.ToString(), ex);
        }
    }

    public NtStatus SetAllocationSize(ReadOnlyNativeMemory<char> fileNamePtr, long length, ref DokanFileInfo info)
    {
        try
        {
            return ToNt(_fileSystem.SetAllocationSize(DokanPath.ToVolumePath(fileNamePtr.Span), length));
        }
        catch (Exception ex)
        {
            return Fail(nameof(SetAllocationSize), fileNamePtr.ToString(), ex);
        }
    }

    /// <summary>Byte-range locks are kept by the Dokan driver (UserModeLock is not set); never called then.</summary>
    public NtStatus LockFile(ReadOnlyNativeMemory<char> fileNamePtr, long offset, long length, ref DokanFileInfo info) => DokanResult.Success;

    public NtStatus UnlockFile(ReadOnlyNativeMemory<char> fileNamePtr, long offset, long length, ref DokanFileInfo info) => DokanResult.Success;

    public NtStatus GetDiskFreeSpace(out long freeBytesAvailable, out long totalNumberOfBytes, out long totalNumberOfFreeBytes, ref DokanFileInfo info)
    {
        freeBytesAvailable = totalNumberOfBytes = totalNumberOfFreeBytes = 0;
        try
        {
            return ToNt(_fileSystem.GetDiskFreeSpace(out freeBytesAvailable, out totalNumberOfBytes, out totalNumberOfFreeBytes));
        }
        catch (Exception ex)
        {
            return Fail(nameof(GetDiskFreeSpace), null, ex);
        }
    }

    public NtStatus GetVolumeInformation(NativeMemory<char> volumeLabel, out FileSystemFeatures features, NativeMemory<char> fileSystemName, out uint maximumComponentLength, ref uint volumeSerialNumber, ref DokanFileInfo info)
    {
        features = FileSystemFeatures.None;
        maximumComponentLength = 0;
        try
        {
            var description = _fileSystem.GetVolumeInformation();
            volumeLabel.SetString(description.Label);
            fileSystemName.SetString(description.FileSystemName);
            features = (FileSystemFeatures)description.Features;
            maximumComponentLength = description.MaximumComponentLength;
            volumeSerialNumber = description.SerialNumber;
            return DokanResult.Success;
        }
        catch (Exception ex)
        {
            return Fail(nameof(GetVolumeInformation), null, ex);
        }
    }

    public NtStatus GetFileSecurity(ReadOnlyNativeMemory<char> fileNamePtr, out FileSystemSecurity? security, AccessControlSections sections, ref DokanFileInfo info)
    {
        security = null;
        try
        {
            var status = _fileSystem.GetFileSecurity(DokanPath.ToVolumePath(fileNamePtr.Span), ToSecurityInformation(sections), out var descriptor);
            if (NtStatusCodes.IsSuccess(status) && descriptor is not null)
            {
                FileSystemSecurity result = info.IsDirectory ? new DirectorySecurity() : new FileSecurity();
                result.SetSecurityDescriptorBinaryForm(descriptor);
                security = result;
            }

            return ToNt(status);
        }
        catch (Exception ex)
        {
            return Fail(nameof(GetFileSecurity), fileNamePtr.ToString(), ex);
        }
    }

    public NtStatus SetFileSecurity(ReadOnlyNativeMemory<char> fileNamePtr, FileSystemSecurity security, AccessControlSections sections, ref DokanFileInfo info)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(security);
            return ToNt(_fileSystem.SetFileSecurity(DokanPath.ToVolumePath(fileNamePtr.Span), security.GetSecurityDescriptorBinaryForm(), ToSecurityInformation(sections)));
        }
        catch (Exception ex)
        {
            return Fail(nameof(SetFileSecurity), fileNamePtr.ToString(), ex);
        }
    }

    public NtStatus Mounted(ReadOnlyNativeMemory<char> mountPoint, ref DokanFileInfo info) => DokanResult.Success;

    public NtStatus Unmounted(ref DokanFileInfo info) => DokanResult.Success;

    /// <summary>No alternate data streams.</summary>
    public NtStatus FindStreams(ReadOnlyNativeMemory<char> fileNamePtr, out IEnumerable<FindFileInformation> streams, ref DokanFileInfo info)
    {
        streams = [];
        return DokanResult.NotImplemented;
    }

    /// <summary>DokanNet's sections to Windows SECURITY_INFORMATION bits.</summary>
    internal static SecurityInformation ToSecurityInformation(AccessControlSections sections)
    {
        var result = SecurityInformation.None;
        if (sections.HasFlag(AccessControlSections.Owner))
        {
            result |= SecurityInformation.Owner;
        }

        if (sections.HasFlag(AccessControlSections.Group))
        {
            result |= SecurityInformation.Group;
        }

        if (sections.HasFlag(AccessControlSections.Access))
        {
            result |= SecurityInformation.Dacl;
        }

        if (sections.HasFlag(AccessControlSections.Audit))
        {
            result |= SecurityInformation.Sacl;
        }

        return result;
    }

    internal static NtStatus ToNt(uint status) => (NtStatus)(long)status;

    private NtStatus Fail(string operation, string? path, Exception exception) => ToNt(_fileSystem.HandleException(operation, path, exception));
}
