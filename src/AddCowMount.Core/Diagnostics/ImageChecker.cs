using AddCowMount.Core.Engine;
using AddCowMount.Core.Format;
using AddCowMount.Core.Storage;

namespace AddCowMount.Core.Diagnostics;

public enum FindingSeverity
{
    Info,
    Warning,
    Error,
}

/// <summary>One problem or remark found by <see cref="ImageChecker"/>.</summary>
public sealed record Finding(FindingSeverity Severity, string File, string Message);

/// <summary>
/// Checks an add-cow image and its chain without changing anything: header, file sizes, bitmap length and
/// padding, image file, backing chain and cycles. Collects findings instead of stopping at the first.
/// </summary>
public static class ImageChecker
{
    public static List<Finding> Check(string path, bool allowUnsafePaths = false, int maxDepth = 16, IStorageProvider? storage = null)
    {
        storage ??= FileStorage.Instance;
        var findings = new List<Finding>();
        var visited = new List<string>();
        CheckLayer(Path.GetFullPath(path), storage, allowUnsafePaths, maxDepth, visited, findings, top: true);
        return findings;
    }

    private static void CheckLayer(string path, IStorageProvider storage, bool allowUnsafe, int maxDepth, List<string> visited,
        List<Finding> findings, bool top)
    {
        string identity = storage.IdentityOf(path);
        if (visited.Contains(identity))
        {
            findings.Add(new Finding(FindingSeverity.Error, path, $"backing chain loops: {string.Join(" -> ", visited)} -> {identity}"));
            return;
        }

        if (visited.Count >= maxDepth)
        {
            findings.Add(new Finding(FindingSeverity.Error, path, $"backing chain is deeper than {maxDepth} layers"));
            return;
        }

        visited.Add(identity);
        IStorageFile file;
        try
        {
            file = storage.Open(path, writable: false, StorageLock.None);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            findings.Add(new Finding(FindingSeverity.Error, path, top ? $"cannot open: {ex.Message}" : $"backing file cannot be opened: {ex.Message}"));
            return;
        }

        using (file)
        {
            byte[] bytes = new byte[AddCowHeader.Length];
            int read = file.Read(0, bytes);
            if (!top && !AddCowHeader.HasMagic(bytes.AsSpan(0, read)))
            {
                findings.Add(new Finding(FindingSeverity.Info, path, $"raw backing file, {file.Length} bytes"));
                return;
            }

            AddCowHeader header;
            try
            {
                header = AddCowHeader.Parse(bytes.AsSpan(0, read), path);
            }
            catch (AddCowException ex)
            {
                findings.Add(new Finding(FindingSeverity.Error, path, ex.Message));
                return;
            }

            long needed = AddCowHeader.Length + header.BitmapLength;
            long length = file.Length;
            if (length < needed)
            {
                findings.Add(new Finding(FindingSeverity.Error, path,
                    $"bitmap truncated: file is {length} bytes, header and bitmap need {needed}"));
            }
            else
            {
                if (length > Math.Max(needed, 2560) && length != AllocationBitmap.RoundUp(needed, 512))
                {
                    findings.Add(new Finding(FindingSeverity.Warning, path, $"file is {length} bytes, longer than the {needed} bytes of header and bitmap"));
                }

                CheckPadding(file, header, path, findings);
            }

            if (header.Size % AddCowHeader.SectorSize != 0)
            {
                findings.Add(new Finding(FindingSeverity.Warning, path,
                    $"virtual size {header.Size} is not a multiple of 512; the last {header.Size % 512} bytes are unreachable"));
            }

            try
            {
                string imagePath = PathPolicy.Resolve(header.ImageFile, path, allowUnsafe, "image file");
                if (!storage.Exists(imagePath))
                {
                    findings.Add(new Finding(FindingSeverity.Error, imagePath, "image file not found"));
                }
                else
                {
                    using IStorageFile image = storage.Open(imagePath, writable: false, StorageLock.None);
                    if (image.Length < header.DiskLength)
                    {
                        findings.Add(new Finding(FindingSeverity.Error, imagePath,
                            $"image file is {image.Length} bytes, shorter than the {header.DiskLength}-byte disk"));
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                findings.Add(new Finding(FindingSeverity.Error, path, ex.Message));
            }

            if (header.BackingFile.Length == 0)
            {
                return;
            }

            string backingPath;
            try
            {
                backingPath = PathPolicy.Resolve(header.BackingFile, path, allowUnsafe, "backing file");
            }
            catch (AddCowException ex)
            {
                findings.Add(new Finding(FindingSeverity.Error, path, ex.Message));
                return;
            }

            if (!storage.Exists(backingPath))
            {
                findings.Add(new Finding(FindingSeverity.Error, backingPath, $"backing file not found (named '{header.BackingFile}' in {path})"));
                return;
            }

            CheckLayer(backingPath, storage, allowUnsafe, maxDepth, visited, findings, top: false);
        }
    }

    private static void CheckPadding(IStorageFile file, AddCowHeader header, string path, List<Finding> findings)
    {
        int used = (int)(header.SectorCount % 8);
        if (used == 0 || header.BitmapLength == 0)
        {
            return;
        }

        Span<byte> last = stackalloc byte[1];
        file.Read(AddCowHeader.Length + header.BitmapLength - 1, last);
        if ((last[0] & ~((1 << used) - 1)) != 0)
        {
            findings.Add(new Finding(FindingSeverity.Warning, path, "bitmap has bits set past the last sector (ignored)"));
        }
    }
}
