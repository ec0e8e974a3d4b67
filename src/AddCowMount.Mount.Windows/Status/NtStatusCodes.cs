namespace AddCowMount.Mount.Windows.Status;

/// <summary>
/// The NTSTATUS values the Windows mount returns, with their numbers from ntstatus.h.
/// DokanNet's <c>NtStatus</c> enum carries the same numbers; the adapter casts.
/// </summary>
public static class NtStatusCodes
{
    public const uint Success = 0x00000000;
    public const uint BufferOverflow = 0x80000005;
    public const uint NotImplemented = 0xC0000002;
    public const uint InvalidHandle = 0xC0000008;
    public const uint InvalidParameter = 0xC000000D;
    public const uint InvalidDeviceRequest = 0xC0000010;
    public const uint EndOfFile = 0xC0000011;
    public const uint AccessDenied = 0xC0000022;
    public const uint ObjectNameNotFound = 0xC0000034;
    public const uint ObjectNameCollision = 0xC0000035;
    public const uint ObjectPathNotFound = 0xC000003A;
    public const uint DiskFull = 0xC000007F;
    public const uint InsufficientResources = 0xC000009A;
    public const uint MediaWriteProtected = 0xC00000A2;
    public const uint FileIsADirectory = 0xC00000BA;
    public const uint NotSupported = 0xC00000BB;
    public const uint InternalError = 0xC00000E5;
    public const uint DirectoryNotEmpty = 0xC0000101;
    public const uint NotADirectory = 0xC0000103;
    public const uint Cancelled = 0xC0000120;
    public const uint IoDeviceError = 0xC0000185;

    /// <summary>NT_SUCCESS: severity bits 00 (success) or 01 (informational).</summary>
    public static bool IsSuccess(uint status) => status < 0x80000000;
}
