namespace AddCowMount.Core.Format;

/// <summary>What is wrong with an image or a request. Callers map the code, never the message text.</summary>
public enum AddCowError
{
    BadMagic,
    UnsupportedVersion,
    TruncatedHeader,
    TruncatedBitmap,
    SizeOverflow,
    NameNotTerminated,
    ImageFileNotNamed,
    ImageFileNotFound,
    ImageFileTooShort,
    BackingNotFound,
    BackingUnsupported,
    ChainLoop,
    ChainTooDeep,
    UnsafePath,
    NameTooLong,
    AlreadyExists,
    InUse,
    ReadOnly,
    OutOfRange,
    AccessDenied,
    InvalidArgument,
    IoError,
}

/// <summary>The one exception type for bad images and refused requests; names the file and the problem.</summary>
public sealed class AddCowException : IOException
{
    public AddCowException(AddCowError error, string? filePath, string message, Exception? inner = null)
        : base(message, inner)
    {
        Error = error;
        FilePath = filePath;
    }

    public AddCowError Error { get; }

    /// <summary>
    /// "SUBJECT: TEXT", the one way messages name what they are about; a subject that already ends in ':' (a drive
    /// letter such as X:) gets no second colon.
    /// </summary>
    public static string About(string subject, string text) =>
        subject.EndsWith(':') ? $"{subject} {text}" : $"{subject}: {text}";

    public string? FilePath { get; }
}
