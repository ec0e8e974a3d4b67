using AddCowMount.Core.Engine;
using AddCowMount.Core.Format;

namespace AddCowMount.Cli.Commands;

/// <summary>Opening images for inspection: a shared lock, and when a writer holds the image, an unlocked look with a note.</summary>
internal static class ImageOpening
{
    public static AddCowImage OpenForInspection(string path, bool forceShare, bool allowUnsafe, CliContext context, ImageOpenOptions? template = null)
    {
        ImageOpenOptions options = (template ?? new ImageOpenOptions()) with
        {
            ForceShare = forceShare,
            AllowUnsafePaths = allowUnsafe,
            LoggerFactory = context.LoggerFactory,
        };
        try
        {
            return AddCowImage.Open(path, options);
        }
        catch (AddCowException ex) when (ex.Error == AddCowError.InUse && !forceShare)
        {
            context.Error.WriteLine($"addcow: note: {ex.Message}; showing its state as last flushed");
            return AddCowImage.Open(path, options with { ForceShare = true });
        }
    }

    public static AddCowImage OpenForWriting(string path, bool allowUnsafe, CliContext context, bool writableBacking = false, bool noBacking = false) =>
        AddCowImage.Open(path, new ImageOpenOptions
        {
            Writable = true,
            WritableBacking = writableBacking,
            NoBacking = noBacking,
            AllowUnsafePaths = allowUnsafe,
            LoggerFactory = context.LoggerFactory,
        });
}
