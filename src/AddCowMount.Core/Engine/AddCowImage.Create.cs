using AddCowMount.Core.Format;
using AddCowMount.Core.Storage;

namespace AddCowMount.Core.Engine;

public sealed partial class AddCowImage
{
    /// <summary>
    /// Creates an add-cow file (and its image file, sparse, when missing). Never clobbers an existing
    /// add-cow file or a non-empty image file without <see cref="ImageCreateOptions.Force"/>. The add-cow
    /// file is written under a temporary name and renamed into place, so a failed create leaves every file
    /// as it was. Resulting bytes equal the seed's: header, zero bitmap, file length max(2560, 2068 + bitmap).
    /// </summary>
    public static void Create(string path, ImageCreateOptions? options = null)
    {
        options ??= new ImageCreateOptions();
        IStorageProvider storage = options.Storage;
        if (PathPolicy.IsReservedDeviceName(path))
        {
            throw new AddCowException(AddCowError.InvalidArgument, path,
                $"{path}: '{System.IO.Path.GetFileName(path)}' is a reserved device name on Windows (CON, NUL, COM1, ...); choose another file name");
        }

        string fullPath = System.IO.Path.GetFullPath(path);
        string imageName = PathPolicy.StoredName(options.ImageFile ?? System.IO.Path.ChangeExtension(System.IO.Path.GetFileName(fullPath), ".raw"));
        string? backingFile = options.BackingFile is null ? null : PathPolicy.StoredName(options.BackingFile);
        AddCowHeader.ValidateName(imageName, "image file");
        if (backingFile is not null)
        {
            AddCowHeader.ValidateName(backingFile, "backing file");
        }

        string imagePath = PathPolicy.Resolve(imageName, fullPath, options.AllowUnsafePaths, "image file");
        if (storage.IdentityOf(imagePath) == storage.IdentityOf(fullPath))
        {
            throw new AddCowException(AddCowError.InvalidArgument, fullPath,
                $"{fullPath}: the image file would be the add-cow file itself; name another with -i");
        }

        if (storage.Exists(fullPath))
        {
            if (!options.Force)
            {
                throw new AddCowException(AddCowError.AlreadyExists, fullPath, $"{fullPath}: file exists (pass --force to overwrite it)");
            }

            // Overwriting an image another process has open would pull it from under that process.
            OpenFile(storage, fullPath, writable: true, StorageLock.Exclusive, AddCowError.ImageFileNotFound, "add-cow file").Dispose();
        }

        long size;
        if (backingFile is { Length: > 0 } backingName)
        {
            string backingPath = PathPolicy.Resolve(backingName, fullPath, options.AllowUnsafePaths, "backing file");
            if (storage.IdentityOf(backingPath) == storage.IdentityOf(fullPath) || storage.IdentityOf(backingPath) == storage.IdentityOf(imagePath))
            {
                throw new AddCowException(AddCowError.ChainLoop, fullPath, $"{fullPath}: an image cannot be its own backing file");
            }

            // Opening the whole chain checks that it exists, is readable and does not loop.
            using ISectorDevice backing = OpenLayer(backingPath, new ImageOpenOptions { Storage = storage, AllowUnsafePaths = options.AllowUnsafePaths },
                [storage.IdentityOf(fullPath)], depth: 1, writable: false, requireAddCow: false);
            size = options.Size ?? backing.Length;
        }
        else
        {
            size = options.Size ?? throw new AddCowException(AddCowError.InvalidArgument, fullPath,
                "a size is needed when there is no backing file");
        }

        if (size < 0 || (ulong)size > AddCowHeader.MaxSize)
        {
            throw new AddCowException(AddCowError.SizeOverflow, fullPath, $"size {size} is out of range (0 to {AddCowHeader.MaxSize})");
        }

        var header = new AddCowHeader(backingFile ?? string.Empty, imageName, (ulong)(size / ISectorDevice.SectorSize * ISectorDevice.SectorSize));

        bool imageExisted = storage.Exists(imagePath);
        if (imageExisted)
        {
            using IStorageFile existing = OpenFile(storage, imagePath, writable: false, StorageLock.Shared, AddCowError.ImageFileNotFound, "image file");
            if (existing.Length != 0 && !options.Force)
            {
                throw new AddCowException(AddCowError.AlreadyExists, imagePath,
                    $"{imagePath}: image file exists and is not empty (pass --force to reuse it)");
            }
        }

        string tempPath = fullPath + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        bool imageCreated = false;
        try
        {
            using (IStorageFile addCow = storage.CreateNew(tempPath))
            {
                byte[] bytes = new byte[AddCowHeader.Length];
                header.WriteTo(bytes);
                addCow.Write(0, bytes);
                addCow.SetLength(Math.Max(2560, AddCowHeader.Length + header.BitmapLength));
                addCow.Flush();
            }

            using (IStorageFile image = imageExisted
                ? storage.Open(imagePath, writable: true, StorageLock.Exclusive)
                : storage.CreateNew(imagePath))
            {
                imageCreated = !imageExisted;
                image.SetLength(header.DiskLength);
                image.Flush();
            }

            storage.Move(tempPath, fullPath, overwrite: options.Force);
        }
        catch (IOException ex) when (ex is not AddCowException)
        {
            Cleanup();
            throw new AddCowException(AddCowError.IoError, fullPath, $"{fullPath}: create failed: {ex.Message}", ex);
        }
        catch
        {
            Cleanup();
            throw;
        }

        void Cleanup()
        {
            TryDelete(storage, tempPath);
            if (imageCreated)
            {
                TryDelete(storage, imagePath);
            }
        }
    }

    private static void TryDelete(IStorageProvider storage, string path)
    {
        try
        {
            if (storage.Exists(path))
            {
                storage.Delete(path);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
