using AddCowMount.Core.Format;
using AddCowMount.Core.Storage;
using Microsoft.Extensions.Logging;

namespace AddCowMount.Core.Engine;

public sealed partial class AddCowImage
{
    /// <summary>
    /// Opens an add-cow image and its whole backing chain, all or nothing: on any failure every file opened
    /// so far is closed and nothing has been written. A read-only open never asks for write access.
    /// </summary>
    public static AddCowImage Open(string path, ImageOpenOptions? options = null)
    {
        options ??= new ImageOpenOptions();
        if (options.Writable && options.ForceShare)
        {
            throw new AddCowException(AddCowError.InvalidArgument, path, "--force-share is only for read-only opens");
        }

        var visited = new List<string>();
        ISectorDevice device = OpenLayer(System.IO.Path.GetFullPath(path), options, visited, depth: 0, writable: options.Writable,
            requireAddCow: true);
        return (AddCowImage)device;
    }

    /// <summary>Reads just the header of a file, without opening its image or backing files.</summary>
    public static AddCowHeader ReadHeader(string path, IStorageProvider? storage = null, bool forceShare = true)
    {
        storage ??= FileStorage.Instance;
        using IStorageFile file = OpenFile(storage, path, writable: false, forceShare ? StorageLock.None : StorageLock.Shared, AddCowError.ImageFileNotFound, "add-cow file");
        return ReadHeaderFrom(file, path);
    }

    private static AddCowHeader ReadHeaderFrom(IStorageFile file, string path)
    {
        Span<byte> bytes = stackalloc byte[AddCowHeader.Length];
        int read = file.Read(0, bytes);
        return AddCowHeader.Parse(bytes[..read], path);
    }

    private static ISectorDevice OpenLayer(string path, ImageOpenOptions options, List<string> visited, int depth,
        bool writable, bool requireAddCow)
    {
        IStorageProvider storage = options.Storage;
        string identity = storage.IdentityOf(path);
        if (visited.Contains(identity))
        {
            throw new AddCowException(AddCowError.ChainLoop, path,
                $"backing chain loops: {string.Join(" -> ", visited)} -> {identity}");
        }

        if (depth >= options.MaxChainDepth)
        {
            throw new AddCowException(AddCowError.ChainTooDeep, path,
                $"{path}: backing chain is deeper than {options.MaxChainDepth} layers");
        }

        visited.Add(identity);
        StorageLock lockMode = writable ? StorageLock.Exclusive : options.ForceShare ? StorageLock.None : StorageLock.Shared;
        string what = depth == 0 ? "add-cow file" : "backing file";
        IStorageFile file = OpenFile(storage, path, writable, lockMode, depth == 0 ? AddCowError.ImageFileNotFound : AddCowError.BackingNotFound, what);
        IStorageFile? imageFile = null;
        ISectorDevice? backing = null;
        try
        {
            Span<byte> bytes = stackalloc byte[AddCowHeader.Length];
            int read = file.Read(0, bytes);
            bool isAddCow = AddCowHeader.HasMagic(bytes[..read]);
            if (!isAddCow)
            {
                if (requireAddCow)
                {
                    // Parse reports truncation, bad magic and what the file looks like instead.
                    AddCowHeader.Parse(bytes[..read], path);
                }

                string other = AddCowHeader.DescribeOtherFormat(bytes[..read]);
                if (other.Length > 0)
                {
                    throw new AddCowException(AddCowError.BackingUnsupported, path,
                        $"{path}: backing file is not raw or add-cow{other}");
                }

                return new RawImage(file);
            }

            AddCowHeader header = AddCowHeader.Parse(bytes[..read], path);
            long needed = checked(AddCowHeader.Length + header.BitmapLength);
            long actual = file.Length;
            if (actual < needed)
            {
                throw new AddCowException(AddCowError.TruncatedBitmap, path,
                    $"{path}: add-cow file is {actual} bytes, too short for the header and the {header.BitmapLength}-byte bitmap of a {header.Size}-byte disk ({needed} bytes needed)");
            }

            string imagePath = PathPolicy.Resolve(header.ImageFile, path, options.AllowUnsafePaths, "image file");
            if (storage.IdentityOf(imagePath) == identity)
            {
                throw new AddCowException(AddCowError.ChainLoop, path, $"{path}: image file is the add-cow file itself");
            }

            imageFile = OpenFile(storage, imagePath, writable, lockMode, AddCowError.ImageFileNotFound, "image file");
            if (imageFile.Length < header.DiskLength)
            {
                throw new AddCowException(AddCowError.ImageFileTooShort, imagePath,
                    $"{imagePath}: image file is {imageFile.Length} bytes, shorter than the {header.DiskLength}-byte disk of {path}");
            }

            string? backingPath = null;
            if (header.BackingFile.Length > 0)
            {
                backingPath = PathPolicy.Resolve(header.BackingFile, path, options.AllowUnsafePaths, "backing file");
                if (!options.NoBacking)
                {
                    backing = OpenLayer(backingPath, options, visited, depth + 1,
                        writable: depth == 0 && options.WritableBacking, requireAddCow: false);
                }
            }

            ILogger logger = options.LoggerFactory.CreateLogger<AddCowImage>();
            var image = new AddCowImage(path, header, file, imageFile, imagePath, backing, backingPath, writable, logger);
            LogOpened(logger, path, header.SectorCount, imagePath, backingPath ?? "(none)");
            return image;
        }
        catch
        {
            backing?.Dispose();
            imageFile?.Dispose();
            file.Dispose();
            throw;
        }
    }

    internal static IStorageFile OpenFile(IStorageProvider storage, string path, bool writable, StorageLock lockMode,
        AddCowError missing, string what)
    {
        try
        {
            return storage.Open(path, writable, lockMode);
        }
        catch (FileNotFoundException ex)
        {
            throw new AddCowException(missing, path, $"{path}: {what} not found", ex);
        }
        catch (DirectoryNotFoundException ex)
        {
            throw new AddCowException(missing, path, $"{path}: {what} not found", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new AddCowException(AddCowError.AccessDenied, path,
                $"{path}: permission denied opening the {what}{(writable ? " for writing" : string.Empty)}", ex);
        }
    }
}
